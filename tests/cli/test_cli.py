"""The ``responses-fast`` command, run as a user runs it: a subprocess per invocation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from responses_fast.cli.main import build_parser, main
from responses_fast.demo import copy_sample_repo, demo_script, run_tests
from responses_fast.server import ServerThread, serve_in_thread

COMMANDS = ["demo", "run", "serve", "bench"]


def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"OPENAI_API_KEY", "CEREBRAS_API_KEY", "OPENAI_BASE_URL", "CEREBRAS_BASE_URL"}
    }
    env["COLUMNS"] = "120"
    return env


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "responses_fast.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
        stdin=subprocess.DEVNULL,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("responses-fast: ")
    for needle in needles:
        assert needle in lines[0]


# ----------------------------------------------------------------------------- --help


def _options(command: str | None) -> list[str]:
    parser = build_parser()
    if command is not None:
        sub = next(a for a in parser._actions if a.dest == "command")
        parser = sub.choices[command]  # type: ignore[index]
    return [
        opt
        for action in parser._actions
        for opt in action.option_strings
        if opt.startswith("--") and action.help
    ]


def test_top_level_help_lists_every_command() -> None:
    proc = cli("--help")
    assert proc.returncode == 0
    for name in COMMANDS:
        assert name in proc.stdout
    assert "exit codes" in proc.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_each_command_explains_every_option(command: str) -> None:
    proc = cli(command, "--help")
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    for opt in _options(command):
        assert opt in text, f"{command} --help does not list {opt}"
    assert "Traceback" not in proc.stderr


def test_docs_cli_md_mentions_every_option() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    for command in COMMANDS:
        assert f"responses-fast {command}" in doc
        for opt in _options(command):
            assert f"`{opt}" in doc, f"docs/cli.md does not document {command} {opt}"


# ----------------------------------------------------------------------------- demo


def test_demo_fixes_the_bug_against_the_local_server(tmp_path: Path) -> None:
    proc = cli("demo", "--speed", "0", "--ttft", "0", "--keep")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    out = proc.stdout
    assert "embedded local server" in out
    assert "apply_patch" in out and "allow" in out
    assert "+    start = (page - 1) * per_page" in out
    assert "PASSED" in out
    kept = Path(out.split("workspace kept at ")[1].split()[0])
    try:
        assert run_tests(kept).passed  # the fixed copy really passes, checked independently
    finally:
        import shutil

        shutil.rmtree(kept.parent, ignore_errors=True)


def test_the_bundled_sample_repository_really_fails(tmp_path: Path) -> None:
    ws = copy_sample_repo(tmp_path / "repo")
    outcome = run_tests(ws)
    assert not outcome.passed
    assert "FAILED" in outcome.summary


def test_demo_with_a_model_the_server_rejects() -> None:
    proc = cli("demo", "--speed", "0", "--model", "no-such-model")
    assert_one_line_error(proc, 3, "404", "model_not_found", "no-such-model")


def test_ctrl_c_during_the_demo_exits_130_with_one_line() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "responses_fast.cli", "demo", "--speed", "40"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    for line in proc.stdout:  # wait until the first tool call has completed
        if "exit code: 1" in line or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert err.strip().splitlines() == [
        "responses-fast: interrupted: stopped after the last completed tool call"
    ]


# ----------------------------------------------------------------------------- run


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with serve_in_thread(
        demo_script(Path(sys.executable).name),
        tokens_per_second=None,
        scripts={
            "risky": [
                [
                    {
                        "type": "function_call",
                        "name": "shell",
                        "arguments": {"command": "frobnicate"},
                    }
                ],
                ["I was not allowed to run it."],
            ]
        },
    ) as srv:
        yield srv


def _json_lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_run_json_fixes_the_repo_and_prints_json_lines(
    server: ServerThread, tmp_path: Path
) -> None:
    ws = copy_sample_repo(tmp_path / "repo")
    proc = cli("run", "Fix the failing tests", "-w", str(ws), "--base-url", server.base_url,
               "--model", "scripted", "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    events = _json_lines(proc.stdout)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "turn_started"
    assert kinds[-1] == "result"
    assert {"tool_call_started", "tool_call_finished", "turn_finished"} <= set(kinds)
    result = events[-1]
    assert result["status"] == "completed"
    assert result["tool_calls"] == 4
    assert isinstance(result["turns"], list) and len(result["turns"]) == 5
    assert run_tests(ws).passed


def test_run_refuses_ask_calls_without_a_terminal(server: ServerThread, tmp_path: Path) -> None:
    proc = cli("run", "do it", "-w", str(tmp_path), "--base-url", server.base_url,
               "--model", "scripted:risky", "--json", "--approval", "on-risk")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    events = _json_lines(proc.stdout)
    flagged = [e for e in events if e["type"] == "tool_call_flagged"]
    assert flagged and flagged[0]["action"] == "ask" and flagged[0]["approved"] is False
    finished = next(e for e in events if e["type"] == "tool_call_finished")
    assert finished["denied"] is True
    assert any(e["type"] == "notice" for e in events)


def test_run_with_a_model_the_server_rejects(server: ServerThread, tmp_path: Path) -> None:
    proc = cli("run", "x", "-w", str(tmp_path), "--base-url", server.base_url,
               "--model", "gpt-nope", "--json")  # fmt: skip
    assert_one_line_error(proc, 3, "model_not_found")
    last = _json_lines(proc.stdout)[-1]
    assert last["type"] == "error" and last["exit_code"] == 3


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--workspace", "/definitely/not/here"], "does not exist"),
        (["--workspace", __file__], "is not a folder"),
        (["--transport", "cerebras"], "CEREBRAS_API_KEY is not set"),
        ([], "OPENAI_API_KEY is not set"),
        (["--transport", "carrier-pigeon"], "unknown transport"),
        (["--max-turns", "0"], "--max-turns"),
    ],
)
def test_run_bad_input(args: list[str], needle: str, tmp_path: Path) -> None:
    full = ["run", "fix it", *(["--workspace", str(tmp_path)] if "--workspace" not in args else [])]
    proc = cli(*full, *args)
    assert_one_line_error(proc, 2, needle)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")
def test_run_read_only_workspace(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        proc = cli("run", "fix it", "--workspace", str(ro))
    finally:
        ro.chmod(0o755)
    assert_one_line_error(proc, 2, "not writable")


# ----------------------------------------------------------------------------- bench


def test_bench_without_a_source_checkout_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from responses_fast.cli import bench

    monkeypatch.setattr(bench, "bench_script", lambda: tmp_path / "missing.py")
    assert main(["bench"]) == 2
    err = capsys.readouterr().err
    assert "source checkout" in err and len(err.strip().splitlines()) == 1


def test_bench_passes_its_arguments_to_the_harness(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from responses_fast.cli import bench

    script = tmp_path / "harness.py"
    script.write_text("import sys\nsys.exit(7 if sys.argv[1:] == ['--quick'] else 9)\n")
    monkeypatch.setattr(bench, "bench_script", lambda: script)
    assert main(["bench", "--", "--quick"]) == 7
