"""Fault injection for the local server: the per-turn ``"fault"`` of a script.

A fault is data in the script (parsed by :func:`parse_fault`, pure) plus a server-wide counter
(:class:`FaultBook`) so that ``times`` limits how many attempts of a turn it hits. The I/O modules
(websocket.py, http.py, chat.py) ask :meth:`FaultBook.take` once per request and apply it.

Kinds:

- ``close``: after ``after_events`` events, the WebSocket is closed with ``code`` (1006 = the TCP
  connection is aborted without a close frame); on HTTP the body is cut off (the connection aborts).
- ``error``: after ``after_events`` events an ``error`` event with ``status`` (WebSocket; the
  retry-after hint in ``error.headers``); on HTTP a status response before streaming when
  ``after_events`` is 0, else a mid-stream error event / error chunk.
- ``http_status``: HTTP and chat answer ``status`` before streaming (with ``retry-after``); the
  WebSocket sends the matching ``error`` event instead of the response.
- ``stall``: after ``after_events`` events nothing is sent for ``seconds``, then the stream resumes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Fault", "FaultBook", "FaultKind", "error_body", "parse_fault"]

FaultKind = Literal["close", "error", "stall", "http_status"]
_KINDS = ("close", "error", "stall", "http_status")

_DEFAULT_CODES = {
    429: ("rate_limit_exceeded", "requests", "Rate limit reached (emulated)."),
    500: ("server_error", "server_error", "The server had an error (emulated)."),
    503: ("server_is_overloaded", "server_error", "The server is overloaded (emulated)."),
}


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    after_events: int = 0
    code: int = 1011
    status: int = 500
    retry_after: float | None = None
    seconds: float = 0.0
    times: int = 1
    error_code: str | None = None
    message: str | None = None

    def error_fields(self) -> tuple[str, str, str]:
        """(code, type, message) of the error this fault reports."""
        code, etype, msg = _DEFAULT_CODES.get(
            self.status, ("server_error" if self.status >= 500 else "invalid_request_error",
                          "server_error" if self.status >= 500 else "invalid_request_error",
                          f"Emulated error {self.status}.")
        )
        return (self.error_code or code, etype, self.message or msg)

    def headers(self) -> dict[str, str]:
        """HTTP headers that go with the error (retry-after, in seconds and in ms)."""
        if self.retry_after is None:
            return {}
        secs = self.retry_after
        text = str(int(secs)) if float(secs).is_integer() else str(secs)
        return {"retry-after": text, "retry-after-ms": str(int(secs * 1000))}


def parse_fault(spec: Mapping[str, Any]) -> Fault:
    """Validate a ``"fault"`` mapping of a script turn."""
    kind = spec.get("kind")
    if kind not in _KINDS:
        raise ValueError(f"fault kind must be one of {_KINDS}, got {kind!r}")
    unknown = set(spec) - {
        "kind", "after_events", "code", "status", "retry_after", "seconds", "times",
        "error_code", "message",
    }
    if unknown:
        raise ValueError(f"unknown fault fields: {sorted(unknown)}")
    after = int(spec.get("after_events", 0))
    times = int(spec.get("times", 1))
    if after < 0 or times < 0:
        raise ValueError("fault after_events and times must be >= 0")
    code = int(spec.get("code", 1011))
    if code not in (1000, 1001, 1006, 1011, 1012, 1013):
        raise ValueError(f"unsupported close code {code}")
    retry = spec.get("retry_after")
    return Fault(
        kind=kind,
        after_events=after,
        code=code,
        status=int(spec.get("status", 429 if kind in ("error", "http_status") else 500)),
        retry_after=float(retry) if retry is not None else None,
        seconds=float(spec.get("seconds", 0.0)),
        times=times,
        error_code=spec.get("error_code"),
        message=spec.get("message"),
    )


def error_body(fault: Fault) -> dict[str, Any]:
    """The ``{"message","type","param","code"}`` error object for a fault."""
    code, etype, msg = fault.error_fields()
    return {"message": msg, "type": etype, "param": None, "code": code}


class FaultBook:
    """Counts, server-wide, how often each (script, turn) fault has fired; ``times`` caps it."""

    __slots__ = ("_fired",)

    def __init__(self) -> None:
        self._fired: dict[tuple[int, int], int] = {}

    def take(self, script_key: int, turn_index: int, fault: Fault | None) -> Fault | None:
        """The fault to apply to this attempt, or None once it has fired ``times`` times."""
        if fault is None:
            return None
        key = (script_key, turn_index)
        n = self._fired.get(key, 0)
        if n >= fault.times:
            return None
        self._fired[key] = n + 1
        return fault

    def fired(self, script_key: int, turn_index: int) -> int:
        return self._fired.get((script_key, turn_index), 0)

    def reset(self) -> None:
        self._fired.clear()
