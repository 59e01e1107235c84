"""The whole exception tree of responses_fast.

::

    ResponsesFastError
    ├── ConfigurationError (+ValueError)     bad argument, unknown transport, no key
    ├── UsageError (+RuntimeError)           misuse: session closed, run() while a run is active
    ├── ProtocolError
    │   ├── LocalProtocolError               we were about to send what the protocol forbids
    │   └── RemoteProtocolError              the peer sent what cannot be parsed (.raw)
    ├── TransportError                       the I/O failed
    │   ├── ConnectError
    │   │   └── CertificateError             TLS certificate verification failed (not retried)
    │   ├── ConnectionLost                   dropped mid-stream
    │   └── TransportTimeout (+TimeoutError)
    │       ├── ConnectTimeout
    │       └── ReadTimeout
    ├── APIError                             the service said no: .status, .code, .request_id
    │   ├── AuthenticationError              401/403
    │   ├── RateLimitError                   429; .retry_after
    │   ├── BadRequestError                  400/404/409/422 (incl. previous_response_not_found)
    │   └── ServerError                      5xx and server error events
    └── RunError
        ├── RetriesExhausted                 .attempts; __cause__ is the last error
        └── ContextBudgetExceeded

Messages are one line and never contain a secret. Errors carry attributes, not strings to parse.
Third-party exceptions are translated in ``responses_fast.transports._errors`` only.
"""

from __future__ import annotations

import builtins

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "CertificateError",
    "ConfigurationError",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionLost",
    "ContextBudgetExceeded",
    "LocalProtocolError",
    "ProtocolError",
    "RateLimitError",
    "ReadTimeout",
    "RemoteProtocolError",
    "ResponsesFastError",
    "RetriesExhausted",
    "RunError",
    "ServerError",
    "TransportError",
    "TransportTimeout",
    "UsageError",
    "api_error_for_status",
]

_RAW_LIMIT = 200


class ResponsesFastError(Exception):
    """Base class of every error raised by responses_fast."""


class ConfigurationError(ResponsesFastError, ValueError):
    """A bad argument: unknown transport, missing API key (names the env var, never the value)."""


class UsageError(ResponsesFastError, RuntimeError):
    """The API was misused: a closed session, a second concurrent run, ..."""


class ProtocolError(ResponsesFastError):
    """A protocol rule was broken."""


class LocalProtocolError(ProtocolError):
    """We were about to send something the protocol forbids (our bug or the caller's)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something that cannot be parsed or is impossible in the protocol."""

    def __init__(self, message: str, *, raw: bytes | str | None = None) -> None:
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "replace")
        self.raw = raw[:_RAW_LIMIT] if raw is not None else None
        super().__init__(message)


class TransportError(ResponsesFastError):
    """The network I/O failed."""


class ConnectError(TransportError):
    """Could not open a connection."""


class CertificateError(ConnectError):
    """The server's TLS certificate failed verification (untrusted CA, wrong host, expired).

    Not retried: the same certificate fails the same way. Pass ``ssl_context=`` to trust a
    private CA.
    """


class ConnectionLost(TransportError):
    """The connection dropped before the response finished."""

    def __init__(self, message: str = "connection lost", *, close_code: int | None = None) -> None:
        self.close_code = close_code
        super().__init__(message)


class TransportTimeout(TransportError, TimeoutError):
    """A phase of the I/O took longer than its timeout."""


class ConnectTimeout(TransportTimeout):
    """Opening the connection timed out."""


class ReadTimeout(TransportTimeout):
    """No data arrived within the read timeout (a stalled stream)."""


class APIError(ResponsesFastError):
    """The service answered with an error.

    ``retry_after`` is the server's hint in seconds (``retry-after``/``retry-after-ms``), if it
    sent one; it matters for 429 and 5xx.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        type: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.type = type
        self.param = param
        self.request_id = request_id
        self.retry_after = retry_after
        super().__init__(message)

    def __str__(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(str(self.status))
        if self.code:
            parts.append(self.code)
        prefix = " ".join(parts)
        text = " ".join(self.message.split())  # one line
        return f"{prefix}: {text}" if prefix else text


class AuthenticationError(APIError):
    """401/403: the key is missing, wrong or not allowed."""


class RateLimitError(APIError):
    """429: slow down; ``retry_after`` is the server's hint in seconds, if any."""


class BadRequestError(APIError):
    """400/404/409/422: the request itself is wrong (``previous_response_not_found`` included)."""


class ServerError(APIError):
    """5xx or a server-side failure event; ``retry_after`` is the server's hint (503), if any."""


class RunError(ResponsesFastError):
    """A run could not complete."""


class RetriesExhausted(RunError):
    """Retries were exhausted; ``__cause__`` is the last error."""

    def __init__(self, message: str, *, attempts: int) -> None:
        self.attempts = attempts
        super().__init__(message)


class ContextBudgetExceeded(RunError):
    """The conversation does not fit the model's context even after the budget policy ran."""


def api_error_for_status(
    status: int | None,
    message: str,
    *,
    code: str | None = None,
    type: str | None = None,
    param: str | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> APIError:
    """Build the APIError subclass that matches an HTTP status (the one status-to-class table)."""
    cls: builtins.type[APIError] = APIError  # `type` is shadowed by the parameter
    if status == 429 or code == "rate_limit_exceeded":
        cls = RateLimitError
    elif status in (401, 403):
        cls = AuthenticationError
    elif status is not None and status >= 500:
        cls = ServerError
    elif status is not None and 400 <= status < 500:
        cls = BadRequestError
    elif code == "server_error":
        cls = ServerError
    return cls(
        message,
        status=status,
        code=code,
        type=type,
        param=param,
        request_id=request_id,
        retry_after=retry_after,
    )
