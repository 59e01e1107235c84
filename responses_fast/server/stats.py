"""Counters of the local server, exact enough for tests to assert on.

A *connection* is one WebSocket (id ``ws-<n>``) or one HTTP client connection, identified by the
client's ``host:port`` (keep-alive requests on one TCP connection share it). Bytes are payload
bytes: WebSocket text frames as UTF-8, HTTP request and response bodies (headers not counted).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = ["ConnectionStatistics", "RequestRecord", "ServerStatistics", "StatsRecorder"]

Endpoint = Literal["ws", "http", "chat", "compact"]


@dataclass(slots=True)
class RequestRecord:
    """One request (a ``response.create`` frame, a ``POST /v1/responses`` or a chat completion).

    ``input_items`` counts the items (or chat messages) carried by this request itself, not the
    reconstructed context; ``context_items`` counts the full context the model saw.
    """

    connection_id: str
    endpoint: Endpoint
    model: str | None
    input_items: int
    previous_response_id: str | None
    bytes_in: int
    response_id: str | None = None
    bytes_out: int = 0
    stream: bool = True
    store: bool | None = None
    generate: bool = True
    stream_id: str | None = None
    turn_index: int | None = None
    context_items: int = 0
    status: str = "in_progress"  # completed | error | fault | cancelled | in_progress
    error_code: str | None = None
    fault: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectionStatistics:
    connection_id: str
    kind: Literal["ws", "http"]
    requests: int
    bytes_in: int
    bytes_out: int
    open: bool


@dataclass(frozen=True, slots=True)
class ServerStatistics:
    connections_opened: int
    active_websockets: int
    requests: int
    bytes_in: int
    bytes_out: int
    connections: Mapping[str, ConnectionStatistics] = field(
        default_factory=lambda: MappingProxyType({})
    )


@dataclass(slots=True)
class _Conn:
    kind: Literal["ws", "http"]
    requests: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    open: bool = True


class StatsRecorder:
    """Mutable counters; the server's event loop writes, any thread reads snapshots."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conns: dict[str, _Conn] = {}
        self._records: list[RequestRecord] = []
        self._ws_counter = 0

    def open_websocket(self) -> str:
        with self._lock:
            self._ws_counter += 1
            cid = f"ws-{self._ws_counter}"
            self._conns[cid] = _Conn("ws")
            return cid

    def close_connection(self, cid: str) -> None:
        with self._lock:
            c = self._conns.get(cid)
            if c is not None:
                c.open = False

    def http_connection(self, cid: str) -> None:
        with self._lock:
            if cid not in self._conns:
                self._conns[cid] = _Conn("http")

    def add_in(self, cid: str, n: int) -> None:
        with self._lock:
            self._conns[cid].bytes_in += n

    def add_out(self, cid: str, n: int, record: RequestRecord | None = None) -> None:
        with self._lock:
            self._conns[cid].bytes_out += n
            if record is not None:
                record.bytes_out += n

    def add_request(self, record: RequestRecord) -> RequestRecord:
        with self._lock:
            self._records.append(record)
            self._conns[record.connection_id].requests += 1
        return record

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return [dataclasses.replace(r) for r in self._records]

    def active_websockets(self) -> int:
        with self._lock:
            return sum(1 for c in self._conns.values() if c.kind == "ws" and c.open)

    def snapshot(self) -> ServerStatistics:
        with self._lock:
            conns = {
                cid: ConnectionStatistics(cid, c.kind, c.requests, c.bytes_in, c.bytes_out, c.open)
                for cid, c in self._conns.items()
            }
            return ServerStatistics(
                connections_opened=len(conns),
                active_websockets=sum(1 for c in conns.values() if c.kind == "ws" and c.open),
                requests=len(self._records),
                bytes_in=sum(c.bytes_in for c in conns.values()),
                bytes_out=sum(c.bytes_out for c in conns.values()),
                connections=MappingProxyType(conns),
            )

    def reset(self) -> None:
        with self._lock:
            self._records.clear()
            self._conns = {k: v for k, v in self._conns.items() if v.open}
