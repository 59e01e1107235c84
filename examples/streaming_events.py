"""Every event of a run, as it happens: ``session.stream(prompt)``.

    python examples/streaming_events.py

Text streams as ``TextDelta``; a tool call starts (``ToolCallStarted``) the moment its arguments
are complete, even while the model is still writing; ``TurnFinished`` carries the turn's timings.
Without OPENAI_API_KEY a scripted model on the local server answers (paced at 200 tokens/s so
the streaming is visible).
"""

from __future__ import annotations

import os
import time

import anyio

from responses_fast import (
    AgentSession,
    ItemAdded,
    RunFinished,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
    TurnStarted,
    tool,
)
from responses_fast.server import serve


@tool
def weather(city: str) -> str:
    """Today's weather in a city.

    Args:
        city: the city's name.
    """
    return {"paris": "sunny, 24°C", "oslo": "rain, 11°C"}.get(city.lower(), "unknown")


SCRIPT = [
    [
        {"type": "message", "text": "Let me check both cities."},
        {"type": "function_call", "name": "weather", "arguments": {"city": "Paris"}},
        {"type": "function_call", "name": "weather", "arguments": {"city": "Oslo"}},
    ],
    ["Paris is sunny at 24°C; Oslo has rain at 11°C. Pack an umbrella for Oslo."],
]


async def show(model: str, base_url: str | None) -> None:
    t0 = time.perf_counter()
    async with AgentSession(model, tools=[weather], base_url=base_url) as session:
        async with session.stream("What's the weather in Paris and in Oslo?") as events:
            in_text = False
            async for event in events:
                at = f"[{time.perf_counter() - t0:6.3f}s]"
                if in_text and not isinstance(event, TextDelta):
                    print()  # end the streamed line
                    in_text = False
                match event:
                    case TurnStarted(turn=turn):
                        print(f"{at} turn {turn} started")
                    case TextDelta(text=text):
                        print(text, end="", flush=True)
                        in_text = True
                    case ItemAdded(item=item):
                        print(f"{at} item added: {getattr(item, 'type', '?')}")
                    case ToolCallStarted(name=name, arguments=args):
                        print(f"{at} tool started: {name}({args})")
                    case ToolCallFinished(name=name, output=output, duration=d):
                        print(f"{at} tool finished: {name} -> {output!r} in {d * 1000:.1f} ms")
                    case TurnFinished(metrics=m):
                        print(
                            f"{at} turn {m.turn} finished: wall {m.wall * 1000:.0f} ms, "
                            f"first event {m.time_to_first_event * 1000:.1f} ms, "
                            f"overhead {m.overhead * 1000:.2f} ms"
                        )
                    case RunFinished(result=result):
                        print(f"{at} done ({result.status}): {result.final_text}")


async def main() -> None:
    if os.environ.get("OPENAI_API_KEY"):
        await show(os.environ.get("MODEL", "gpt-5.5"), None)
        return
    async with serve(SCRIPT, tokens_per_second=200, ttft=0.05) as server:
        print(f"no OPENAI_API_KEY: scripted model on the local server {server.base_url}")
        await show("scripted", server.base_url)


if __name__ == "__main__":
    anyio.run(main)
