"""Cerebras: the same agent loop over Chat Completions with the official ``cerebras-cloud-sdk``.

    CEREBRAS_API_KEY=csk-... python examples/cerebras_example.py

``transport="cerebras"`` sends the conversation through the Cerebras SDK and turns its streamed
chunks into the same events as the Responses API. Without CEREBRAS_API_KEY the example starts
the local server and points the (real) Cerebras SDK at its Chat Completions endpoint, with a
scripted model streaming at 2000 tokens/s.
"""

from __future__ import annotations

import os

import anyio

from responses_fast import AgentSession, tool
from responses_fast.server import serve


@tool
def word_count(text: str) -> int:
    """Count the words in a text.

    Args:
        text: the text to count.
    """
    return len(text.split())


SCRIPT = [
    [
        {
            "type": "function_call",
            "name": "word_count",
            "arguments": {"text": "the quick brown fox jumps over the lazy dog"},
        }
    ],
    ["The sentence has 9 words."],
]

PROMPT = "How many words are in 'the quick brown fox jumps over the lazy dog'? Use the tool."


async def ask(model: str, base_url: str | None, api_key: str | None) -> None:
    async with AgentSession(
        model, tools=[word_count], transport="cerebras", base_url=base_url, api_key=api_key
    ) as session:
        result = await session.run(PROMPT)
    print(result.final_text)
    for t in result.turns:
        print(
            f"turn {t.turn}: wall {t.wall * 1000:.0f} ms, first event "
            f"{t.time_to_first_event * 1000:.1f} ms, overhead {t.overhead * 1000:.2f} ms"
        )


async def main() -> None:
    key = os.environ.get("CEREBRAS_API_KEY")
    if key:
        await ask(os.environ.get("MODEL", "gpt-oss-120b"), None, key)
        return
    async with serve(SCRIPT, tokens_per_second=2000) as server:
        print(f"no CEREBRAS_API_KEY: the Cerebras SDK talks to the local server {server.base_url}")
        await ask("scripted", server.base_url, "local-key")


if __name__ == "__main__":
    anyio.run(main)
