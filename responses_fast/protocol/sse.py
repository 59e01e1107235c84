"""Incremental Server-Sent Events decoder and encoder (no I/O).

``SSEDecoder.feed(chunk)`` returns the complete messages in the chunk; partial lines wait for the
next chunk. Line and event sizes are bounded so a hostile peer cannot grow memory without limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import RemoteProtocolError

__all__ = ["SSEDecoder", "SSEMessage", "encode_sse"]

DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024


@dataclass(slots=True, frozen=True)
class SSEMessage:
    event: str | None
    data: bytes


class SSEDecoder:
    """Splits a byte stream into SSE messages (``event:``/``data:`` fields, blank-line terminated)."""

    __slots__ = ("_buf", "_data", "_event", "_max")

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._buf = b""
        self._event: str | None = None
        self._data: list[bytes] = []
        self._max = max_event_bytes

    def feed(self, chunk: bytes) -> list[SSEMessage]:
        buf = self._buf + chunk if self._buf else chunk
        out: list[SSEMessage] = []
        start = 0
        n = len(buf)
        while start < n:
            end = buf.find(b"\n", start)
            if end < 0:
                break
            line = buf[start:end]
            start = end + 1
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if self._data:
                    out.append(SSEMessage(self._event, b"\n".join(self._data)))
                self._event = None
                self._data = []
                continue
            if line[0:1] == b":":
                continue  # comment / keep-alive
            field, _, value = line.partition(b":")
            if value[:1] == b" ":
                value = value[1:]
            if field == b"data":
                self._data.append(value)
            elif field == b"event":
                self._event = value.decode("utf-8", "replace")
            # id:, retry: and unknown fields are ignored (no reconnection semantics here)
        self._buf = buf[start:]
        if len(self._buf) > self._max or sum(len(d) for d in self._data) > self._max:
            raise RemoteProtocolError("SSE event exceeds the size limit", raw=self._buf[:200])
        return out

    def flush(self) -> list[SSEMessage]:
        """End of stream: a final message without its blank line still counts."""
        out = self.feed(b"\n\n") if (self._buf or self._data) else []
        self._buf = b""
        return out


def encode_sse(data: bytes, event: str | None = None) -> bytes:
    """One SSE message; ``data`` must not contain newlines (compact JSON never does)."""
    if event is None:
        return b"data: " + data + b"\n\n"
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"
