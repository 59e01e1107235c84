"""The only place where third-party exceptions become responses_fast errors."""

from __future__ import annotations

import contextlib
import email.utils
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import orjson
import websockets.exceptions

from ..errors import (
    APIError,
    ConnectError,
    ConnectionLost,
    ConnectTimeout,
    ReadTimeout,
    ResponsesFastError,
    api_error_for_status,
)
from ..protocol.server_events import ErrorEvent

__all__ = [
    "error_from_body",
    "error_from_event",
    "map_transport_errors",
    "parse_retry_after",
]


def parse_retry_after(headers: Mapping[str, Any] | None) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    lower = {str(k).lower(): v for k, v in headers.items()}
    ms = lower.get("retry-after-ms")
    if ms is not None:
        with contextlib.suppress(TypeError, ValueError):
            return float(ms) / 1000.0
    value = lower.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_from_event(event: ErrorEvent) -> APIError:
    """An ``error`` stream event (WebSocket nested or SSE flat shape) as an APIError."""
    d = event.detail
    return api_error_for_status(
        event.status,
        d.message or "error event",
        code=d.code,
        type=d.type,
        param=d.param,
        retry_after=parse_retry_after(d.headers or getattr(event, "headers", None)),
    )


def error_from_body(
    status: int, body: bytes, headers: Mapping[str, Any] | None = None
) -> APIError:
    """An HTTP error answer (``{"error": {...}}`` or any body) as an APIError."""
    message, code, etype, param = f"HTTP {status}", None, None, None
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            message = str(err.get("message") or message)
            code = err.get("code") if isinstance(err.get("code"), str) else None
            etype = err.get("type") if isinstance(err.get("type"), str) else None
            param = err.get("param") if isinstance(err.get("param"), str) else None
        if isinstance(data.get("status_code"), int):
            status = data["status_code"]
    request_id = None
    if headers:
        request_id = {str(k).lower(): v for k, v in headers.items()}.get("x-request-id")
    return api_error_for_status(
        status,
        message,
        code=code,
        type=etype,
        param=param,
        request_id=request_id,
        retry_after=parse_retry_after(headers),
    )


@contextlib.contextmanager
def map_transport_errors(phase: str = "stream") -> Iterator[None]:
    """Translate websockets/httpx/OS errors raised inside the block."""
    try:
        yield
    except ResponsesFastError:
        raise
    except websockets.exceptions.InvalidStatus as exc:
        resp = exc.response
        body = bytes(resp.body or b"")
        raise error_from_body(resp.status_code, body, dict(resp.headers)) from exc
    except websockets.exceptions.ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd is not None else None
        raise ConnectionLost(
            f"websocket closed during {phase} (code {code})", close_code=code
        ) from exc
    except (websockets.exceptions.InvalidHandshake, websockets.exceptions.InvalidURI) as exc:
        raise ConnectError(f"websocket handshake failed: {type(exc).__name__}") from exc
    except httpx.ConnectTimeout as exc:
        raise ConnectTimeout(f"connect timed out during {phase}") from exc
    except httpx.ReadTimeout as exc:
        raise ReadTimeout(f"read timed out during {phase}") from exc
    except httpx.ConnectError as exc:
        raise ConnectError(f"could not connect: {type(exc).__name__}") from exc
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise ConnectionLost(f"connection lost during {phase}: {type(exc).__name__}") from exc
    except httpx.HTTPError as exc:
        raise ConnectionLost(f"HTTP failure during {phase}: {type(exc).__name__}") from exc
    except TimeoutError as exc:
        if phase == "connect":
            raise ConnectTimeout("connect timed out") from exc
        raise ReadTimeout(f"no data within the read timeout during {phase}") from exc
    except (ConnectionError, OSError) as exc:
        if phase == "connect":
            raise ConnectError(f"could not connect: {type(exc).__name__}") from exc
        raise ConnectionLost(f"connection lost during {phase}: {type(exc).__name__}") from exc
