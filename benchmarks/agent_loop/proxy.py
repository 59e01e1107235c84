"""Emulated network: a thread-based TCP proxy that delays every byte by a one-way delay d.

Why threads: asyncio timers wake up to 1 ms late (epoll rounds timeouts up to whole
milliseconds), a whole token interval at 1000 tok/s; ``time.sleep`` in a thread overshoots by
~0.1 ms (benchmark-method.md §2e). Per connection and direction, a reader thread stamps each chunk
with its due time and a sender thread sleeps until then and forwards it (TCP_NODELAY both ways).

Connection set-up: on a real link the client's first byte reaches the server at 3d (SYN, SYN-ACK,
data). The kernel completes the client's connect to the proxy at once, so the proxy holds the
first client->server bytes until accept + 3d instead.

The proxy runs in its own process (:func:`proxy_main`) so its threads neither share the client's
GIL nor count in the client's CPU time. The echo target (:class:`EchoServer`) measures the round
trip through the proxy (:func:`measure_rtt`).
"""

from __future__ import annotations

import contextlib
import socket
import statistics
import threading
import time
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection

__all__ = ["DelayProxy", "EchoServer", "measure_rtt", "proxy_main"]

_CHUNK = 256 * 1024


def _nodelay(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Pipe:
    """One direction of one connection: reader thread -> timed queue -> sender thread."""

    def __init__(self, src: socket.socket, dst: socket.socket, delay: float,
                 not_before: float, done: threading.Event) -> None:
        self.src, self.dst = src, dst
        self.delay = delay
        self.not_before = not_before
        self.queue: deque[tuple[float, bytes | None]] = deque()
        self.cond = threading.Condition()
        self.done = done
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._send, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data: bytes | None = self.src.recv(_CHUNK)
            except OSError:
                data = None
            due = max(time.perf_counter() + self.delay, self.not_before)
            with self.cond:
                self.queue.append((due, data or None))
                self.cond.notify()
            if not data:
                return

    def _send(self) -> None:
        try:
            while True:
                with self.cond:
                    while not self.queue:
                        self.cond.wait()
                    due, data = self.queue.popleft()
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                if data is None:
                    with contextlib.suppress(OSError):
                        self.dst.shutdown(socket.SHUT_WR)
                    return
                self.dst.sendall(data)
        except OSError:
            with contextlib.suppress(OSError):
                self.src.shutdown(socket.SHUT_RDWR)
        finally:
            self.done.set()


class DelayProxy:
    """Listens on an ephemeral port and forwards to ``target`` with one-way delay ``delay``."""

    def __init__(self, target: tuple[str, int], delay: float, host: str = "127.0.0.1") -> None:
        self.target = target
        self.delay = delay
        self._listener = socket.create_server((host, 0))
        self.port: int = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            accepted = time.perf_counter()
            d = self.delay
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            _nodelay(client)
            _nodelay(upstream)
            up_done, down_done = threading.Event(), threading.Event()
            _Pipe(client, upstream, d, accepted + 3 * d, up_done)
            _Pipe(upstream, client, d, 0.0, down_done)
            threading.Thread(target=self._reap, args=(client, upstream, up_done, down_done),
                             daemon=True).start()

    @staticmethod
    def _reap(a: socket.socket, b: socket.socket, e1: threading.Event,
              e2: threading.Event) -> None:
        e1.wait()
        e2.wait()
        a.close()
        b.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()


class EchoServer:
    """A threaded echo target for the RTT probe (lives next to the model server)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._listener = socket.create_server((host, 0))
        self.port: int = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            _nodelay(conn)
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def close(self) -> None:
        self._listener.close()


def measure_rtt(host: str, port: int, *, samples: int = 20,
                size: int = 64) -> tuple[float, float, float]:
    """(median, p90, connection set-up) in seconds: 64-byte ping-pongs through ``host:port``.

    Set-up is connect + the first ping-pong (on a delayed path: 2 RTT, see the module doc).
    """
    payload = b"x" * size
    t0 = time.perf_counter()
    with socket.create_connection((host, port)) as s:
        _nodelay(s)
        rtts: list[float] = []
        setup = 0.0
        for i in range(samples + 1):
            start = time.perf_counter()
            s.sendall(payload)
            got = 0
            while got < size:
                chunk = s.recv(size - got)
                if not chunk:
                    raise ConnectionError("echo target closed the connection")
                got += len(chunk)
            now = time.perf_counter()
            if i == 0:
                setup = now - t0
            else:
                rtts.append(now - start)
    q = statistics.quantiles(rtts, n=10) if len(rtts) > 1 else rtts * 9
    return statistics.median(rtts), q[-1], setup


def proxy_main(conn: Connection, targets: Sequence[tuple[str, int]]) -> None:
    """Process entry: one proxy per target; answers ``("delay", d)`` with the list of ports.

    ``("delay", d)`` closes the current proxies and opens fresh ones with delay d (new ports),
    so no connection ever straddles two delays. ``("stop",)`` ends the process.
    """
    proxies: list[DelayProxy] = []
    while True:
        msg = conn.recv()
        if msg[0] == "delay":
            for p in proxies:
                p.close()
            proxies = [DelayProxy(t, float(msg[1])) for t in targets]
            conn.send([p.port for p in proxies])
        elif msg[0] == "stop":
            for p in proxies:
                p.close()
            conn.send("stopped")
            return
