"""TLS end to end: the local server with a throwaway CA's certificate, every transport.

With the CA (``ssl_context=``) a scripted tool loop runs as over plain TCP; without it the first
turn fails at once with CertificateError (a ConnectError), never retried and never hanging.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest

from responses_fast.config import RetryPolicy
from responses_fast.errors import CertificateError, ConnectError
from responses_fast.server import LocalServer, serve
from responses_fast.session import AgentSession
from responses_fast.session.events import TurnStarted
from responses_fast.tools.spec import Tool, tool
from responses_fast.transports._errors import map_transport_errors
from responses_fast.transports.retry import classify

trustme = pytest.importorskip("trustme")
pytestmark = pytest.mark.anyio

KINDS = ["websocket", "http", "chat", "cerebras"]
ENDPOINT = {"websocket": "ws", "http": "http", "chat": "chat", "cerebras": "chat"}
SCRIPT = [
    [{"type": "function_call", "name": "read_file", "arguments": {"path": "a.py"}}],
    [{"type": "message", "text": "done"}],
]
FAST_RETRY = RetryPolicy(initial_delay=0.01, max_attempts=2)


class Recorder:
    """A read_file tool that logs what it read."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []

    def tools(self) -> list[Tool]:
        @tool
        async def read_file(path: str) -> str:
            """Read a file."""
            self.log.append(("read_file", path))
            return f"contents of {path}"

        return [read_file]


@pytest.fixture(scope="module")
def ca() -> Any:
    return trustme.CA()


@pytest.fixture(scope="module")
def client_ctx(ca: Any) -> ssl.SSLContext:
    """A verifying client context that trusts the throwaway CA (and nothing else)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificate and host name
    ca.configure_trust(ctx)
    return ctx


@pytest.fixture(scope="module")
def cert_files(ca: Any) -> Iterator[tuple[str, str]]:
    cert = ca.issue_cert("127.0.0.1")
    with cert.cert_chain_pems[0].tempfile() as crt, cert.private_key_pem.tempfile() as key:
        yield crt, key


@pytest.fixture
async def server(cert_files: tuple[str, str]) -> AsyncIterator[LocalServer]:
    crt, key = cert_files
    async with serve(SCRIPT, tokens_per_second=None, ssl_certfile=crt, ssl_keyfile=key) as srv:
        yield srv


def session(
    server: LocalServer, kind: str, rec: Recorder, ctx: ssl.SSLContext | None
) -> AgentSession:
    return AgentSession(
        model="scripted",
        transport=kind,
        base_url=server.base_url,
        api_key="sk-test",
        tools=rec.tools(),
        retry=FAST_RETRY,
        ssl_context=ctx,
    )


def test_urls_switch_to_https_and_wss(cert_files: tuple[str, str]) -> None:
    crt, key = cert_files
    srv = LocalServer(ssl_certfile=crt, ssl_keyfile=key)
    srv.port = 1234
    assert srv.tls
    assert srv.base_url == "https://127.0.0.1:1234/v1"
    assert srv.root_url == "https://127.0.0.1:1234"
    assert srv.ws_url == "wss://127.0.0.1:1234/v1/responses"
    plain = LocalServer()
    plain.port = 1234
    assert not plain.tls
    assert plain.base_url == "http://127.0.0.1:1234/v1"
    assert plain.ws_url == "ws://127.0.0.1:1234/v1/responses"
    with pytest.raises(ValueError, match="both"):
        LocalServer(ssl_certfile=crt)


@pytest.mark.parametrize("kind", KINDS)
async def test_tool_loop_over_tls(
    server: LocalServer, client_ctx: ssl.SSLContext, kind: str
) -> None:
    rec = Recorder()
    async with session(server, kind, rec, client_ctx) as s:
        assert s.transport.name == kind
        result = await s.run("Fix a.py")
    assert result.status == "completed"
    assert result.final_text == "done"
    assert rec.log == [("read_file", "a.py")]
    assert all(t.attempts == 1 for t in result.turns)
    done = [r for r in server.requests if r.endpoint == ENDPOINT[kind] and r.generate]
    assert [r.status for r in done] == ["completed"] * 2


@pytest.mark.parametrize("kind", KINDS)
async def test_untrusted_certificate_fails_at_once(server: LocalServer, kind: str) -> None:
    """The system CAs do not know the throwaway CA: a CertificateError, one attempt only."""
    rec = Recorder()
    attempts = 0
    with anyio.fail_after(10):  # a failure, not a hang
        async with session(server, kind, rec, None) as s:
            with pytest.raises(CertificateError, match="TLS certificate verification failed"):
                async with s.stream("Fix a.py") as events:
                    async for event in events:
                        attempts += isinstance(event, TurnStarted)
    assert attempts == 1, "a certificate failure is not retried"
    assert rec.log == []
    assert not [r for r in server.requests if r.generate]


def test_certificate_error_is_a_connect_error_and_not_retried() -> None:
    exc = CertificateError("TLS certificate verification failed: x")
    assert isinstance(exc, ConnectError)
    assert not classify(exc, RetryPolicy()).retry
    assert classify(ConnectError("refused"), RetryPolicy()).retry


def test_websockets_raw_ssl_error_is_mapped() -> None:
    raw = ssl.SSLCertVerificationError(1, "certificate verify failed")
    raw.verify_message = "self-signed certificate"
    with pytest.raises(CertificateError, match="self-signed certificate"):
        with map_transport_errors("connect"):
            raise raw
