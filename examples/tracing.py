"""Tracing: OpenTelemetry spans for the run, each turn, model call and tool call.

    pip install 'responses-fast[otel]' opentelemetry-sdk
    python examples/tracing.py

``AgentSession(..., tracing=provider)`` (or ``tracing=True`` for the global provider) records
spans with the GenAI semantic-convention attributes; any OpenTelemetry exporter (OTLP to Jaeger,
Honeycomb, Logfire...) can ship them. Here they are printed. Without OPENAI_API_KEY a scripted
model on the local server answers.
"""

from __future__ import annotations

import os

import anyio
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from responses_fast import AgentSession, tool
from responses_fast.server import serve


@tool
def word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


SCRIPT = [
    [{"type": "function_call", "name": "word_count", "arguments": {"text": "to be or not"}}],
    ["It has 4 words."],
]


async def ask(model: str, base_url: str | None) -> None:
    provider = TracerProvider()
    exporter = InMemorySpanExporter()  # in a real app: OTLPSpanExporter(...) + BatchSpanProcessor
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with AgentSession(
        model, tools=[word_count], base_url=base_url, tracing=provider, name="counter"
    ) as session:
        await session.run("How many words are in 'to be or not'?")
    for span in sorted(exporter.get_finished_spans(), key=lambda s: s.start_time or 0):
        attrs = span.attributes or {}
        keys = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.tool.call.id")
        shown = {k.removeprefix("gen_ai."): attrs[k] for k in keys if k in attrs}
        print(f"{span.name:<24} {shown}")


async def main() -> None:
    if os.environ.get("OPENAI_API_KEY"):
        await ask(os.environ.get("MODEL", "gpt-5.5"), None)
        return
    async with serve(SCRIPT) as server:
        print(f"no OPENAI_API_KEY: scripted model on the local server {server.base_url}")
        await ask("scripted", server.base_url)


if __name__ == "__main__":
    anyio.run(main)
