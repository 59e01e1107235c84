"""A conversation that survives the process: save to SQLite, resume later.

    python examples/durable_session.py

The first session runs a task and is saved after every turn; the second one (it could be in
another process, or after a notebook kernel restart) loads the same id from the file and goes
on where the first stopped. Without OPENAI_API_KEY a scripted model on the local server answers.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import anyio

from responses_fast import AgentSession, SessionStore, tool
from responses_fast.server import serve


@tool
def word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


SCRIPT = [
    [{"type": "function_call", "name": "word_count", "arguments": {"text": "to be or not"}}],
    ["It has 4 words."],
    ["You asked how many words 'to be or not' has: 4."],
]


async def two_sessions(store: SessionStore, model: str, base_url: str | None) -> None:
    async with AgentSession(
        model, tools=[word_count], base_url=base_url, persist=store.session("demo")
    ) as first:
        print("first run:", (await first.run("How many words in 'to be or not'?")).final_text)
    # A new session object, as a new process would build it: same store, same id.
    async with AgentSession(
        model, tools=[word_count], base_url=base_url, persist=store.session("demo")
    ) as later:
        print(f"resumed with {len(later.items)} saved items")
        print("second run:", (await later.run("What did I ask you before?")).final_text)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SessionStore(Path(tmp) / "sessions.db")
        if os.environ.get("OPENAI_API_KEY"):
            await two_sessions(store, os.environ.get("MODEL", "gpt-5.5"), None)
            return
        async with serve(SCRIPT) as server:
            print(f"no OPENAI_API_KEY: scripted model on the local server {server.base_url}")
            await two_sessions(store, "scripted", server.base_url)


if __name__ == "__main__":
    anyio.run(main)
