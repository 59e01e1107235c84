"""The ASGI app and the ways to run it: ``serve()``, ``serve_in_thread()``, ``run_server()``.

uvicorn runs in-process on a socket we bind ourselves (port 0 picks a free port), with the
sans-I/O websockets protocol (a subclass that lets a fault abort the TCP connection).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import AsyncIterator, Generator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import orjson
import uvicorn
from anyio.abc import TaskGroup
from anyio.from_thread import start_blocking_portal
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, WebSocketRoute
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from .engine import ServerConfig, ServerState
from .scripted import DEFAULT_TOKENS_PER_SECOND, DEFAULT_TTFT, Script, parse_script
from .stats import RequestRecord, ServerStatistics
from .websocket import ABORT_SCOPE_KEY, websocket_endpoint

__all__ = [
    "LocalServer",
    "ScriptSource",
    "ServerThread",
    "build_app",
    "load_script",
    "run_server",
    "serve",
    "serve_in_thread",
]

ScriptSource = str | os.PathLike[str] | list[Any] | Mapping[str, Any] | Script


class _AbortFilter(logging.Filter):
    """Hide the tracebacks uvicorn logs for bodies we cut off on purpose (HTTP close faults)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not getattr(exc, "responses_fast_fault", False)


class _RedactCredentials(logging.Filter):
    """uvicorn's WebSocket protocol logs every request header at DEBUG, the client's key too."""

    _HEADERS = frozenset({"authorization", "api-key", "x-api-key"})

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (isinstance(args, tuple) and len(args) >= 2 and isinstance(args[0], str)
                and args[0].lower() in self._HEADERS):
            record.args = (args[0], "[REDACTED]", *args[2:])
        return True


_uvicorn_logger = logging.getLogger("uvicorn.error")
if not any(isinstance(f, _AbortFilter) for f in _uvicorn_logger.filters):
    _uvicorn_logger.addFilter(_AbortFilter())
if not any(isinstance(f, _RedactCredentials) for f in _uvicorn_logger.filters):
    _uvicorn_logger.addFilter(_RedactCredentials())


class _WSProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O protocol plus an abort hook in the scope (the 1006 fault)."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope[ABORT_SCOPE_KEY] = self.transport.abort


class _Server(uvicorn.Server):
    """uvicorn.Server that stops in milliseconds: an event instead of 0.1 s polling."""

    exit_requested: anyio.Event | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # in-process: leave the host's signal handlers alone

    async def main_loop(self) -> None:
        self.exit_requested = anyio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 10) % 864000  # on_tick refreshes the Date header every 10
            with anyio.move_on_after(1.0):
                await self.exit_requested.wait()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()  # websockets get a 1012 close, idle keep-alives are closed
        with anyio.move_on_after(self.config.timeout_graceful_shutdown or 1):
            while self.server_state.connections or self.server_state.tasks:  # noqa: ASYNC110
                await anyio.sleep(0.005)
        for t in self.server_state.tasks:
            t.cancel()
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()

    def request_exit(self) -> None:
        self.should_exit = True
        if self.exit_requested is not None:
            self.exit_requested.set()


def load_script(source: ScriptSource) -> Script:
    """A script from a JSON file path, a list of turns, a mapping or a Script."""
    if isinstance(source, (str, os.PathLike)):
        return parse_script(orjson.loads(Path(source).read_bytes()))
    return parse_script(source)


def build_app(state: ServerState) -> Starlette:
    from .chat import chat_routes
    from .http import RequestIdMiddleware, http_routes
    from .resources import http_exception_handler, resource_routes

    routes: list[BaseRoute] = [
        WebSocketRoute("/v1/responses", websocket_endpoint),
        *resource_routes(),
        *http_routes(),
        *chat_routes(),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(RequestIdMiddleware)],
                    exception_handlers={HTTPException: http_exception_handler})
    app.state.responses_fast = state
    return app


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    # without it Nagle + delayed ACK hold each streamed event back ~40 ms on loopback.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class LocalServer:
    """A running local server: URLs, counters and script control."""

    def __init__(
        self,
        script: ScriptSource | None = None,
        *,
        scripts: Mapping[str, ScriptSource] | None = None,
        tokens_per_second: float | None = DEFAULT_TOKENS_PER_SECOND,
        ttft: float = DEFAULT_TTFT,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        max_connection_age: float = 3600.0,
        max_message_size: int = 16 * 1024 * 1024,
        cerebras_quirk: bool = False,
        any_model: bool = False,
        log_level: str = "warning",
        ssl_certfile: str | os.PathLike[str] | None = None,
        ssl_keyfile: str | os.PathLike[str] | None = None,
    ) -> None:
        config = ServerConfig(
            tokens_per_second=tokens_per_second or None, ttft=ttft, api_key=api_key,
            max_connection_age=max_connection_age, max_message_size=max_message_size,
            cerebras_quirk=cerebras_quirk, any_model=any_model,
        )
        self.state = ServerState(config=config)
        self.state.script = load_script(script) if script is not None else Script(())
        for name, src in (scripts or {}).items():
            self.state.scripts[name] = load_script(src)
        self.host = host
        self._requested_port = port
        self._log_level = log_level
        if (ssl_certfile is None) != (ssl_keyfile is None):
            raise ValueError("TLS needs both ssl_certfile and ssl_keyfile")
        self._ssl_certfile = None if ssl_certfile is None else os.fspath(ssl_certfile)
        self._ssl_keyfile = None if ssl_keyfile is None else os.fspath(ssl_keyfile)
        self._sock: socket.socket | None = None
        self._uvicorn: _Server | None = None
        self._done = anyio.Event()
        self._tg_cm: TaskGroup | None = None
        self.port = 0

    # -- URLs

    @property
    def tls(self) -> bool:
        """Whether the server speaks TLS (https/wss URLs)."""
        return self._ssl_certfile is not None

    @property
    def base_url(self) -> str:
        """``http(s)://HOST:PORT/v1`` (for the openai SDK)."""
        return f"{self.root_url}/v1"

    @property
    def root_url(self) -> str:
        """``http(s)://HOST:PORT`` (for cerebras-cloud-sdk, which appends /v1 itself)."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self._url_host}:{self.port}"

    @property
    def ws_url(self) -> str:
        scheme = "wss" if self.tls else "ws"
        return f"{scheme}://{self._url_host}:{self.port}/v1/responses"

    @property
    def _url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    # -- control and counters

    @property
    def config(self) -> ServerConfig:
        return self.state.config

    def set_script(self, script: ScriptSource, *, name: str | None = None) -> None:
        """Replace the default script (or a named one); fault and conversation counters restart."""
        parsed = load_script(script)
        if name is None:
            self.state.script = parsed
        else:
            self.state.scripts[name] = parsed
        self.state.faults.reset()
        self.state.conversations.clear()

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every request record so far, in arrival order."""
        return self.state.stats.records()

    def statistics(self) -> ServerStatistics:
        return self.state.stats.snapshot()

    def reset_statistics(self) -> None:
        self.state.stats.reset()

    # -- lifecycle

    async def start(self) -> None:
        self._sock = _bind(self.host, self._requested_port)
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(
            build_app(self.state),
            log_config=None,
            log_level=self._log_level,
            access_log=False,
            lifespan="off",
            ws=_WSProtocol,
            ws_max_size=self.state.config.max_message_size,
            ws_ping_interval=None,
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
            ssl_certfile=self._ssl_certfile,
            ssl_keyfile=self._ssl_keyfile,
        )
        self._uvicorn = _Server(config)
        self._done = anyio.Event()
        self._tg_cm = anyio.create_task_group()
        tg = await self._tg_cm.__aenter__()
        tg.start_soon(self._serve)
        while not self._uvicorn.started:
            if self._done.is_set():
                raise RuntimeError("the local server failed to start")
            await anyio.sleep(0.002)

    async def _serve(self) -> None:
        assert self._uvicorn is not None and self._sock is not None
        try:
            await self._uvicorn.serve(sockets=[self._sock])
        finally:
            self._done.set()

    async def aclose(self) -> None:
        if self._uvicorn is None:
            return
        self._uvicorn.request_exit()
        try:
            with anyio.fail_after(5):
                await self._done.wait()
        except TimeoutError:
            self._uvicorn.force_exit = True
        if self._tg_cm is not None:
            await self._tg_cm.__aexit__(None, None, None)
            self._tg_cm = None
        if self._sock is not None:
            self._sock.close()
        self._uvicorn = None

    async def __aenter__(self) -> LocalServer:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


@contextlib.asynccontextmanager
async def serve(script: ScriptSource | None = None, **config: Any) -> AsyncIterator[LocalServer]:
    """Run the local server for the duration of the ``async with`` block.

    ``config``: scripts, tokens_per_second, ttft, api_key, host, port, max_connection_age,
    max_message_size, cerebras_quirk, any_model, log_level, ssl_certfile, ssl_keyfile (PEM
    files: serve https/wss; see :class:`LocalServer`).
    """
    server = LocalServer(script, **config)
    async with server:
        yield server


class ServerThread:
    """The local server on its own event loop thread, for synchronous code and notebooks."""

    def __init__(self, script: ScriptSource | None = None, **config: Any) -> None:
        self.server = LocalServer(script, **config)
        self._stack: contextlib.ExitStack | None = None
        self._lock = threading.Lock()

    def start(self) -> ServerThread:
        with self._lock:
            if self._stack is not None:
                return self
            stack = contextlib.ExitStack()
            portal = stack.enter_context(start_blocking_portal("asyncio"))
            stack.enter_context(portal.wrap_async_context_manager(self.server))
            self._stack = stack
        return self

    def stop(self) -> None:
        with self._lock:
            stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # the same surface as LocalServer
    def __getattr__(self, name: str) -> Any:
        return getattr(self.server, name)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def ws_url(self) -> str:
        return self.server.ws_url

    @property
    def root_url(self) -> str:
        return self.server.root_url

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def requests(self) -> list[RequestRecord]:
        return self.server.requests

    def statistics(self) -> ServerStatistics:
        return self.server.statistics()

    def set_script(self, script: ScriptSource, *, name: str | None = None) -> None:
        self.server.set_script(script, name=name)


def serve_in_thread(script: ScriptSource | None = None, **config: Any) -> ServerThread:
    """Start the server on a background thread; ``stop()`` it (or use ``with``)."""
    return ServerThread(script, **config).start()


def run_server(host: str = "127.0.0.1", port: int = 8765, **config: Any) -> None:
    """Run until interrupted (the ``responses-fast serve`` command)."""

    async def main() -> None:
        async with serve(host=host, port=port, **config) as server:
            print(f"responses_fast local server on {server.base_url} (ws: {server.ws_url})",
                  flush=True)
            await anyio.sleep_forever()

    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(main)
