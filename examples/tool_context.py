"""Tool context: a tool declares ``ctx: RunContext[Deps]`` and receives your dependencies.

    python examples/tool_context.py

``deps`` (a database handle, a user, an HTTP client...) go to ``AgentSession(deps=...)`` or
``run(..., deps=...)``; the context also carries the session, the run id, the turn and the call
id. The parameter is not part of the schema the model sees. Without OPENAI_API_KEY a scripted
model on the local server calls the tool.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import anyio

from responses_fast import AgentSession, RunContext, tool
from responses_fast.server import serve


@dataclass
class Shop:
    customer: str
    orders: dict[str, list[str]]


@tool
def my_orders(ctx: RunContext[Shop], limit: int = 5) -> list[str]:
    """The current customer's latest orders.

    Args:
        limit: how many orders to return.
    """
    print(f"  [tool] call {ctx.call_id} in turn {ctx.turn} for {ctx.deps.customer}")
    return ctx.deps.orders.get(ctx.deps.customer, [])[:limit]


SCRIPT = [
    [{"type": "function_call", "name": "my_orders", "arguments": {"limit": 2}}],
    ["Your last two orders were a teapot and 2 kg of green tea."],
]


async def ask(model: str, base_url: str | None) -> None:
    shop = Shop("ada", {"ada": ["teapot", "green tea 2 kg", "cups"]})
    print("schema the model sees:", sorted(my_orders.schema()["parameters"]["properties"]))
    async with AgentSession(model, tools=[my_orders], base_url=base_url) as session:
        result = await session.run("What did I order recently?", deps=shop)
    print(result.final_text)


async def main() -> None:
    if os.environ.get("OPENAI_API_KEY"):
        await ask(os.environ.get("MODEL", "gpt-5.5"), None)
        return
    async with serve(SCRIPT) as server:
        print(f"no OPENAI_API_KEY: scripted model on the local server {server.base_url}")
        await ask("scripted", server.base_url)


if __name__ == "__main__":
    anyio.run(main)
