"""A Codex-style bug fix with the built-in coding tools, under the safety policy.

    python examples/bugfix.py

Copies the bundled sample repository (an off-by-one in ``paginate()``, failing unittest suite)
into a temporary folder and lets the agent fix it. With OPENAI_API_KEY set it uses the OpenAI
Responses API over one WebSocket (model from $MODEL, default gpt-5.5); without it, a scripted
model on the local server, started in this process.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import anyio

from responses_fast import AgentSession, ToolCallFinished, ToolCallStarted, TurnFinished
from responses_fast.demo import (
    INSTRUCTIONS,
    copy_sample_repo,
    demo_script,
    run_tests,
    snapshot,
    task,
    tool_environment,
    unified_diff,
)
from responses_fast.safety import Policy, redact
from responses_fast.server import serve
from responses_fast.tools.builtin import coding_tools


async def fix(workspace: Path, model: str, base_url: str | None) -> None:
    policy = Policy(workspace)  # allow / ask / deny before every tool call
    async with (
        AgentSession(
            model,
            tools=coding_tools(workspace, policy=policy),
            instructions=INSTRUCTIONS,
            base_url=base_url,
            policy=policy,
            output_filter=lambda text: redact(text).text,  # no secrets back to the model
            max_turns=20,
        ) as session,
        session.stream(task()) as events,
    ):
        async for event in events:
            if isinstance(event, ToolCallStarted):
                print(f"turn {event.turn}: {event.name} {event.arguments[:70]}")
            elif isinstance(event, ToolCallFinished):
                print(f"   -> {event.output.splitlines()[0] if event.output else ''}")
            elif isinstance(event, TurnFinished):
                m = event.metrics
                wall, overhead = m.wall * 1000, m.overhead * 1000
                print(f"   turn {m.turn}: {wall:.0f} ms, overhead {overhead:.1f} ms")
        assert events.result is not None
        print("\nmodel:", events.result.final_text)


async def main() -> None:
    tool_environment()  # the shell tool finds this interpreter as `python`
    with tempfile.TemporaryDirectory() as tmp:
        workspace = copy_sample_repo(Path(tmp) / "sample_repo")
        before = snapshot(workspace)
        if os.environ.get("OPENAI_API_KEY"):
            await fix(workspace, os.environ.get("MODEL", "gpt-5.5"), None)
        else:
            async with serve(demo_script(), tokens_per_second=2000) as server:
                print(f"no OPENAI_API_KEY: scripted model on the local server {server.base_url}")
                await fix(workspace, "scripted", server.base_url)
        print(unified_diff(before, snapshot(workspace)))
        outcome = run_tests(workspace)
        print("tests:", "PASSED" if outcome.passed else "FAILED", outcome.summary)
        if not outcome.passed:
            raise SystemExit(1)


if __name__ == "__main__":
    anyio.run(main)
