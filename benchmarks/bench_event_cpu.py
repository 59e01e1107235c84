"""Client CPU per streamed event, at a paced token rate, for each way of reading a stream.

The local server runs in its own process (``responses-fast serve``), paced at ``--tps`` tokens per
second (one delta event per 4 characters), so the client sees events one by one as a real model
sends them, not in bursts. The client process measures its own CPU time (``time.process_time``)
around each run and divides by the events the server streamed (for chat: the chunks).

Contenders (each on asyncio, and on uvloop when installed):

- ``rf websocket run()`` / ``stream()``: AgentSession over the WebSocket transport (the picows
  backend when installed, and the websockets sans-I/O backend);
- ``rf http run()`` / ``stream()``: AgentSession over HTTP/SSE; ``rf chat run()``;
- ``raw websockets`` / ``raw picows``: the same request on a bare client that parses every
  message with ``orjson.loads`` and nothing else (the floor of a Python client).

Usage::

    python benchmarks/bench_event_cpu.py [--tps 3000] [--repeats 3] [--turns 4] [--chars 1200]

Prints one line per contender: the median over repeats of CPU microseconds per event, with the
min-max.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import orjson

from benchmarks.bench_transports import _BOOT
from responses_fast.session import AgentSession
from responses_fast.tools.spec import tool
from responses_fast.transports._socket import available_backends
from responses_fast.transports.base import Transport
from responses_fast.transports.websocket import WebSocketTransport, websocket_url

SENTENCE = "The quick brown fox jumps over the lazy dog near the riverbank. "


def make_script(turns: int, chars: int) -> dict[str, Any]:
    text = (SENTENCE * (chars // len(SENTENCE) + 1))[:chars]
    out: list[Any] = []
    for i in range(turns - 1):
        out.append(
            [
                {"type": "message", "text": text},
                {"type": "function_call", "name": "step", "arguments": {"n": i}},
            ]
        )
    out.append([{"type": "message", "text": text}])
    return {"turns": out}


def start_server(script_path: str, tps: float) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-c", _BOOT, "serve", "--port", "0", "--script", script_path,
           "--tokens-per-second", str(tps), "--ttft", "0"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if " on " not in line:
        proc.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return proc, line.split(" on ", 1)[1].split()[0]


@tool
async def step(n: int) -> str:
    """One step of the task."""
    return f"step {n} done"


Measure = Callable[[str], Awaitable[tuple[float, int]]]


def session_contender(transport: str, streaming: bool, backend: str | None = None) -> Measure:
    async def measure(base_url: str) -> tuple[float, int]:
        chosen: str | Transport = transport
        if backend is not None:
            chosen = WebSocketTransport(base_url, "sk-bench", backend=backend)  # type: ignore[arg-type]
        async with AgentSession(
            "scripted",
            transport=chosen,
            base_url=base_url,
            api_key="sk-bench",
            tools=[step],
            warmup=False,
        ) as session:
            events0 = session.transport.stats.events_received
            cpu0 = time.process_time()
            if streaming:
                async with session.stream("go") as stream:
                    async for _ in stream:
                        pass
            else:
                await session.run("go")
            cpu = time.process_time() - cpu0
            return cpu, session.transport.stats.events_received - events0

    return measure


def transport_contender(backend: str, want_deltas: bool) -> Measure:
    """The WebSocket transport alone (no session): one turn, events read off ``open_turn``."""

    async def measure(base_url: str) -> tuple[float, int]:
        from responses_fast.cache.render import log_item
        from responses_fast.protocol.items import user_message
        from responses_fast.transports.base import RequestSettings, TurnRequest

        request = TurnRequest(
            settings=RequestSettings(model="scripted"),
            items=[log_item(user_message("go"))],
            want_deltas=want_deltas,
        )
        transport = WebSocketTransport(base_url, "sk-bench", backend=backend)  # type: ignore[arg-type]
        try:
            await transport.connect()
            cpu0 = time.process_time()
            async with transport.open_turn(request) as events:
                async for _ in events:
                    pass
            return time.process_time() - cpu0, transport.stats.events_received
        finally:
            await transport.aclose()

    return measure


_USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]}
_CREATE = orjson.dumps(
    {"type": "response.create", "model": "scripted", "store": False, "input": [_USER]}
)


async def raw_websockets(base_url: str) -> tuple[float, int]:
    import websockets.asyncio.client

    async with websockets.asyncio.client.connect(websocket_url(base_url), compression=None) as ws:
        cpu0 = time.process_time()
        await ws.send(_CREATE, text=True)
        n = 0
        while True:
            event = orjson.loads(await ws.recv(decode=False))
            n += 1
            if event["type"] in ("response.completed", "response.failed", "error"):
                break
        return time.process_time() - cpu0, n


async def raw_picows(base_url: str) -> tuple[float, int]:
    import asyncio

    import picows

    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()

    class Listener(picows.WSListener):  # type: ignore[misc]
        n = 0

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type is not picows.WSMsgType.TEXT:
                return
            event = orjson.loads(frame.get_payload_as_bytes())
            self.n += 1
            if event["type"] in ("response.completed", "response.failed", "error"):
                if not done.done():
                    done.set_result(self.n)

    transport, _ = await picows.ws_connect(Listener, websocket_url(base_url))
    try:
        cpu0 = time.process_time()
        transport.send(picows.WSMsgType.TEXT, _CREATE)
        n = await done
        return time.process_time() - cpu0, n
    finally:
        transport.disconnect()
        await transport.wait_disconnected()


def contenders() -> list[tuple[str, Measure]]:
    out: list[tuple[str, Measure]] = []
    for backend in available_backends():
        run_ws = session_contender("websocket", False, backend)
        stream_ws = session_contender("websocket", True, backend)
        out.append((f"rf websocket run()       [{backend}]", run_ws))
        out.append((f"rf websocket stream()    [{backend}]", stream_ws))
    for backend in available_backends():
        out.append((f"transport only, no deltas [{backend}]", transport_contender(backend, False)))
        out.append((f"transport only, deltas    [{backend}]", transport_contender(backend, True)))
    out += [
        ("rf http run()", session_contender("http", False)),
        ("rf http stream()", session_contender("http", True)),
        ("rf chat run()", session_contender("chat", False)),
        ("raw websockets + orjson", raw_websockets),
    ]
    if "picows" in available_backends():
        out.append(("raw picows + orjson", raw_picows))
    return out


async def bench(base_url: str, repeats: int, only: str) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    chosen = [(label, m) for label, m in contenders() if only in label]
    for _label, measure in chosen:  # warm-up: imports, pools, the server's caches
        await measure(base_url)
    for _ in range(repeats):  # interleaved, so drift hits every contender alike
        for label, measure in chosen:
            cpu, events = await measure(base_url)
            results.setdefault(label, []).append(cpu / max(events, 1) * 1e6)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tps", type=float, default=3000, help="server pace, tokens per second")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--turns", type=int, default=4, help="model turns per session run")
    parser.add_argument("--chars", type=int, default=1200, help="characters of text per turn")
    parser.add_argument("--loops", default="asyncio,uvloop", help="event loops to run on")
    parser.add_argument("--only", default="", help="run only the contenders whose label has this")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(make_script(args.turns, args.chars), f)
    proc, base_url = start_server(f.name, args.tps)
    report: dict[str, Any] = {"tps": args.tps, "repeats": args.repeats, "results": {}}
    try:
        for loop in args.loops.split(","):
            options: dict[str, Any] = {}
            if loop == "uvloop":
                try:
                    import uvloop  # noqa: F401
                except ImportError:
                    print("uvloop is not installed: skipped")
                    continue
                options = {"use_uvloop": True}
            results = anyio.run(bench, base_url, args.repeats, args.only, backend_options=options)
            print(f"\n{loop}, server paced at {args.tps:g} tok/s: client CPU per event (µs)")
            for label, values in results.items():
                med = statistics.median(values)
                print(f"  {label:40s} {med:6.1f}   ({min(values):.1f}-{max(values):.1f})")
                report["results"][f"{loop} {label}"] = values
    finally:
        proc.terminate()
        proc.wait(5)
        os.unlink(f.name)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=1)


if __name__ == "__main__":
    main()
