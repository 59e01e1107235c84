"""The only place where third-party exceptions become responses_fast errors.

Also the checks that name what went wrong for a user: a malformed base URL (ConfigurationError at
once), an unreachable one (the URL in the message, never a key: keys travel in headers, and a URL's
userinfo and query are dropped before it is shown), and an HTML page where an event stream or a
WebSocket upgrade was expected (a captive portal or a wrong base URL: not retried).
"""

from __future__ import annotations

import contextlib
import email.utils
import ssl
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx
import orjson
import websockets.exceptions

from ..errors import (
    APIError,
    CertificateError,
    ConfigurationError,
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
    "check_base_url",
    "error_from_body",
    "error_from_event",
    "error_from_sdk",
    "map_transport_errors",
    "parse_retry_after",
    "safe_url",
    "translate",
    "unexpected_content",
]

_SCHEMES = ("http", "https", "ws", "wss")
#: Media types that mean "a web page answered": a captive portal, a proxy's login page, a docs site.
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def check_base_url(base_url: str, schemes: tuple[str, ...] = _SCHEMES) -> SplitResult:
    """``base_url`` split, or ConfigurationError naming what is wrong with it (a usage error).

    A URL without a scheme (``localhost:8000/v1``), with an unknown scheme, without a host or
    with a bad port would otherwise be retried as an unreachable server.
    """
    shown = safe_url(base_url)
    if not isinstance(base_url, str) or not base_url.strip():
        raise ConfigurationError("the base URL is empty")
    if base_url != base_url.strip() or any(c.isspace() for c in base_url):
        raise ConfigurationError(f"the base URL {shown!r} contains whitespace")
    try:
        parts = urlsplit(base_url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise ConfigurationError(f"malformed base URL {shown!r}: {exc}") from None
    if parts.scheme not in schemes:
        hint = f" (did you mean 'http://{base_url}'?)" if "://" not in base_url else ""
        raise ConfigurationError(
            f"malformed base URL {shown!r}: the scheme must be one of {', '.join(schemes)}{hint}"
        )
    if not parts.hostname:
        raise ConfigurationError(f"malformed base URL {shown!r}: no host")
    return parts


def safe_url(url: str | None) -> str:
    """``url`` fit for a message: no userinfo (``user:pass@``), no query, no fragment."""
    if not url:
        return "?"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return url.split("?", 1)[0].rsplit("@", 1)[-1]
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def unexpected_content(
    status: int, content_type: str | None, url: str | None, expected: str
) -> RemoteProtocolError | None:
    """A RemoteProtocolError when a web page answered where ``expected`` was due, else None.

    Not retried (the same page answers every time) and named as such, rather than as a dropped
    connection or an ``HTTP 200`` API error.
    """
    media = _media_type(content_type)
    if media not in _HTML_TYPES:
        return None
    return RemoteProtocolError(
        f"{safe_url(url)} answered HTTP {status} with a web page ({media}) instead of {expected}:"
        " a captive portal, a proxy's login page or a wrong base URL?"
    )


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


def error_from_body(status: int, body: bytes, headers: Mapping[str, Any] | None = None) -> APIError:
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
def map_transport_errors(phase: str = "stream", url: str | None = None) -> Iterator[None]:
    """Translate websockets/httpx/OS errors raised inside the block (see :func:`translate`).

    For set-up phases; a receive loop catches around the whole loop and calls ``translate``
    instead (no context manager per event).
    """
    try:
        yield
    except ResponsesFastError:
        raise
    except Exception as exc:
        mapped = translate(exc, phase, url)
        if mapped is None:
            raise
        raise mapped from exc


def _reason(exc: BaseException) -> str:
    """A short cause for a connect failure: the OS reason when there is one, else the type."""
    cur: BaseException | None = exc
    seen: set[int] = set()
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and cur.strerror:
            return str(cur.strerror)
        cur = cur.__cause__ or cur.__context__
    return type(exc).__name__


def translate(
    exc: BaseException, phase: str = "stream", url: str | None = None
) -> ResponsesFastError | None:
    """The responses_fast error for a websockets/httpx/OS/SDK exception (None: not one of those).

    ``url`` (the endpoint) is named in connection failures, without userinfo or query.
    """
    if isinstance(exc, ResponsesFastError):
        return exc
    where = f" to {safe_url(url)}" if url else ""
    if isinstance(exc, websockets.exceptions.InvalidStatus):
        resp = exc.response
        return refused_upgrade(resp.status_code, resp.headers, bytes(resp.body or b""), url)
    if type(exc).__module__.startswith("picows"):
        return _from_picows(exc, phase, url)
    if isinstance(exc, websockets.exceptions.ConnectionClosed):
        code = exc.rcvd.code if exc.rcvd is not None else None
        return ConnectionLost(f"websocket closed during {phase} (code {code})", close_code=code)
    if isinstance(exc, websockets.exceptions.InvalidURI):
        return ConfigurationError(f"malformed WebSocket URL {safe_url(url)!r}")
    if isinstance(exc, websockets.exceptions.InvalidHandshake):
        return ConnectError(f"websocket handshake{where} failed: {type(exc).__name__}")
    if isinstance(exc, httpx.ConnectTimeout):
        return ConnectTimeout(f"connect{where} timed out during {phase}")
    if isinstance(exc, httpx.ReadTimeout):
        return ReadTimeout(f"read timed out during {phase}")
    if isinstance(exc, httpx.ConnectError):
        return _certificate_failure(exc) or ConnectError(
            f"could not connect{where}: {_reason(exc)}"
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return ConnectionLost(f"connection lost during {phase}: {type(exc).__name__}")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ConfigurationError(f"malformed URL {safe_url(url)!r}: {exc}")
    if isinstance(exc, httpx.HTTPError):
        return ConnectionLost(f"HTTP failure during {phase}: {type(exc).__name__}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _certificate_failure(exc) or ConnectError("TLS failure")
    if isinstance(exc, TimeoutError):
        if phase == "connect":
            return ConnectTimeout(f"connect{where} timed out")
        return ReadTimeout(f"no data within the read timeout during {phase}")
    if isinstance(exc, ConnectionError | OSError):
        if phase == "connect":
            return ConnectError(f"could not connect{where}: {_reason(exc)}")
        return ConnectionLost(f"connection lost during {phase}: {type(exc).__name__}")
    if isinstance(exc, Exception):
        return error_from_sdk(exc, phase, url)
    return None


def refused_upgrade(
    status: int, headers: Mapping[str, Any], body: bytes, url: str | None
) -> ResponsesFastError:
    """A non-101 answer to the WebSocket upgrade: a web page, another 2xx/3xx, or an API error."""
    content_type = headers.get("Content-Type") or headers.get("content-type")
    page = unexpected_content(status, content_type, url, "a WebSocket upgrade")
    if page is not None:
        return page
    if status < 400:
        return RemoteProtocolError(
            f"{safe_url(url)} answered HTTP {status} "
            f"({_media_type(content_type) or 'no content type'}) instead of a WebSocket "
            "upgrade: is the base URL right?",
            raw=body,
        )
    return error_from_body(status, body, dict(headers))


def _from_picows(exc: BaseException, phase: str, url: str | None) -> ResponsesFastError | None:
    """picows' handshake errors (the optional ``fast`` backend of the socket)."""
    from picows import WSError, WSHandshakeError

    if isinstance(exc, WSHandshakeError):
        resp = exc.response
        if resp is not None and resp.status is not None:
            return refused_upgrade(int(resp.status), resp.headers, bytes(resp.body or b""), url)
        where = f" to {safe_url(url)}" if url else ""
        return ConnectError(f"websocket handshake{where} failed: {exc}")
    if isinstance(exc, WSError):
        return ConnectionLost(f"websocket failure during {phase}: {exc}")
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def error_from_sdk(
    exc: BaseException, phase: str = "stream", url: str | None = None
) -> ResponsesFastError | None:
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
            where = f" to {safe_url(url)}" if url else ""
            return ConnectError(f"could not connect{where}: {_reason(cause or exc)}")
        return ConnectionLost(f"connection lost during {phase}: {type(cause).__name__}")
    if isinstance(exc, sdk.APIResponseValidationError):
        return RemoteProtocolError(f"unexpected response from the server ({exc.status_code})")
    if isinstance(exc, sdk.APIError):
        return APIError(" ".join(str(exc.message).split()) or "API error")
    return None
