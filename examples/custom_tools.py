"""Your own tools: a ``@tool`` function and a ``Tool`` object built at run time.

    python examples/custom_tools.py

The JSON schema of ``@tool`` functions comes from the type hints and the docstring. A ``Tool``
object takes a handler and a JSON schema directly (tools loaded from a config file, a plugin
registry, an MCP server, ...). Without OPENAI_API_KEY a scripted model on the local server calls
both tools.
"""

from __future__ import annotations

import os

import anyio

from responses_fast import AgentSession, Tool, tool
from responses_fast.server import serve

INVENTORY = {"apples": 12, "pears": 0, "plums": 7}


@tool
def stock(item: str) -> int:
    """How many of an item are in stock.

    Args:
        item: the item's name, e.g. "apples".
    """
    return INVENTORY.get(item.lower(), 0)


def _convert(amount: float, rate: float) -> str:
    return f"{amount * rate:.2f}"


# A tool defined at run time: a name, a description, a JSON schema and a handler.
convert = Tool(
    name="convert_currency",
    description="Convert an amount of money with an exchange rate.",
    handler=_convert,
    parameters={
        "type": "object",
        "properties": {
            "amount": {"type": "number", "description": "the amount to convert"},
            "rate": {"type": "number", "description": "units of the target currency per unit"},
        },
        "required": ["amount", "rate"],
    },
)

SCRIPT = [
    [  # the model calls both tools in one turn; they run in parallel
        {"type": "function_call", "name": "stock", "arguments": {"item": "apples"}},
        {
            "type": "function_call",
            "name": "convert_currency",
            "arguments": {"amount": 12, "rate": 0.92},
        },
    ],
    ["There are 12 apples in stock; 12 USD is 11.04 EUR."],
]

PROMPT = "How many apples are in stock, and what is 12 USD in EUR at a rate of 0.92?"


async def ask(model: str, base_url: str | None) -> None:
    async with AgentSession(model, tools=[stock, convert], base_url=base_url) as session:
        result = await session.run(PROMPT)
    print(result.final_text)
    print(f"{result.tool_calls} tool calls in {len(result.turns)} turns")


async def main() -> None:
    if os.environ.get("OPENAI_API_KEY"):
        await ask(os.environ.get("MODEL", "gpt-5.5"), None)
        return
    async with serve(SCRIPT) as server:
        print(f"no OPENAI_API_KEY: scripted model on the local server {server.base_url}")
        await ask("scripted", server.base_url)
        # One WebSocket, and after the first turn only the new items travel:
        last = server.requests[-1]
        print(f"last request: {last.input_items} new items on top of {last.previous_response_id}")


if __name__ == "__main__":
    anyio.run(main)
