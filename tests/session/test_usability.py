"""What a new user meets first (issue 14, "Broken today"): the blocking stream() anywhere, one item
as the prompt, tools that raise are logged, @tool objects are callable."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from responses_fast.protocol.items import FunctionCallOutput
from responses_fast.server import serve, serve_in_thread
from responses_fast.session import AgentSession, RunFinished, SyncAgentSession, TextDelta
from responses_fast.tools import tool

SCRIPT = [[{"type": "message", "text": "hello from the stream"}]]

SYNC_STREAM = """
from responses_fast.server import serve_in_thread
from responses_fast.session import SyncAgentSession, RunFinished, TextDelta

with serve_in_thread(script=[[{"type": "message", "text": "hello from the stream"}]]) as srv:
    with SyncAgentSession("scripted", base_url=srv.base_url, api_key="k") as s:
        text = "".join(e.text for e in s.stream("hi") if isinstance(e, TextDelta))
        print("STREAMED:", text)
"""


def test_sync_stream_works_in_a_plain_script() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SYNC_STREAM], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "STREAMED: hello from the stream" in proc.stdout


def test_sync_stream_works_in_a_worker_thread() -> None:
    got: list[Any] = []

    def worker() -> None:
        try:
            with (
                serve_in_thread(script=SCRIPT) as srv,
                SyncAgentSession("scripted", base_url=srv.base_url, api_key="k") as s,
            ):
                got.extend(s.stream("hi"))
        except BaseException as exc:  # reported to the test thread below
            got.append(exc)

    t = threading.Thread(target=worker)
    t.start()
    t.join(60)
    assert not t.is_alive()
    assert not [e for e in got if isinstance(e, BaseException)], got
    assert "".join(e.text for e in got if isinstance(e, TextDelta)) == "hello from the stream"
    assert isinstance(got[-1], RunFinished) and got[-1].result.status == "completed"


def test_sync_stream_works_in_a_jupyter_kernel(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(SYNC_STREAM))]
    client = nbclient.NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    text = "".join(o.get("text", "") for o in nb.cells[0].get("outputs", []))
    assert "STREAMED: hello from the stream" in text


@pytest.mark.anyio
@pytest.mark.parametrize(
    "prompt",
    [
        {"role": "user", "content": "hi"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
    ],
)
async def test_a_single_dict_is_a_prompt(prompt: dict[str, Any]) -> None:
    async with (
        serve(script=SCRIPT) as server,
        AgentSession(
            "scripted", base_url=server.base_url, api_key="k", transport="http"
        ) as session,
    ):
        result = await session.run(prompt)
    assert result.final_text == "hello from the stream"
    assert result.items[0].role == "user"  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_a_bad_prompt_item_is_refused_before_anything_is_logged() -> None:
    async with (
        serve(script=SCRIPT) as server,
        AgentSession(
            "scripted", base_url=server.base_url, api_key="k", transport="http"
        ) as session,
    ):
        with pytest.raises(ValueError, match="item 1"):
            await session.run([{"role": "user", "content": "ok"}, {"type": "message"}])
        assert len(session.log) == 0


@pytest.mark.anyio
async def test_a_tool_that_raises_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @tool
    def explode(reason: str) -> str:
        """Always fails."""
        key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
        if reason == "key":
            raise PermissionError(f"upstream refused api_key={key}")
        raise RuntimeError(f"tool blew up: {reason}")

    script = [
        [{"type": "function_call", "name": "explode", "arguments": {"reason": "disk"}}],
        [{"type": "function_call", "name": "explode", "arguments": {"reason": "key"}}],
        [{"type": "message", "text": "noted"}],
    ]
    caplog.set_level(logging.WARNING, logger="responses_fast")
    async with (
        serve(script=script) as server,
        AgentSession(
            "scripted", tools=[explode], base_url=server.base_url, api_key="k", policy=None
        ) as session,
    ):
        result = await session.run("go")
    out, _ = [i for i in result.items if isinstance(i, FunctionCallOutput)]
    assert out.output == "error: RuntimeError: tool blew up: disk"  # short, for the model
    record, secret = [r for r in caplog.records if r.name == "responses_fast.tools"]
    assert "A1b2C3d4E5f6G7h8I9j0" not in caplog.text and "REDACTED" in secret.getMessage()
    text = record.getMessage()
    assert record.levelno == logging.WARNING and "'explode'" in text
    assert "Traceback" in text and "in explode" in text
    assert "RuntimeError: tool blew up: disk" in text


def test_a_tool_object_calls_its_function() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @tool
    async def aadd(a: int, b: int) -> int:
        """Add, asynchronously."""
        return a + b

    assert add(1, 2) == 3
    assert add(a=2, b=5) == 7
    import asyncio

    assert asyncio.run(aadd(1, 2)) == 3


@pytest.mark.anyio
async def test_stream_keeps_the_cause_of_a_run_error() -> None:
    """RetriesExhausted documents its last failure as __cause__; stream() must not erase it."""
    import socket

    from responses_fast.config import RetryPolicy
    from responses_fast.errors import RetriesExhausted, TransportError

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    session = AgentSession(
        "scripted",
        base_url=f"http://127.0.0.1:{port}/v1",
        api_key="k",
        retry=RetryPolicy(initial_delay=0.01, max_delay=0.02, max_attempts=2),
    )
    async with session:
        with pytest.raises(RetriesExhausted) as info:
            async with session.stream("hi") as events:
                async for _ in events:
                    pass
    assert isinstance(info.value.__cause__, TransportError)
