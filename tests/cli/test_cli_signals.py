"""SIGTERM and SIGHUP to ``responses-fast run`` while a shell tool runs: handled like Ctrl-C, the
tool's process group killed (issue 14), with a real CLI subprocess against the local server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from responses_fast.server import ServerThread, serve_in_thread

pytestmark = pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")

#: argv[0] of the tool's long process, found by it in /proc: inside an OS sandbox with its own
#: PID namespace the command cannot report its host PID itself.
MARKER = f"rf-sigtest-{os.getpid()}"
COMMAND = f"touch started; exec -a {MARKER} sleep 120"
LONG = {"type": "function_call", "name": "shell", "arguments": {"command": COMMAND, "timeout": 120}}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with serve_in_thread(scripts={"long": [[LONG], ["stopped"]]}, tokens_per_second=None) as srv:
        yield srv


def _running(marker: str) -> list[int]:
    """PIDs whose argv[0] is ``marker`` and that still run (zombies count as gone)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv0 = (entry / "cmdline").read_bytes().split(b"\0", 1)[0]
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone meanwhile
            continue
        if argv0 == marker.encode() and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_during_a_long_shell_tool_kills_it_and_exits_like_ctrl_c(
    server: ServerThread, tmp_path: Path, signum: signal.Signals
) -> None:
    env = {k: v for k, v in os.environ.items() if "API_KEY" not in k and "BASE_URL" not in k}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "responses_fast.cli",
            "run",
            "wait",
            "-w",
            str(tmp_path),
            "--base-url",
            server.base_url,
            "--model",
            "scripted:long",
            "--json",
            "--approval",
            "never",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 30
    while not _running(MARKER):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the shell tool never started"
        time.sleep(0.05)  # a subprocess's progress is not awaitable: poll

    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "responses-fast: interrupted: stopped after the last completed tool call"
    )
    assert not _running(MARKER), "the tool's process outlived the CLI"
