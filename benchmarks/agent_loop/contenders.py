"""The contenders: the loops users write with the official SDK, and responses_fast.

Every contender gets the same :class:`Workload`, the same server URL and the same tools (an
``asyncio.sleep`` for the call's duration, then its output text). Every contender builds its
client objects **outside** the timed region (``AsyncOpenAI()`` costs 20-80 ms, mostly its SSL
context; ``AgentSession(...)`` and the null client's rendered request prefix likewise), then
starts the clock, opens its connection (inside the timed region for all: the floor counts the
set-up round trips) and stops the clock when the final answer is in, before closing.

(a)-(c) are the loops the SDK's docs show (``input += response.output``, tools one after another
once the response is complete). (d) is a competent hand-written loop on the SDK's WebSocket: each
tool starts as a task at its ``output_item.done`` and the outputs are gathered once the response
completes. (e) is a null client: raw picows + orjson with the same pipelining and nothing else
(no validation, no safety, no log), the measured limit of a Python client on this machine; it
runs only where ``picows`` is installed (``pip install 'responses-fast[fast]'``).

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

__all__ = ["CONTENDERS", "Contender", "LoopResult", "available_contenders", "sdk_socket_loop"]

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
    client = _sdk_client(base_url, tls)
    t0, c0 = time.perf_counter(), time.process_time()
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


RunTool = Callable[[str, str], Awaitable[str]]


async def sdk_socket_loop(conn: Any, *, model: str, instructions: str, tools: list[Any],
                          prompt: str, run_tool: RunTool, pipelined: bool) -> tuple[str, int]:
    """The SDK's ``responses.connect()`` loop: new items + ``previous_response_id`` per turn.

    ``pipelined=False`` is (c): tools one after another once the response completed.
    ``pipelined=True`` is (d): each tool starts as a task at its ``output_item.done`` and the
    outputs are gathered when the response completes. Returns (final text, turns).
    """
    new_items: list[Any] = [{"role": "user", "content": prompt}]
    previous: str | None = None
    turns = 0
    while True:
        extra: dict[str, Any] = {}
        if previous is not None:
            extra["previous_response_id"] = previous
        await conn.response.create(model=model, instructions=instructions, tools=tools,
                                   store=False, input=new_items, **extra)
        started: list[tuple[str, asyncio.Future[str]]] = []
        response = None
        async for event in conn:
            if pipelined and event.type == "response.output_item.done":
                item = event.item
                if item.type == "function_call":
                    started.append((item.call_id,
                                    asyncio.ensure_future(run_tool(item.name, item.arguments))))
            elif event.type == "response.completed":
                response = event.response
                break
            elif event.type in ("error", "response.failed"):
                raise RuntimeError(f"server error: {event}")
        if response is None:
            raise RuntimeError("connection closed mid-response")
        turns += 1
        previous = response.id
        if pipelined:
            outputs = await asyncio.gather(*(f for _, f in started))
            done = [(cid, out) for (cid, _), out in zip(started, outputs, strict=True)]
        else:
            calls = [o for o in response.output if o.type == "function_call"]
            done = [(c.call_id, await run_tool(c.name, c.arguments)) for c in calls]
        if not done:
            return response.output_text, turns
        new_items = [{"type": "function_call_output", "call_id": cid, "output": out}
                     for cid, out in done]


def _socket_contender(pipelined: bool) -> Runner:
    async def run(workload: Workload, base_url: str, prompt: str,
                  tls: ssl.SSLContext | None) -> LoopResult:
        client = _sdk_client(base_url, tls)
        options: dict[str, Any] = {"ssl": tls} if tls is not None else {}

        async def run_tool(name: str, arguments: str) -> str:
            return await _run_tool(workload, name, arguments)

        t0, c0 = time.perf_counter(), time.process_time()
        try:
            async with client.responses.connect(websocket_connection_options=options) as conn:
                final, turns = await sdk_socket_loop(
                    conn, model=MODEL, instructions=workload.instructions,
                    tools=list(workload.tools), prompt=prompt, run_tool=run_tool,
                    pipelined=pipelined)
                return LoopResult(time.perf_counter() - t0, time.process_time() - c0, turns,
                                  final)
        finally:
            await client.close()

    return run


_sdk_websocket = _socket_contender(pipelined=False)
_sdk_websocket_pipelined = _socket_contender(pipelined=True)


def _picows_available() -> bool:
    try:
        import picows  # noqa: F401
    except ImportError:
        return False
    return True


async def _null_client(workload: Workload, base_url: str, prompt: str,
                       tls: ssl.SSLContext | None) -> LoopResult:
    """(e) raw picows + orjson, the same pipelining as (d) and responses_fast, nothing else."""
    import orjson
    from picows import WSListener, WSMsgType, ws_connect

    ws_url = "ws" + base_url.removeprefix("http") + "/responses"
    prefix = orjson.dumps({"type": "response.create", "model": MODEL,
                           "instructions": workload.instructions, "tools": list(workload.tools),
                           "store": False})[:-1]
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str] = loop.create_future()

    class Listener(WSListener):  # type: ignore[misc]
        def __init__(self) -> None:
            self.pending: list[tuple[str, asyncio.Task[str]]] = []
            self.continuations: set[asyncio.Future[None]] = set()  # keep the tasks referenced
            self.turns = 0
            self.transport: Any = None

        def on_ws_connected(self, transport: Any) -> None:
            self.transport = transport

        def send(self, items: list[Any], previous: str | None) -> None:
            tail = b',"input":' + orjson.dumps(items)
            if previous is not None:
                tail += b',"previous_response_id":' + orjson.dumps(previous)
            self.transport.send(WSMsgType.TEXT, prefix + tail + b"}")

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type != WSMsgType.TEXT:
                return
            raw = frame.get_payload_as_bytes()
            if raw.startswith(b'{"type":"response.output_item.done"'):
                item = orjson.loads(raw)["item"]
                if item["type"] == "function_call":
                    self.pending.append((item["call_id"], asyncio.ensure_future(
                        _run_tool(workload, item["name"], item["arguments"]))))
            elif raw.startswith(b'{"type":"response.completed"'):
                resp = orjson.loads(raw)["response"]
                self.turns += 1
                if not self.pending:
                    text = "".join(p.get("text", "") for o in resp["output"]
                                   if o["type"] == "message" for p in o["content"])
                    done.set_result(text)
                    return
                pending, self.pending = self.pending, []
                task = asyncio.ensure_future(self.continue_after(pending, resp["id"]))
                self.continuations.add(task)
                task.add_done_callback(self.continuations.discard)
            elif raw.startswith((b'{"type":"error"', b'{"type":"response.failed"')):
                if not done.done():
                    done.set_exception(RuntimeError(raw[:300].decode()))

        async def continue_after(self, pending: list[tuple[str, asyncio.Task[str]]],
                                 previous: str) -> None:
            outputs = await asyncio.gather(*(t for _, t in pending))
            self.send([{"type": "function_call_output", "call_id": cid, "output": out}
                       for (cid, _), out in zip(pending, outputs, strict=True)], previous)

    t0, c0 = time.perf_counter(), time.process_time()
    transport, listener = await ws_connect(Listener, ws_url, ssl_context=tls,
                                           extra_headers={"Authorization": f"Bearer {API_KEY}"})
    try:
        listener.send([{"role": "user", "content": prompt}], None)
        final = await done
        result = LoopResult(time.perf_counter() - t0, time.process_time() - c0,
                            listener.turns, final)
    finally:
        transport.disconnect()
        await transport.wait_disconnected()
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
        session = AgentSession(
            MODEL, tools=_rf_tools(workload), instructions=workload.instructions,
            base_url=base_url, api_key=API_KEY, transport=transport,
            max_turns=len(workload.turns) + 5, ssl_context=tls, **_no_truncation(AgentSession),
        )
        t0, c0 = time.perf_counter(), time.process_time()
        async with session:
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
    Contender("d", "SDK WebSocket connect(), tools as tasks at output_item.done",
              _sdk_websocket_pipelined),
)
#: The null client: the limit of a Python client here (needs picows).
NULL_CLIENT = Contender("e", "null client: raw picows + orjson, same pipelining", _null_client)


def available_contenders() -> list[Contender]:
    """(a)-(d), (e) where picows is installed, then responses_fast on every transport."""
    from responses_fast.transports.factory import TRANSPORT_NAMES

    out = list(CONTENDERS)
    if _picows_available():
        out.append(NULL_CLIENT)
    out += [Contender(f"rf-{name}", f"responses_fast, {name}", _rf_runner(name))
            for name in TRANSPORT_NAMES if name != "auto"]  # auto = one of the others
    return out
