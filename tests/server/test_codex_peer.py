"""The real Codex CLI (npm ``@openai/codex``, installed by .ci/run) as a peer of the local server.

Each case runs the server and ``codex exec`` together in a private network namespace
(``unshare -rn``: loopback only, nothing else reachable) through codex_harness.py, then checks
what Codex did to its working folder and what the server saw. Skipped, with the reason, only
where the Codex binary, npm's install or user namespaces are missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODEX = Path(os.environ.get("RESPONSES_FAST_CODEX", ROOT / ".cache/codex/node_modules/.bin/codex"))
HARNESS = Path(__file__).with_name("codex_harness.py")
PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hello from a patch\n*** End Patch\n"
SHELL = [[{"type": "function_call", "name": "exec_command",
           "arguments": {"cmd": "echo hi from codex > out.txt"}}],
         ["Shell task done."]]
APPLY_PATCH = [[{"type": "custom_tool_call", "name": "apply_patch", "input": PATCH}],
               ["Patch applied."]]
# The first turn reports a huge prompt, so Codex compacts before it samples the second turn.
COMPACTION = [
    {"output": [{"type": "function_call", "name": "exec_command",
                 "arguments": {"cmd": "echo one > one.txt"}}],
     "tokens": {"input_tokens": 200_000}},
    [{"type": "function_call", "name": "exec_command", "arguments": {"cmd": "echo two > two.txt"}}],
    ["Both files written."],
]
COMPACT_LIMIT = ["model_auto_compact_token_limit = 100000"]


def _namespaces_work() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(["unshare", "-rn", "ip", "link", "set", "lo", "up"],
                           capture_output=True, check=False)
    return probe.returncode == 0


pytestmark = [
    pytest.mark.skipif(not CODEX.exists(),
                       reason=f"Codex CLI not installed at {CODEX} (.ci/run installs it with npm)"),
    pytest.mark.skipif(not _namespaces_work(),
                       reason="no user+network namespaces (unshare -rn) or no 'ip' here"),
]


def run_codex(tmp_path: Path, script: Any, prompt: str, *, websocket: bool,
              provider: str = "custom", extra: list[str] | None = None,
              cli: bool = False) -> dict[str, Any]:
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    spec = {"codex": str(CODEX), "script": script, "prompt": prompt, "workdir": str(work),
            "codex_home": str(home), "websocket": websocket, "provider": provider,
            "extra_config": extra or [], "cli": cli}
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    proc = subprocess.run(
        ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', sys.executable,
         str(HARNESS), str(spec_file)],
        capture_output=True, text=True, timeout=150, check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout)
    assert result["rc"] == 0, (result["stdout"][-2000:], result["stderr"][-3000:])
    result["work"] = work
    return result


@pytest.mark.parametrize("websocket", [False, True], ids=["http", "websocket"])
def test_codex_against_the_serve_command(tmp_path: Path, websocket: bool) -> None:
    """The server as ``responses-fast serve`` started inside the namespace (no records back)."""
    result = run_codex(tmp_path, SHELL, "write hi to out.txt", websocket=websocket, cli=True)
    assert (result["work"] / "out.txt").read_text() == "hi from codex\n"
    assert "Shell task done." in result["stdout"]


def endpoints(result: dict[str, Any]) -> list[str]:
    return [r["endpoint"] for r in result["records"]]


def turns(result: dict[str, Any]) -> list[int | None]:
    return [r["turn_index"] for r in result["records"]]


@pytest.mark.parametrize("websocket", [False, True], ids=["http", "websocket"])
def test_codex_shell_task(tmp_path: Path, websocket: bool) -> None:
    result = run_codex(tmp_path, SHELL, "write hi to out.txt", websocket=websocket)
    assert (result["work"] / "out.txt").read_text() == "hi from codex\n"
    assert "Shell task done." in result["stdout"]
    assert all(r["status"] == "completed" for r in result["records"])
    if websocket:
        assert set(endpoints(result)) == {"ws"}
        first, *rest = result["records"]
        assert first["generate"] is False  # Codex's warm-up
        assert all(r["previous_response_id"] for r in rest)  # then only the new items
        assert turns(result)[1:] == [0, 1]
    else:
        assert endpoints(result) == ["http", "http"] and turns(result) == [0, 1]


@pytest.mark.parametrize("websocket", [False, True], ids=["http", "websocket"])
def test_codex_apply_patch_freeform(tmp_path: Path, websocket: bool) -> None:
    result = run_codex(tmp_path, APPLY_PATCH, "add hello.txt", websocket=websocket)
    assert (result["work"] / "hello.txt").read_text() == "hello from a patch\n"
    assert "Patch applied." in result["stdout"]
    assert [t for t in turns(result) if t is not None] == [0, 1]
    assert set(endpoints(result)) == {"ws" if websocket else "http"}


def test_codex_local_compaction_keeps_the_script_going(tmp_path: Path) -> None:
    """A custom provider: Codex compacts with its own summary request, then goes on."""
    result = run_codex(tmp_path, COMPACTION, "write two files", websocket=False,
                       extra=COMPACT_LIMIT)
    assert (result["work"] / "one.txt").exists() and (result["work"] / "two.txt").exists()
    assert "Both files written." in result["stdout"]
    # turn 1 twice: the compaction request (answered with the summary) does not advance
    assert turns(result) == [0, 1, 1, 2]


def test_codex_remote_compaction_over_websocket(tmp_path: Path) -> None:
    """The built-in OpenAI provider: Codex sends a compaction_trigger item over the socket."""
    result = run_codex(tmp_path, COMPACTION, "write two files", websocket=True,
                       provider="openai", extra=COMPACT_LIMIT)
    assert (result["work"] / "one.txt").exists() and (result["work"] / "two.txt").exists()
    assert "Both files written." in result["stdout"]
    assert set(endpoints(result)) == {"ws"}
    assert [t for t in turns(result) if t is not None] == [0, 1, 1, 2]
