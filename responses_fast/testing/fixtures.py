"""Small helpers for tests of agents: a scripted server, counting tools, a log checker."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from typing import Any

import anyio
from pydantic import BaseModel

from ..protocol.items import FunctionCall, FunctionCallOutput
from ..server import LocalServer, serve
from ..server.app import ScriptSource
from ..tools.spec import Tool, tool

__all__ = ["CountingTools", "item_log_problems", "scripted_server"]


@contextlib.asynccontextmanager
async def scripted_server(
    script: ScriptSource | None = None, **config: Any
) -> AsyncIterator[LocalServer]:
    """The local server on a free port, fast by default (100k tokens/s, no time to first token)."""
    config.setdefault("tokens_per_second", 100_000)
    async with serve(script, **config) as server:
        yield server


class CountingTools:
    """Tools that count their real executions, keyed by their arguments.

    ``write_file(path, text)`` is the side effect that must never run twice; ``read_file(path)``
    and ``slow(tag, seconds)`` (sleeps) complete the set.
    """

    def __init__(self) -> None:
        self.executions: Counter[str] = Counter()
        self.files: dict[str, str] = {}

    def tools(self) -> list[Tool]:
        rec = self

        @tool
        def write_file(path: str, text: str) -> str:
            """Write a file (a side effect that must happen once)."""
            rec.executions[f"write_file:{path}"] += 1
            rec.files[path] = rec.files.get(path, "") + text
            return f"wrote {len(text)} chars to {path}"

        @tool
        def read_file(path: str) -> str:
            """Read a file."""
            rec.executions[f"read_file:{path}"] += 1
            return rec.files.get(path, f"contents of {path}")

        @tool
        async def slow(tag: str, seconds: float) -> str:
            """Sleep, then answer."""
            rec.executions[f"slow:{tag}"] += 1
            await anyio.sleep(seconds)
            return f"slow {tag} done"

        return [write_file, read_file, slow]

    def twice(self) -> list[str]:
        """Keys that ran more than once (must stay empty)."""
        return sorted(k for k, n in self.executions.items() if n > 1)


def item_log_problems(items: Iterable[BaseModel]) -> list[str]:
    """What is wrong with a conversation log: every function_call needs exactly one output, after
    it, and no call id may repeat."""
    problems: list[str] = []
    calls: Counter[str] = Counter()
    outputs: Counter[str] = Counter()
    for item in items:
        if isinstance(item, FunctionCall):
            calls[item.call_id] += 1
        elif isinstance(item, FunctionCallOutput):
            if calls[item.call_id] == 0:
                problems.append(f"output of {item.call_id} before its call")
            outputs[item.call_id] += 1
    for cid, n in calls.items():
        if n > 1:
            problems.append(f"call {cid} logged {n} times")
        if outputs[cid] != 1:
            problems.append(f"call {cid} has {outputs[cid]} outputs")
    for cid in outputs:
        if cid not in calls:
            problems.append(f"output {cid} without a call")
    return problems
