"""Sub-agents (issue 14, feature 3): an Agent runs alone or as another session's tool."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from pydantic import BaseModel

from responses_fast import Agent, AgentSession, RunContext, tool
from responses_fast.protocol.items import FunctionCallOutput
from responses_fast.testing import scripted_server

pytestmark = pytest.mark.anyio


class Rendezvous:
    """Two parties meet: each waits until both arrived. Run one after the other, the first would
    wait forever (the deadlock guard then turns it into an error output the test rejects)."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.arrived: list[str] = []
        self.all_here = anyio.Event()


@tool
async def meet(ctx: RunContext[Rendezvous], who: str) -> str:
    """Wait for the other agents."""
    ctx.deps.arrived.append(who)
    if len(ctx.deps.arrived) == ctx.deps.parties:
        ctx.deps.all_here.set()
    with anyio.fail_after(30):  # a deadlock guard, not a timing assertion
        await ctx.deps.all_here.wait()
    return f"{who} met {len(ctx.deps.arrived)} agents"


class Summary(BaseModel):
    title: str
    words: int


def fc(name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "name": name, "arguments": arguments}


PARENT = [
    [fc("researcher", input="Find the facts."), fc("writer", input="Write it up.")],
    ["Both sub-agents reported."],
]
SCRIPTS = {
    "researcher": [[fc("meet", who="researcher")], ["The facts: water is wet."]],
    "writer": [[fc("meet", who="writer")], ['{"title": "Water", "words": 3}']],
}

researcher = Agent(
    "scripted:researcher",
    name="researcher",
    instructions="You research.",
    tools=[meet],
    description="Finds facts.",
)
writer = Agent(
    "scripted:writer",
    name="writer",
    instructions="You write.",
    tools=[meet],
    output_type=Summary,
)


@pytest.mark.parametrize("transport", ["websocket", "http"])
async def test_two_sub_agents_run_concurrently_as_tools(transport: str) -> None:
    meeting = Rendezvous(2)
    async with scripted_server(PARENT, scripts=SCRIPTS) as server:
        async with AgentSession(
            "scripted",
            base_url=server.base_url,
            transport=transport,
            tools=[researcher.as_tool(), writer.as_tool()],
            deps=meeting,
            policy=None,
        ) as lead:
            result = await lead.run("Research and write about water.")

    assert sorted(meeting.arrived) == ["researcher", "writer"]
    outputs = {o.call_id: o.output for o in result.items if isinstance(o, FunctionCallOutput)}
    assert outputs == {
        "call_0_0": "The facts: water is wet.",
        "call_0_1": '{"title":"Water","words":3}',  # the validated output, as JSON
    }
    assert result.final_text == "Both sub-agents reported."
    # each sub-agent ran its own two turns on its own connection, next to the parent's
    by_model: dict[str | None, set[str]] = {}
    for r in server.requests:
        if r.generate is not False:
            by_model.setdefault(r.model, set()).add(r.connection_id)
    assert len([r for r in server.requests if r.model == "scripted:writer"]) >= 2
    if transport == "websocket":
        # the sub-agents ran on the parent's one socket, each on a lane of its own
        assert {c for conns in by_model.values() for c in conns} == {
            next(iter(by_model["scripted"]))
        }
        lanes = {r.model: r.stream_id for r in server.requests if r.generate is not False}
        assert lanes["scripted"] is None
        assert {lanes["scripted:researcher"], lanes["scripted:writer"]} == {"agent-0", "agent-1"}
    else:
        assert len({c for conns in by_model.values() for c in conns}) >= 3


async def test_an_agent_runs_on_its_own_and_the_transport_seam_is_used() -> None:
    async with scripted_server(PARENT, scripts=SCRIPTS) as server:
        alone = await writer.run(
            "Write it up.", deps=Rendezvous(1), base_url=server.base_url, policy=None
        )
        assert alone.output == Summary(title="Water", words=3)
        before = len(server.requests)

        chosen: list[str] = []

        def over_http(ctx: RunContext[Any]) -> str:
            chosen.append(f"{ctx.tool_name} {ctx.session.transport.name}")
            return "http"

        meeting = Rendezvous(2)
        async with AgentSession(
            "scripted",
            base_url=server.base_url,
            tools=[
                researcher.as_tool(transport_factory=over_http),
                writer.as_tool(description="Writes.", transport_factory=over_http),
            ],
            deps=meeting,
            policy=None,
        ) as lead:
            tools = lead.request_settings.tools
            assert [(t["name"], t["description"]) for t in tools] == [
                ("researcher", "Finds facts."),
                ("writer", "Writes."),
            ]
            assert tools[0]["parameters"]["required"] == ["input"]
            await lead.run("Go.")
    assert sorted(chosen) == ["researcher websocket", "writer websocket"]
    assert writer.as_tool("scribe").name == "scribe"
    subs = [r for r in server.requests[before:] if r.model != "scripted"]
    assert subs and {r.endpoint for r in subs} == {"http"}


async def test_sub_agents_inherit_the_parents_safety_policy() -> None:
    seen: list[str] = []

    class Recording:
        def check(self, tool_name: str, arguments: Any) -> Any:
            seen.append(tool_name)

            class D:
                action = "deny" if tool_name == "meet" else "allow"
                reason = "no meetings"
                rule = "test"

            return D()

    async with scripted_server(PARENT, scripts=SCRIPTS) as server:
        async with AgentSession(
            "scripted",
            base_url=server.base_url,
            tools=[researcher.as_tool(), writer.as_tool()],
            deps=Rendezvous(2),
            policy=Recording(),
        ) as lead:
            await lead.run("Go.")
    assert sorted(seen) == ["meet", "meet", "researcher", "writer"]
