"""Remote compaction (issue 13 point 4): when a request would not fit, the session asks the
provider's ``POST /responses/compact`` for a shorter window and continues from it; a provider
without the endpoint gets local trimming instead, and is not asked again.

Played by a raw HTTP server over loopback (raw_responses_server.py) until the local server's
compact endpoint is merged.
"""

from __future__ import annotations

from typing import Any

import pytest
from raw_responses_server import raw_server, response_events

from responses_fast.cache import BudgetPolicy
from responses_fast.session import AgentSession, ContextCompacted, ContextTrimmed, RemoteCompaction
from responses_fast.tools import tool

pytestmark = pytest.mark.anyio


@tool
def dump(n: int) -> str:
    """Return a large block of text."""
    return f"block {n}: " + ("lorem ipsum dolor sit amet " * 120)


def call(cid: str, n: int) -> dict[str, Any]:
    return {"type": "function_call", "id": f"fc_{cid}", "call_id": cid, "name": "dump",
            "arguments": f'{{"n":{n}}}', "status": "completed"}  # fmt: skip


def answer(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}  # fmt: skip


SCRIPT = [response_events(f"resp_{i}", [call(f"c{i}", i)]) for i in range(6)] + [
    response_events("resp_end", [answer("summarised")])
]

COMPACTED = {
    "id": "resp_cmp",
    "object": "response.compaction",
    "created_at": 0,
    "output": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "dump"}]},
        {"type": "compaction", "id": "cmp_1", "encrypted_content": "opaque-summary"},
    ],
    "usage": {"input_tokens": 900, "output_tokens": 20, "total_tokens": 920},
}


async def _run(server: Any) -> tuple[Any, list[Any], AgentSession]:
    seen: list[Any] = []
    session = AgentSession(
        "gpt-5.1", tools=[dump], base_url=server.url, transport="http", api_key="sk-compact",
        policy=None, context_window=4000,
        budget_policy=BudgetPolicy(keep_recent_turns=2, correction="none"),
        compaction=RemoteCompaction(),
    )  # fmt: skip
    async with session, session.stream("dump") as events:
        async for e in events:
            if isinstance(e, ContextCompacted | ContextTrimmed):
                seen.append(e)
    # The raw server reports a fixed usage, so no correction from it (correction="none").
    return events.result, seen, session


async def test_the_provider_compacts_and_the_next_request_starts_from_its_window() -> None:
    with raw_server(SCRIPT) as server:
        server.compact = COMPACTED
        result, seen, _ = await _run(server)
    assert result.final_text == "summarised"
    compactions = [e for e in seen if isinstance(e, ContextCompacted)]
    assert compactions, "a 4000-token window cannot hold six 700-token outputs"
    assert compactions[0].items_after == 2 < compactions[0].items_before
    first = server.compact_requests[0]
    assert first["model"] == "gpt-5.1"
    assert [i["type"] for i in first["input"]][:2] == ["message", "function_call"]
    # The request right after: the compacted window, then only what came since.
    after = next(r for r in server.requests if r["input"][1:2] == COMPACTED["output"][1:])
    assert after["input"][:2] == COMPACTED["output"]
    assert "previous_response_id" not in after or after["previous_response_id"] is None


async def test_without_the_endpoint_it_trims_locally_and_asks_only_once() -> None:
    with raw_server(SCRIPT) as server:  # compact is None: the raw server answers 404
        result, seen, session = await _run(server)
    assert result.final_text == "summarised"
    assert any(isinstance(e, ContextTrimmed) for e in seen)
    assert not any(isinstance(e, ContextCompacted) for e in seen)
    assert len(server.compact_requests) == 1
    assert session._compactor is not None and not session._compactor.supported
    assert "sk-compact" not in repr(session._compactor)


async def test_chat_transports_never_compact_remotely() -> None:
    session = AgentSession(
        "gpt-5.1", base_url="http://127.0.0.1:9/v1", transport="chat", api_key="k",
        compaction=RemoteCompaction(),
    )  # fmt: skip
    assert session._compactor is None
