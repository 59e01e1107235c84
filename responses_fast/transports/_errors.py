"""The only place where third-party exceptions become responses_fast errors."""

from __future__ import annotations

import contextlib
import email.utils
import ssl
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import orjson
import websockets.exceptions

from ..errors import (
    APIError,
    CertificateError,
    ConnectError,
    ConnectionLost,
    ConnectTimeout,
    ReadTimeout,
    RemoteProtocolError,
    ResponsesFastError,
    api_error_for_status,
)
from ..protocol.server_events import ErrorEvent

__all__ = [
    "error_from_body",
    "error_from_event",
    "error_from_sdk",
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


def _certificate_failure(exc: BaseException) -> CertificateError | None:
    """A CertificateError when ``exc`` or its causes hold a failed certificate verification.

    httpx wraps the ``ssl.SSLCertVerificationError`` in its ConnectError (and the Cerebras SDK
    wraps that again); websockets raises it as is.
    """
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, ssl.SSLCertVerificationError):
            reason = cur.verify_message or cur.reason or "verification failed"
            return CertificateError(f"TLS certificate verification failed: {reason}")
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


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
        raise _certificate_failure(exc) or ConnectError(
            f"could not connect: {type(exc).__name__}"
        ) from exc
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise ConnectionLost(f"connection lost during {phase}: {type(exc).__name__}") from exc
    except httpx.HTTPError as exc:
        raise ConnectionLost(f"HTTP failure during {phase}: {type(exc).__name__}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise _certificate_failure(exc) or ConnectError("TLS failure") from exc
    except TimeoutError as exc:
        if phase == "connect":
            raise ConnectTimeout("connect timed out") from exc
        raise ReadTimeout(f"no data within the read timeout during {phase}") from exc
    except (ConnectionError, OSError) as exc:
        if phase == "connect":
            raise ConnectError(f"could not connect: {type(exc).__name__}") from exc
        raise ConnectionLost(f"connection lost during {phase}: {type(exc).__name__}") from exc
    except Exception as exc:
        mapped = error_from_sdk(exc, phase)
        if mapped is None:
            raise
        raise mapped from exc


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def error_from_sdk(exc: BaseException, phase: str = "stream") -> ResponsesFastError | None:
    """A ``cerebras-cloud-sdk`` exception as a responses_fast error (None: not one of its).

    The SDK is imported only when one of its exceptions is at hand, so other transports never
    pay for importing it. Status errors keep the SDK's status choice (a body ``status_code``
    overrides the HTTP status, as for mid-stream error chunks) and the retry-after headers.
    """
    if not type(exc).__module__.startswith("cerebras."):
        return None
    from cerebras.cloud import sdk

    if isinstance(exc, sdk.APIStatusError):
        body = exc.body
        message, code, etype, param = exc.message, None, None, None
        if isinstance(body, Mapping):
            message = _str(body.get("message")) or message
            code, etype = _str(body.get("code")), _str(body.get("type"))
            param = _str(body.get("param"))
        headers = exc.response.headers
        return api_error_for_status(
            exc.status_code,
            message,
            code=code,
            type=etype,
            param=param,
            request_id=headers.get("x-request-id"),
            retry_after=parse_retry_after(headers),
        )
    if isinstance(exc, sdk.APITimeoutError):
        if phase == "connect":
            return ConnectTimeout("connect timed out")
        return ReadTimeout(f"timed out during {phase}")
    if isinstance(exc, sdk.APIConnectionError):
        cause = exc.__cause__
        certificate = _certificate_failure(exc)
        if certificate is not None:
            return certificate
        if phase == "connect" or isinstance(cause, httpx.ConnectError):
            return ConnectError(f"could not connect: {type(cause).__name__}")
        return ConnectionLost(f"connection lost during {phase}: {type(cause).__name__}")
    if isinstance(exc, sdk.APIResponseValidationError):
        return RemoteProtocolError(f"unexpected response from the server ({exc.status_code})")
    if isinstance(exc, sdk.APIError):
        return APIError(" ".join(str(exc.message).split()) or "API error")
    return None
