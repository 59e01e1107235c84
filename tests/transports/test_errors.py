"""The one error translation table (transports._errors) and the transport selection rule."""

from __future__ import annotations

from typing import Any

import cerebras.cloud.sdk as csdk
import httpx
import orjson
import pytest

from responses_fast.config import Timeouts
from responses_fast.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConnectError,
    ConnectionLost,
    ConnectTimeout,
    RateLimitError,
    ReadTimeout,
    RemoteProtocolError,
    ServerError,
)
from responses_fast.transports._errors import (
    error_from_body,
    error_from_sdk,
    map_transport_errors,
    parse_retry_after,
)
from responses_fast.transports.base import RequestSettings
from responses_fast.transports.factory import choose_transport, make_transport

# (status, body code) -> class
TABLE: list[tuple[int, str | None, type[APIError]]] = [
    (400, "invalid_request_error", BadRequestError),
    (400, "previous_response_not_found", BadRequestError),
    (401, "invalid_api_key", AuthenticationError),
    (403, None, AuthenticationError),
    (404, "model_not_found", BadRequestError),
    (409, None, BadRequestError),
    (422, None, BadRequestError),
    (429, "rate_limit_exceeded", RateLimitError),
    (429, None, RateLimitError),
    (200, "rate_limit_exceeded", RateLimitError),  # the code alone is enough
    (500, "server_error", ServerError),
    (502, None, ServerError),
    (503, "server_is_overloaded", ServerError),
]


def body(code: str | None, message: str = "nope") -> bytes:
    return orjson.dumps({"error": {"message": message, "type": "t", "param": None, "code": code}})


@pytest.mark.parametrize(("status", "code", "cls"), TABLE)
def test_http_error_body_table(status: int, code: str | None, cls: type[APIError]) -> None:
    exc = error_from_body(status, body(code), {"x-request-id": "req_1"})
    assert type(exc) is cls
    assert exc.status == status
    assert exc.code == code
    assert exc.request_id == "req_1"
    assert exc.message == "nope"


@pytest.mark.parametrize(("status", "code", "cls"), TABLE)
def test_cerebras_sdk_status_errors_use_the_same_table(
    status: int, code: str | None, cls: type[APIError]
) -> None:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(
        status, request=request, headers={"retry-after-ms": "250", "x-request-id": "req_2"}
    )
    sdk_exc = csdk.APIStatusError("nope", response=response, body=orjson.loads(body(code)))
    exc = error_from_sdk(sdk_exc)
    assert type(exc) is cls
    assert isinstance(exc, APIError)
    assert exc.status == status and exc.code == code and exc.request_id == "req_2"
    if isinstance(exc, RateLimitError):
        assert exc.retry_after == pytest.approx(0.25)


def test_cerebras_mid_stream_error_chunk_status_overrides_http_200() -> None:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    chunk = {"error": {"message": "slow down", "code": "too_many"}, "status_code": 429}
    sdk_exc = csdk.RateLimitError(
        "slow down", response=httpx.Response(200, request=request), body=chunk
    )
    exc = error_from_sdk(sdk_exc)
    assert isinstance(exc, RateLimitError) and exc.status == 429 and exc.message == "slow down"


def test_cerebras_connection_errors() -> None:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    timeout = csdk.APITimeoutError(request)
    assert isinstance(error_from_sdk(timeout, "connect"), ConnectTimeout)
    assert isinstance(error_from_sdk(timeout, "stream"), ReadTimeout)
    refused = csdk.APIConnectionError(request=request)
    refused.__cause__ = httpx.ConnectError("refused")
    assert isinstance(error_from_sdk(refused, "send"), ConnectError)
    dropped = csdk.APIConnectionError(request=request)
    dropped.__cause__ = httpx.RemoteProtocolError("peer closed")
    assert isinstance(error_from_sdk(dropped, "send"), ConnectionLost)
    invalid = csdk.APIResponseValidationError(httpx.Response(200, request=request), None)
    assert isinstance(error_from_sdk(invalid), RemoteProtocolError)
    assert error_from_sdk(ValueError("not ours")) is None


def test_map_transport_errors_translates_and_chains() -> None:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    sdk_exc = csdk.InternalServerError(
        "boom", response=httpx.Response(500, request=request), body=None
    )
    with pytest.raises(ServerError) as info, map_transport_errors("send"):
        raise sdk_exc
    assert info.value.__cause__ is sdk_exc
    with pytest.raises(ConnectionLost), map_transport_errors("stream"):
        raise httpx.ReadError("reset")
    with pytest.raises(ReadTimeout), map_transport_errors("stream"):
        raise httpx.ReadTimeout("slow")
    with pytest.raises(KeyError), map_transport_errors("stream"):
        raise KeyError("a bug of ours stays a bug")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "50"}, 0.05),
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after": "0.5", "retry-after-ms": "120"}, 0.12),
        ({"retry-after": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_parse_retry_after(headers: dict[str, Any] | None, expected: float | None) -> None:
    assert parse_retry_after(headers) == (pytest.approx(expected) if expected else None)


def test_error_body_that_is_not_json() -> None:
    exc = error_from_body(502, b"<html>bad gateway</html>")
    assert type(exc) is ServerError and exc.message == "HTTP 502"


# ------------------------------------------------------------------------------ selection rule


@pytest.mark.parametrize(
    ("kind", "base_url", "env", "expected"),
    [
        ("websocket", "https://api.cerebras.ai/v1", {}, "websocket"),  # explicit name wins
        ("http", None, {}, "http"),
        ("sse", None, {}, "http"),
        ("chat", None, {}, "chat"),
        ("cerebras", None, {}, "cerebras"),
        ("auto", "https://api.openai.com/v1", {}, "websocket"),
        ("auto", "http://127.0.0.1:8765/v1", {}, "websocket"),
        ("auto", "https://api.cerebras.ai/v1", {}, "cerebras"),
        ("auto", "https://api.cerebras.ai", {}, "cerebras"),
        ("auto", "http://localhost:8000/v1/chat/completions", {}, "chat"),
        ("auto", "https://api.groq.com/openai/v1", {}, "chat"),
        ("auto", "http://localhost:11434/v1", {}, "chat"),
        ("auto", "https://api.openai.com/v1", {"CEREBRAS_API_KEY": "csk-x"}, "cerebras"),
        ("auto", None, {"CEREBRAS_API_KEY": "csk-x"}, "cerebras"),
        (
            "auto",
            "https://api.openai.com/v1",
            {"CEREBRAS_API_KEY": "csk-x", "OPENAI_API_KEY": "sk-x"},
            "websocket",
        ),
        ("auto", "http://127.0.0.1:8765/v1", {"CEREBRAS_API_KEY": "csk-x"}, "websocket"),
    ],
)
def test_choose_transport(
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    base_url: str | None,
    env: dict[str, str],
    expected: str,
) -> None:
    for name in ("CEREBRAS_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert choose_transport(kind, base_url) == expected


def test_unknown_transport_name() -> None:
    with pytest.raises(ConfigurationError, match="unknown transport 'carrier-pigeon'"):
        choose_transport("carrier-pigeon", None)


def test_cerebras_without_a_key_names_the_variable_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CEREBRAS_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-secret-value")
    with pytest.raises(ConfigurationError) as info:
        make_transport(
            "cerebras",
            base_url="https://api.openai.com/v1",
            api_key="sk-openai-secret-value",  # the session's OpenAI default is not a Cerebras key
            timeouts=Timeouts(),
            settings=RequestSettings(model="gpt-oss-120b"),
            warmup=False,
        )
    assert "CEREBRAS_API_KEY" in str(info.value)
    assert "secret" not in str(info.value)


def test_cerebras_key_and_url_come_from_its_own_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CEREBRAS_API_KEY", "csk-abcdefghijkl")
    monkeypatch.setenv("CEREBRAS_BASE_URL", "http://127.0.0.1:9/")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    transport = make_transport(
        "auto",
        base_url="https://api.openai.com/v1",
        api_key=None,
        timeouts=Timeouts(),
        settings=RequestSettings(model="gpt-oss-120b"),
        warmup=False,
    )
    assert transport.name == "cerebras"
    assert "http://127.0.0.1:9" in repr(transport)
    assert "abcdefghijkl" not in repr(transport)  # the key is masked
