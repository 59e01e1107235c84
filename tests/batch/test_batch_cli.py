"""The ``batch`` and ``batch-report`` commands as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from _batch_helpers import write_tasks

from responses_fast.batch import BatchSummary, sample_tasks
from responses_fast.cli.main import build_parser
from responses_fast.server import ServerThread

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"OPENAI_API_KEY", "OPENAI_BASE_URL"}}
    env["COLUMNS"] = "120"
    return subprocess.run(
        [sys.executable, "-m", "responses_fast.cli", *args],
        capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _options(command: str) -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    parser = sub.choices[command]  # type: ignore[index]
    return [o for a in parser._actions for o in a.option_strings if o.startswith("--") and a.help]


@pytest.mark.parametrize("command", ["batch", "batch-report"])
def test_help_and_docs_cover_every_option(command: str) -> None:
    proc = cli(command, "--help")
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    doc = (ROOT / "docs" / "cli.md").read_text()
    assert f"## `responses-fast {command}`" in doc
    for opt in _options(command):
        assert opt in text, opt
        assert f"`{opt}" in doc, f"docs/cli.md does not document {command} {opt}"


def test_batch_json_on_a_task_file(tmp_path: Path, sample_server: ServerThread) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", sample_tasks()[:2])
    db = tmp_path / "r.db"
    args = ("batch", str(tasks), "--out", str(db), "-j", "1", "--base-url", sample_server.base_url)
    proc = cli(*args, "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert Counter(line["type"] for line in lines) == {"started": 2, "finished": 2, "summary": 1}
    assert lines[-1]["counts"] == {"passed": 2} and lines[-1]["tasks_per_minute"] > 0
    again = cli(*args)  # resumed: nothing to run, the table says so
    assert again.returncode == 0, again.stderr
    assert "2 tasks already finished, skipped" in again.stdout and "100.0%" in again.stdout


def test_report_of_the_sample_run(
    local_sample_run: tuple[BatchSummary, Path, Counter[str]], tmp_path: Path
) -> None:
    _, db, _ = local_sample_run
    chart = tmp_path / "chart.png"
    report = cli("batch-report", str(db), "--json", "--chart", str(chart))
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert data["pass_rate"] == 1.0 and data["tasks"] == 20
    assert data["turns"]["p50"] == 5 and data["tool_calls"]["total"] == 80
    assert data["tokens"]["total"] > 0 and data["wall_s"]["max"] >= data["wall_s"]["p50"] > 0
    assert data["chart"] == str(chart) and chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = cli("batch-report", str(db), "--no-chart")
    assert text.returncode == 0 and "pass rate 100.0%" in text.stdout


@pytest.mark.slow  # the whole sample through the CLI, as the README says to run it: ~10-25 s
def test_the_sample_command(tmp_path: Path) -> None:
    proc = cli("batch", "--sample", "-j", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "passed / failed / error" in proc.stdout and "20 / 0 / 0" in proc.stdout


def test_batch_bad_arguments(tmp_path: Path) -> None:
    proc = cli("batch")
    assert proc.returncode == 2 and "--sample" in proc.stderr
    missing = cli("batch-report", str(tmp_path / "nope.db"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert "Traceback" not in proc.stderr + missing.stderr


def test_summary_is_json_ready() -> None:
    s = BatchSummary("x.db", "local", total=2, runnable=2, finished=2, wall_s=30.0, driver_s=0.004)
    d = s.to_dict()
    assert d["tasks_per_minute"] == 4.0 and d["driver_ms_per_task"] == 2.0
