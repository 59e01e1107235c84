"""Incremental Server-Sent Events decoder and encoder (no I/O).

``SSEDecoder.feed(chunk)`` returns the complete messages in the chunk; partial lines wait for the
next chunk. A read usually holds whole ``event:``/``data:`` blocks: those are cut at their blank
lines in one pass (``bytes.split``), with no per-line loop in Python; anything else (CRLF,
comments, several data lines, a block cut by the read) goes through the general line parser.
Lines end with LF or CRLF (a bare CR is not treated as a line end: no HTTP SSE server
we talk to emits one). Comment lines (``:``) and ``id:``/``retry:``/unknown fields are ignored; an
``event:`` block without ``data:`` is dropped (the official SDK would crash on it). The pending line
and the pending event's data are bounded by ``max_event_bytes`` so a hostile peer cannot grow
memory without limit; past the bound :class:`~responses_fast.errors.RemoteProtocolError` is raised.
"""

from __future__ import annotations

from typing import NamedTuple

from responses_fast.errors import LocalProtocolError, RemoteProtocolError

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "SSEDecoder", "SSEMessage", "encode_sse"]

DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"


class SSEMessage(NamedTuple):
    """One message: its ``event:`` name (None when absent) and its ``data`` lines joined."""

    event: str | None
    data: bytes


class SSEDecoder:
    """Splits a byte stream into SSE messages (``event:``/``data:`` fields, blank-line ended)."""

    __slots__ = ("_buf", "_data", "_event", "_max", "_size", "_started")

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._buf = b""
        self._event: str | None = None
        self._data: list[bytes] = []
        self._size = 0  # bytes in self._data
        self._max = max_event_bytes
        self._started = False  # a leading UTF-8 BOM has been checked for

    def feed(self, chunk: bytes) -> list[SSEMessage]:
        buf = self._buf + chunk if self._buf else chunk
        if not self._started:
            if len(buf) < 3 and _BOM.startswith(buf):
                self._buf = buf  # could still be the start of a BOM
                return []
            self._started = True
            if buf.startswith(_BOM):
                buf = buf[3:]
        out: list[SSEMessage] = []
        if not self._data and self._event is None and b"\r" not in buf:
            cut = buf.rfind(b"\n\n")
            if cut >= 0:
                self._blocks(buf[:cut], out)
                buf = buf[cut + 2 :]
        self._lines(buf, out)
        return out

    def _blocks(self, text: bytes, out: list[SSEMessage]) -> None:
        """Whole blocks (no CR), blank-line separated: the usual ``event:`` + one ``data:``
        shape is cut without a line loop; any other block goes through the line parser."""
        limit = self._max
        for block in text.split(b"\n\n"):
            if len(block) > limit:
                raise RemoteProtocolError(
                    f"SSE event exceeds the size limit ({limit} bytes)", raw=block
                )
            if block.startswith(b"event: "):
                nl = block.find(b"\n")
                if nl > 0 and block.startswith(b"data: ", nl + 1) and block.find(b"\n", nl + 1) < 0:
                    out.append(SSEMessage(block[7:nl].decode("utf-8", "replace"), block[nl + 7 :]))
                    continue
            elif block.startswith(b"data: ") and block.find(b"\n") < 0:
                out.append(SSEMessage(None, block[6:]))
                continue
            if block:
                self._lines(block + b"\n\n", out)

    def _lines(self, buf: bytes, out: list[SSEMessage]) -> None:
        """The general parser: line by line, state kept across reads."""
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
                self._size = 0
                continue
            if line[0:1] == b":":
                continue  # comment / keep-alive
            field, _, value = line.partition(b":")
            if value[:1] == b" ":
                value = value[1:]
            if field == b"data":
                self._data.append(value)
                self._size += len(value) + 1
                if self._size > self._max:
                    raise RemoteProtocolError(
                        f"SSE event exceeds the size limit ({self._max} bytes)", raw=value
                    )
            elif field == b"event":
                self._event = value.decode("utf-8", "replace")
            # id:, retry: and unknown fields are ignored (no reconnection semantics here)
        self._buf = buf[start:]
        if len(self._buf) > self._max:
            raise RemoteProtocolError(
                f"SSE line exceeds the size limit ({self._max} bytes)", raw=self._buf
            )

    def flush(self) -> list[SSEMessage]:
        """End of stream: a final message without its blank line still counts."""
        out = self.feed(b"\n\n") if (self._buf or self._data) else []
        self._buf = b""
        self._event = None
        self._data = []
        self._size = 0
        return out


def encode_sse(data: bytes, event: str | None = None) -> bytes:
    """One SSE message. Newlines in ``data`` become several ``data:`` lines (compact JSON has none);
    an ``event`` name with a line break raises LocalProtocolError (it would forge a field)."""
    if b"\n" in data or b"\r" in data:
        lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        body = b"".join(b"data: " + line + b"\n" for line in lines) + b"\n"
    else:
        body = b"data: " + data + b"\n\n"
    if event is None:
        return body
    if "\n" in event or "\r" in event:
        raise LocalProtocolError("SSE event name must not contain a line break")
    return b"event: " + event.encode() + b"\n" + body
