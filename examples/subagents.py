"""Sub-agents: ``Agent`` definitions run on their own or as another agent's tools.

    python examples/subagents.py

The lead agent calls two specialists in one turn; they run concurrently, each in its own session
(on its own connection for now: see docs/agents.md). The writer has a typed output, which the lead
receives as JSON. Without OPENAI_API_KEY scripted models on the local server play all three.
"""

from __future__ import annotations

import os

import anyio
from pydantic import BaseModel

from responses_fast import Agent, AgentSession
from responses_fast.server import serve


class Headline(BaseModel):
    text: str
    words: int


def call(name: str, task: str) -> dict[str, object]:
    return {"type": "function_call", "name": name, "arguments": {"input": task}}


LEAD = [
    [call("researcher", "Key facts about the Rhine."), call("writer", "A headline on rivers.")],
    ["The Rhine is 1,233 km long; headline: 'Rivers Shape Europe'."],
]
SCRIPTS = {
    "researcher": [["The Rhine is 1,233 km long and flows through six countries."]],
    "writer": [['{"text": "Rivers Shape Europe", "words": 3}']],
}


async def main() -> None:
    keyed = bool(os.environ.get("OPENAI_API_KEY"))
    async with serve(LEAD, scripts=SCRIPTS) as server:
        if not keyed:
            print(f"no OPENAI_API_KEY: scripted models on the local server {server.base_url}")
        model = os.environ.get("MODEL", "gpt-5.5") if keyed else None
        base_url = None if keyed else server.base_url
        researcher = Agent(
            model or "scripted:researcher",
            name="researcher",
            instructions="Answer with facts only.",
            description="Finds facts about a topic.",
        )
        writer = Agent(
            model or "scripted:writer",
            name="writer",
            instructions="Write a short headline.",
            description="Writes a headline.",
            output_type=Headline,
        )
        async with AgentSession(
            model or "scripted",
            base_url=base_url,
            tools=[researcher.as_tool(), writer.as_tool()],
            instructions="Delegate research and writing, then combine.",
        ) as lead:
            result = await lead.run("Tell me about the Rhine, with a headline.")
        print(result.final_text)
        # An Agent also runs on its own: it opens (and closes) its own session.
        alone = await writer.run("A headline on rivers.", base_url=base_url)
        print(f"writer alone: {alone.output!r}")
        if not keyed:
            sockets = {r.connection_id for r in server.requests if r.endpoint == "ws"}
            print(f"{len(sockets)} WebSocket connections (lead, two sub-agents, the lone run)")


if __name__ == "__main__":
    anyio.run(main)
