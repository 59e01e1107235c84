"""The local scripted server in its own process, driven over a pipe, plus the server cost model.

The server runs in a separate process so the client under test has a core to itself and its CPU
time (``time.process_time`` in the benchmark process) contains no server work. The parent talks
to it with small commands (:func:`server_main`): set the script, set the cost model, reset and read
the per-request records, read the server's CPU time.

Server cost model (labelled; off unless asked for). The local server charges nothing per request,
unlike a real API, which validates, re-tokenizes and loads state for every request. When a
:class:`CostModel` is set, each request's scripted TTFT grows by::

    S            for an HTTP request, or a WebSocket request without previous_response_id
    f * S        for a WebSocket continuation (previous_response_id on the socket)
  + c * uncached input tokens          (the server's emulated prompt cache decides what is cached)

This wraps ``prepare`` (request -> plan) in the server's websocket and http modules from the
outside; no server file is changed. docs/benchmarks.md states the defaults and their sources.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from .proxy import EchoServer

__all__ = ["DEFAULT_COST_MODEL", "CostModel", "server_main"]


@dataclass(frozen=True, slots=True)
class CostModel:
    per_request: float = 0.300  # S, seconds per full request
    ws_fraction: float = 0.2  # f: a WebSocket continuation costs f * S
    per_uncached_token: float = 10e-6  # c, seconds per uncached input token

    def delay(self, endpoint: str, continuation: bool, uncached_tokens: int) -> float:
        s = self.per_request * (self.ws_fraction if endpoint == "ws" and continuation else 1.0)
        return s + self.per_uncached_token * max(uncached_tokens, 0)

    def label(self) -> str:
        return (f"S={self.per_request * 1e3:.0f} ms/request, "
                f"WS continuation {self.ws_fraction:g}*S, "
                f"{self.per_uncached_token * 1e6:g} us/uncached input token")


DEFAULT_COST_MODEL = CostModel()


def _install_cost_hook(current: list[CostModel | None], charged: list[float]) -> None:
    """Wrap request planning in the three endpoint modules to add the modelled cost to the TTFT.

    Responses (WebSocket and HTTP) plan through ``prepare``; Chat Completions builds its chunk
    schedule with ``chat_chunks`` (always a full-history request). ``charged`` collects the
    seconds added per request so the report can show them.
    """
    from responses_fast.server import chat as chat_mod
    from responses_fast.server import engine
    from responses_fast.server import http as http_mod
    from responses_fast.server import websocket as ws_mod

    original = engine.prepare

    def wrap(endpoint: str) -> Callable[..., Any]:
        def prepare(state: Any, create: Any, lookup: Any) -> Any:
            p = original(state, create, lookup)
            model = current[0]
            if model is not None:
                details = p.usage.get("input_tokens_details") or {}
                uncached = int(p.usage.get("input_tokens", 0)) - int(
                    details.get("cached_tokens", 0))
                extra = model.delay(endpoint, create.previous_response_id is not None, uncached)
                p.ttft += extra
                charged.append(extra)
            return p

        return prepare

    chunks = chat_mod.chat_chunks

    def chat_chunks(plan: Any, base: Any, usage: Any, tps: Any, ttft: float,
                    **kw: Any) -> Any:
        model = current[0]
        if model is not None:
            details = usage.get("prompt_tokens_details") or {}
            uncached = int(usage.get("prompt_tokens", 0)) - int(details.get("cached_tokens", 0))
            extra = model.delay("chat", False, uncached)
            ttft += extra
            charged.append(extra)
        return chunks(plan, base, usage, tps, ttft, **kw)

    ws_mod.prepare = wrap("ws")  # type: ignore[attr-defined]
    http_mod.prepare = wrap("http")  # type: ignore[attr-defined]
    chat_mod.chat_chunks = chat_chunks  # type: ignore[assignment]


def server_main(conn: Connection, ssl_certfile: str | None = None,
                ssl_keyfile: str | None = None) -> None:
    """Process entry. Replies to each command; first sends ``(server_port, echo_port)``.

    With a certificate and key the model server speaks TLS (https/wss); the echo server used to
    measure the RTT stays plain TCP.
    """
    from responses_fast.server import serve_in_thread

    cost: list[CostModel | None] = [None]
    charged: list[float] = []
    _install_cost_hook(cost, charged)
    server = serve_in_thread(None, tokens_per_second=None, api_key=None,
                             ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
    echo = EchoServer()
    conn.send((server.port, echo.port))
    try:
        while True:
            msg = conn.recv()
            cmd = msg[0]
            if cmd == "script":
                server.set_script(msg[1])
                conn.send(True)
            elif cmd == "cost":
                cost[0] = CostModel(**msg[1]) if msg[1] is not None else None
                conn.send(True)
            elif cmd == "reset":
                server.reset_statistics()
                charged.clear()
                conn.send(True)
            elif cmd == "records":
                st = server.statistics()
                conn.send(([dataclasses.asdict(r) for r in server.requests], st.bytes_in,
                           st.bytes_out, list(charged)))
            elif cmd == "cpu":
                conn.send(time.process_time())
            elif cmd == "stop":
                conn.send(True)
                return
    finally:
        echo.close()
        server.stop()
