"""The contenders: the loops users write with the official SDK, and responses_fast.

Every contender gets the same :class:`Workload`, the same server URL and the same tools (an
``asyncio.sleep`` for the call's duration, then its output text). Each builds its client inside
the timed region (``AsyncOpenAI()`` costs ~20 ms, mostly its SSL context) and stops the clock when
the final answer is in, before closing. The SDK loops are written the way the SDK's docs show
them: ``input += response.output``, tools one after another once the response is complete.

With ``--tls`` every contender gets the same client SSL context (trusting the benchmark's
throwaway CA): the SDK through ``http_client=DefaultAsyncHttpxClient(verify=ctx)`` (openai 3.x
runs on ``httpx2``: a plain ``httpx.AsyncClient`` is the wrong class) and
``connect(websocket_connection_options={"ssl": ctx})``, responses_fast through ``ssl_context=``.
"""

from __future__ import annotations

import asyncio
import inspect
import ssl
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from .workload import Workload

__all__ = ["CONTENDERS", "Contender", "LoopResult", "available_contenders"]

API_KEY = "sk-bench-local"
MODEL = "scripted"


@dataclass(slots=True)
class LoopResult:
    wall: float  # seconds, client construction to final answer
    cpu: float  # process CPU seconds over the same region
    turns: int  # model responses received
    final_text: str


#: (workload, base_url, prompt, client SSL context or None for plain TCP) -> LoopResult
Runner = Callable[[Workload, str, str, ssl.SSLContext | None], Coroutine[Any, Any, LoopResult]]


@dataclass(frozen=True, slots=True)
class Contender:
    key: str  # short id used in tables: a, b, c, rf-websocket, ...
    label: str
    run: Runner


async def _run_tool(workload: Workload, name: str, arguments: str) -> str:
    spec = workload.lookup(name, arguments)
    await asyncio.sleep(spec.duration)
    return spec.output


def _sdk_client(base_url: str, tls: ssl.SSLContext | None) -> Any:
    from openai import AsyncOpenAI, DefaultAsyncHttpxClient

    http_client = DefaultAsyncHttpxClient(verify=tls) if tls is not None else None
    return AsyncOpenAI(base_url=base_url, api_key=API_KEY, max_retries=0, http_client=http_client)


async def _sdk_http(workload: Workload, base_url: str, prompt: str, tls: ssl.SSLContext | None,
                    *, chain: bool) -> LoopResult:
    """(a) full history, store=False; (b) chain=True: store=True + previous_response_id."""
    t0, c0 = time.perf_counter(), time.process_time()
    client = _sdk_client(base_url, tls)
    history: list[Any] = [{"role": "user", "content": prompt}]
    new_items: list[Any] = list(history)
    previous: str | None = None
    turns = 0
    final = ""
    try:
        while True:
            kwargs: dict[str, Any] = {}
            if chain:
                kwargs = {"input": new_items, "store": True}
                if previous is not None:
                    kwargs["previous_response_id"] = previous
            else:
                kwargs = {"input": history, "store": False}
            stream = await client.responses.create(
                model=MODEL, instructions=workload.instructions, tools=list(workload.tools),
                stream=True, **kwargs,
            )
            response = None
            async for event in stream:
                if event.type == "response.completed":
                    response = event.response
            if response is None:
                raise RuntimeError("stream ended without response.completed")
            turns += 1
            previous = response.id
            history += response.output
            calls = [o for o in response.output if o.type == "function_call"]
            if not calls:
                final = response.output_text
                break
            new_items = []
            for c in calls:  # sequentially, after the response completed: the usual loop
                out = await _run_tool(workload, c.name, c.arguments)
                new_items.append({"type": "function_call_output", "call_id": c.call_id,
                                  "output": out})
            history += new_items
        return LoopResult(time.perf_counter() - t0, time.process_time() - c0, turns, final)
    finally:
        await client.close()


async def _sdk_websocket(workload: Workload, base_url: str, prompt: str,
                         tls: ssl.SSLContext | None) -> LoopResult:
    """(c) the SDK's responses.connect() as a plain loop: new items + previous_response_id."""
    t0, c0 = time.perf_counter(), time.process_time()
    client = _sdk_client(base_url, tls)
    turns = 0
    final = ""
    options: dict[str, Any] = {"ssl": tls} if tls is not None else {}
    try:
        async with client.responses.connect(websocket_connection_options=options) as conn:
            new_items: list[Any] = [{"role": "user", "content": prompt}]
            previous: str | None = None
            while True:
                extra: dict[str, Any] = {}
                if previous is not None:
                    extra["previous_response_id"] = previous
                await conn.response.create(
                    model=MODEL, instructions=workload.instructions,
                    tools=list(workload.tools), store=False, input=new_items, **extra,
                )
                response = None
                async for event in conn:
                    if event.type == "response.completed":
                        response = event.response
                        break
                    if event.type in ("error", "response.failed"):
                        raise RuntimeError(f"server error: {event}")
                if response is None:
                    raise RuntimeError("connection closed mid-response")
                turns += 1
                previous = response.id
                calls = [o for o in response.output if o.type == "function_call"]
                if not calls:
                    final = response.output_text
                    break
                new_items = []
                for c in calls:
                    out = await _run_tool(workload, c.name, c.arguments)
                    new_items.append({"type": "function_call_output", "call_id": c.call_id,
                                      "output": out})
            result = LoopResult(time.perf_counter() - t0, time.process_time() - c0, turns, final)
    finally:
        await client.close()
    return result


def _rf_tools(workload: Workload) -> list[Any]:
    from responses_fast.tools import Tool

    def handler_for(name: str) -> Callable[..., Awaitable[str]]:
        async def handler(**kwargs: Any) -> str:
            spec = workload.lookup_kwargs(name, kwargs)
            await asyncio.sleep(spec.duration)
            return spec.output

        return handler

    return [Tool(name=t["name"], description=t["description"], handler=handler_for(t["name"]),
                 parameters=t["parameters"]) for t in workload.tools]


def _no_truncation(cls: type) -> dict[str, Any]:
    """Same workload for all: the SDK loops send tool outputs whole (the 200 KB log too), so
    responses_fast must not shorten them (its default keeps 64 KB). The option's name changed
    once already; pass whichever the installed AgentSession takes."""
    params = inspect.signature(cls).parameters
    for name in ("max_tool_output_bytes", "max_tool_output_chars"):
        if name in params:
            return {name: 10**9}
    return {}


def _rf_runner(transport: str) -> Runner:
    async def run(workload: Workload, base_url: str, prompt: str,
                  tls: ssl.SSLContext | None) -> LoopResult:
        from responses_fast.session import AgentSession

        if transport == "cerebras":  # the Cerebras SDK appends /v1 itself
            base_url = base_url.removesuffix("/v1")
        t0, c0 = time.perf_counter(), time.process_time()
        async with AgentSession(
            MODEL, tools=_rf_tools(workload), instructions=workload.instructions,
            base_url=base_url, api_key=API_KEY, transport=transport,
            max_turns=len(workload.turns) + 5, ssl_context=tls, **_no_truncation(AgentSession),
        ) as session:
            result = await session.run(prompt)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return LoopResult(wall, cpu, len(result.turns), result.final_text)

    return run


async def _a(w: Workload, url: str, p: str, tls: ssl.SSLContext | None) -> LoopResult:
    return await _sdk_http(w, url, p, tls, chain=False)


async def _b(w: Workload, url: str, p: str, tls: ssl.SSLContext | None) -> LoopResult:
    return await _sdk_http(w, url, p, tls, chain=True)


CONTENDERS: tuple[Contender, ...] = (
    Contender("a", "SDK HTTP, full history, store=false", _a),
    Contender("b", "SDK HTTP, previous_response_id, store=true", _b),
    Contender("c", "SDK WebSocket connect(), plain loop", _sdk_websocket),
)


def available_contenders() -> list[Contender]:
    """(a), (b), (c), then responses_fast on every transport the factory offers today."""
    from responses_fast.transports.factory import TRANSPORT_NAMES

    out = list(CONTENDERS)
    out += [Contender(f"rf-{name}", f"responses_fast, {name}", _rf_runner(name))
            for name in TRANSPORT_NAMES if name != "auto"]  # auto = one of the others
    return out
