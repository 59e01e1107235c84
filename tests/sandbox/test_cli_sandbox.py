"""The CLI says where commands run, once, and passes --sandbox/--network down to the tools."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from responses_fast.demo import copy_sample_repo, demo_script
from responses_fast.server import serve_in_thread


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"OPENAI_API_KEY", "CEREBRAS_API_KEY",
           "OPENAI_BASE_URL", "CEREBRAS_BASE_URL"}}  # fmt: skip
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "responses_fast.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_demo_names_the_backend_once() -> None:
    proc = cli("demo", "--speed", "0", "--ttft", "0")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    banner = [line for line in proc.stdout.splitlines() if line.startswith(("sandbox:", "WARNING"))]
    assert len(banner) == 1
    assert "workspace-write" in banner[0] or "NONE" in banner[0]
    assert "PASSED" in proc.stdout


def test_run_json_reports_the_sandbox_and_read_only_blocks_the_fix(tmp_path: Path) -> None:
    ws = copy_sample_repo(tmp_path / "repo")
    before = (ws / "pagination.py").read_text()
    with serve_in_thread(demo_script(Path(sys.executable).name), tokens_per_second=None) as srv:
        proc = cli("run", "Fix the failing tests", "-w", str(ws), "--base-url", srv.base_url,
                   "--model", "scripted", "--json", "--sandbox", "read-only",
                   "--no-network")  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    last = json.loads(proc.stdout.splitlines()[-1])
    assert last["type"] == "result"
    box = last["sandbox"]
    assert box["mode"] == "read-only" and box["network"] is False
    assert box["backend"] in ("bwrap", "landlock", "none")
    shell_calls = [
        json.loads(line)
        for line in proc.stdout.splitlines()
        if '"tool_call_finished"' in line and '"shell"' in line
    ]
    assert shell_calls and not shell_calls[0]["denied"]
    # The tests ran (and failed) inside the sandbox, reading the workspace (under /tmp here).
    assert "FAILED" in shell_calls[0]["output"], shell_calls[0]["output"]
    if box["sandboxed"]:
        # Read-only: the test run could not even write its __pycache__ into the workspace.
        assert not (ws / "__pycache__").exists()
    # apply_patch is a file tool, not a shell command: the fix lands and the rerun passes.
    assert (ws / "pagination.py").read_text() != before
    assert proc.returncode == 0
