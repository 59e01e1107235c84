"""What the session-level micro-benchmarks share: a ``step`` tool, a script of ``step`` calls, and
the local server (``responses-fast serve``) in its own process playing it.

Used by bench_session_overhead.py, bench_memory.py and bench_agent_api.py, so each measures only
the client in its own process.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from responses_fast import tool

__all__ = ["served", "step", "step_script"]


@tool
def step(n: int) -> str:
    """Return a small result."""
    return f"step {n} ok"


def step_script(
    turns: int, tps: float, *, sentence: str = "Working on it, checking the next piece.",
    final: str = "All steps done.",
) -> dict[str, object]:
    """``turns - 1`` turns of a sentence and one ``step`` call, then ``final``."""
    body: list[Any] = [
        [{"type": "message", "text": sentence},
         {"type": "function_call", "name": "step", "arguments": {"n": i}}]
        for i in range(turns - 1)
    ]
    body.append([{"type": "message", "text": final}])
    return {"tokens_per_second": tps, "ttft": 0, "turns": body}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(script: dict[str, object], *extra_args: str) -> Iterator[str]:
    """``responses-fast serve`` in its own process playing ``script``; yields its base URL."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        script_path = Path(tmp) / "script.json"
        script_path.write_text(json.dumps(script))
        server = subprocess.Popen(
            [sys.executable, "-m", "responses_fast.cli.main", "serve", "--port", str(port),
             "--script", str(script_path), *extra_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ},
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:  # the server process needs a moment to listen
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            server.terminate()
            server.wait(timeout=10)
