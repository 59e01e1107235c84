"""The API key never appears in logs, exception messages, reprs or reports (issue 8).

Every available transport runs against a local server that requires a known fake key, with all
logging captured at DEBUG (root, httpx, httpcore, websockets, uvicorn, responses_fast), through a
fault proxy so that retry paths log too; then a run with a wrong key fails with 401. The captured
text, the exceptions (messages, reprs, formatted tracebacks with their causes) and the reprs of
sessions, transports and results must not contain the key nor its tail.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from typing import Any

import pytest

from responses_fast.config import RetryPolicy, Timeouts
from responses_fast.errors import AuthenticationError, ResponsesFastError, RetriesExhausted
from responses_fast.session import AgentSession
from responses_fast.testing import CountingTools, FaultProxy, ProxyFault, scripted_server
from responses_fast.transports.factory import TRANSPORT_NAMES

pytestmark = pytest.mark.anyio

KEY = "sk-SECRETreliability-7f3a9c1e5b2d4068aa11"
WRONG_KEY = "sk-WRONGreliability-0c9e8d7f6a5b4c3d2e1f"
SECRETS = [KEY, WRONG_KEY, KEY[-12:], WRONG_KEY[-12:], "SECRETreliability", "WRONGreliability"]
LOGGERS = ["", "httpx", "httpcore", "websockets", "uvicorn", "uvicorn.error", "responses_fast"]
TRANSPORTS = [t for t in ("websocket", "http", "chat", "cerebras") if t in TRANSPORT_NAMES]
FAST = RetryPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=3)

SCRIPT: list[Any] = [
    [{"type": "function_call", "name": "write_file",
      "arguments": {"path": "a.txt", "text": "A"}}],
    ["Done."],
]


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))  # formats exc_info tracebacks too
        self.texts.append(repr(record.__dict__))


@pytest.fixture
def capture() -> Iterator[Capture]:
    handler = Capture()
    saved = {name: logging.getLogger(name).level for name in LOGGERS}
    root = logging.getLogger()
    root.addHandler(handler)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def exception_texts(exc: BaseException) -> list[str]:
    out = ["".join(traceback.format_exception(exc)), repr(exc), str(exc)]
    seen: BaseException | None = exc
    while seen is not None:
        out += [repr(seen), str(seen), repr(getattr(seen, "__dict__", {}))]
        seen = seen.__cause__ or seen.__context__
    return out


def assert_clean(texts: list[str]) -> None:
    joined = "\n".join(texts)
    for secret in SECRETS:
        assert secret not in joined, f"{secret!r} leaked"


def base_url_for(server: Any, proxy: FaultProxy | None, transport: str) -> str:
    if proxy is not None:
        return proxy.base_url
    return str(server.base_url)


def make_session(base_url: str, transport: str, key: str, tools: CountingTools) -> AgentSession:
    return AgentSession(
        "scripted", tools=tools.tools(), base_url=base_url, api_key=key, transport=transport,
        retry=FAST, timeouts=Timeouts(connect=2, read=2, close=0.5),
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_key_never_appears_in_logs_errors_or_reprs(
    transport: str, capture: Capture
) -> None:
    texts: list[str] = []
    tools = CountingTools()
    async with scripted_server(SCRIPT, api_key=KEY, log_level="debug") as server, FaultProxy(
        server.port
    ) as proxy:
        # One connection dropped mid-stream, so the retry and reconnect paths log as well.
        proxy.plan(ProxyFault.drop(after=b'"tool_calls"' if transport in ("chat", "cerebras")
                                   else b'"type":"response.output_item.done"'))
        async with make_session(proxy.base_url, transport, KEY, tools) as session:
            texts += [repr(session), str(session), repr(session.transport)]
            result = await session.run("write a")
            texts += [repr(result), repr(session.turns), repr(session.items)]
            texts += [repr(session.transport.stats), repr(session.usage)]
        assert result.final_text == "Done."

        # A wrong key: 401, not retried, a clear error without the key.
        bad = make_session(server.base_url, transport, WRONG_KEY, tools)
        texts += [repr(bad), repr(bad.transport)]
        with pytest.raises(ResponsesFastError) as info:
            async with bad as session:
                await session.run("write a")
    err = info.value
    assert isinstance(err, AuthenticationError | RetriesExhausted), repr(err)
    if isinstance(err, RetriesExhausted):
        assert isinstance(err.__cause__, AuthenticationError)
    texts += exception_texts(err)
    texts += capture.texts
    assert any("responses_fast" in t for t in capture.texts), "nothing was captured"
    assert_clean(texts)


def test_masked_key_in_config_reprs() -> None:
    from responses_fast.config import mask_secret

    assert KEY not in mask_secret(KEY)
    assert KEY[-12:] not in mask_secret(KEY)
