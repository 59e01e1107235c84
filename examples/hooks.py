"""Hooks: your code before and after every model call and tool call; a tool call can be vetoed.

    python examples/hooks.py

A vetoed call is not executed: the model gets an output saying why and carries on. Hooks may be
sync or async; they see frozen snapshots, so they can observe and veto but not rewrite. Without
OPENAI_API_KEY a scripted model on the local server tries a forbidden call.
"""

from __future__ import annotations

import os

import anyio

from responses_fast import (
    AgentSession,
    Hooks,
    ModelCallInfo,
    ModelResponseInfo,
    ToolCallInfo,
    ToolResult,
    Veto,
    tool,
)
from responses_fast.server import serve

ACCOUNTS = {"alice": 120, "bob": 30}


@tool
def balance(account: str) -> int:
    """An account's balance."""
    return ACCOUNTS[account]


@tool
def transfer(source: str, target: str, amount: int) -> str:
    """Move money between accounts."""
    ACCOUNTS[source] -= amount
    ACCOUNTS[target] += amount
    return "done"


class Guard(Hooks):
    def before_model_call(self, call: ModelCallInfo) -> None:
        print(f"-> model call, turn {call.turn}")

    def after_model_call(self, call: ModelCallInfo, response: ModelResponseInfo) -> None:
        print(f"<- {response.output_tokens} tokens, calls: {list(response.tool_calls)}")

    async def before_tool_call(self, call: ToolCallInfo) -> Veto | None:
        if call.name == "transfer":
            return Veto("transfers need a human; tell the user how to do it instead")
        return None

    def after_tool_call(self, call: ToolCallInfo, result: ToolResult) -> None:
        print(f"   {call.name}: {result.output}")


SCRIPT = [
    [
        {"type": "function_call", "name": "balance", "arguments": {"account": "alice"}},
        {
            "type": "function_call",
            "name": "transfer",
            "arguments": {"source": "alice", "target": "bob", "amount": 50},
        },
    ],
    ["Alice has 120. I may not move money myself: please use the bank's app."],
]


async def ask(model: str, base_url: str | None) -> None:
    async with AgentSession(
        model, tools=[balance, transfer], base_url=base_url, hooks=[Guard()]
    ) as session:
        result = await session.run("Check Alice's balance and send Bob 50.")
    print(result.final_text)
    print(f"balances unchanged: {ACCOUNTS}")


async def main() -> None:
    if os.environ.get("OPENAI_API_KEY"):
        await ask(os.environ.get("MODEL", "gpt-5.5"), None)
        return
    async with serve(SCRIPT) as server:
        print(f"no OPENAI_API_KEY: scripted model on the local server {server.base_url}")
        await ask("scripted", server.base_url)


if __name__ == "__main__":
    anyio.run(main)
