"""OpenTelemetry spans for a run, driven by the session's events (docs/tracing.md).

One span per run (``invoke_agent``), per turn, per model call (``chat``) and per tool call
(``execute_tool``), with the GenAI semantic-convention attributes (``gen_ai.operation.name``,
``gen_ai.request.model``, ``gen_ai.usage.input_tokens``, ``gen_ai.tool.call.id``, ...).

The tracer is an observer of the events ``stream()`` yields: the loop itself is untouched, and a
session without ``tracing=`` never imports OpenTelemetry nor pays for a span. ``opentelemetry-api``
is the optional extra ``otel``; ``tracing=True`` without it is a ConfigurationError.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import ConfigurationError
from .events import (
    Event,
    Reconnected,
    RunFinished,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
    TurnStarted,
)

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

__all__ = ["RunTracer", "make_tracer", "parent_span_of_call"]

PROVIDER = "openai"


def make_tracer(tracing: Any) -> Tracer | None:
    """The OpenTelemetry tracer for ``tracing=`` (False/None: none; True: the global provider;
    else a ``TracerProvider``)."""
    if tracing is None or tracing is False:
        return None
    try:
        from opentelemetry import trace
    except ImportError:
        raise ConfigurationError(
            "tracing needs opentelemetry-api: pip install 'responses-fast[otel]'"
        ) from None
    provider = None if tracing is True else tracing
    return trace.get_tracer("responses_fast", tracer_provider=provider)


class RunTracer:
    """Spans of one run; ``on_event`` is fed every event of the run, in order."""

    def __init__(self, tracer: Tracer, *, model: str, agent: str, base_url: str) -> None:
        from opentelemetry.trace import SpanKind

        self._tracer = tracer
        self._model = model
        url = urlsplit(base_url)
        self._common: dict[str, Any] = {
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.request.model": model,
        }
        if url.hostname:
            self._common["server.address"] = url.hostname
        if url.port:
            self._common["server.port"] = url.port
        self.run_span: Span = tracer.start_span(
            f"invoke_agent {agent}",
            kind=SpanKind.INTERNAL,
            attributes={
                **self._common,
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": agent,
            },
        )
        self._turn: Span | None = None
        self._model_call: Span | None = None
        self._model_start_ns = 0
        self._tools: dict[str, Span] = {}

    def _child(self, parent: Span, name: str, attributes: dict[str, Any], kind: Any) -> Span:
        from opentelemetry.trace import set_span_in_context

        return self._tracer.start_span(
            name, context=set_span_in_context(parent), kind=kind, attributes=attributes
        )

    def tool_span(self, call_id: str) -> Span | None:
        return self._tools.get(call_id)

    def on_event(self, event: Event) -> None:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        if isinstance(event, TurnStarted):
            if self._turn is None:
                self._turn = self._child(
                    self.run_span,
                    f"turn {event.turn}",
                    {"responses_fast.turn": event.turn},
                    SpanKind.INTERNAL,
                )
            self._model_start_ns = time.time_ns()
            self._model_call = self._child(
                self._turn,
                f"chat {self._model}",
                {
                    **self._common,
                    "gen_ai.operation.name": "chat",
                    "responses_fast.turn": event.turn,
                    "responses_fast.attempt": event.attempt,
                },
                SpanKind.CLIENT,
            )
        elif isinstance(event, ToolCallStarted | ToolCallFinished):
            span = self._tools.get(event.call_id)
            if span is None:
                span = self._child(
                    self._turn or self.run_span,
                    f"execute_tool {event.name}",
                    {
                        "gen_ai.operation.name": "execute_tool",
                        "gen_ai.tool.name": event.name,
                        "gen_ai.tool.call.id": event.call_id,
                        "gen_ai.tool.type": "function",
                    },
                    SpanKind.INTERNAL,
                )
                self._tools[event.call_id] = span
            if isinstance(event, ToolCallFinished):
                if event.denied:
                    span.set_attribute("responses_fast.tool.denied", True)
                if event.is_error:
                    span.set_attribute("error.type", "tool_error")
                    span.set_status(Status(StatusCode.ERROR, event.output[:200]))
                span.end()
        elif isinstance(event, Reconnected):
            if self._model_call is not None:
                self._model_call.set_attribute("error.type", "retried")
                self._model_call.set_status(Status(StatusCode.ERROR, event.reason[:200]))
                self._model_call.end()
                self._model_call = None
        elif isinstance(event, TurnFinished):
            m = event.metrics
            if self._model_call is not None:
                span = self._model_call
                if m.response_id:
                    span.set_attribute("gen_ai.response.id", m.response_id)
                span.set_attribute("gen_ai.usage.input_tokens", m.input_tokens)
                span.set_attribute("gen_ai.usage.output_tokens", m.output_tokens)
                span.set_attribute("gen_ai.usage.cache_read.input_tokens", m.cached_tokens)
                reason = "tool_calls" if m.tool_calls else "stop"
                span.set_attribute("gen_ai.response.finish_reasons", [reason])
                # The model's part of the turn ends with its last event; tools may run longer.
                model_ns = int((m.time_to_first_event + m.generating) * 1e9)
                end = min(time.time_ns(), self._model_start_ns + max(0, model_ns))
                span.end(end_time=end)
                self._model_call = None
            if self._turn is not None:
                self._turn.set_attribute("responses_fast.tool_calls", m.tool_calls)
                self._turn.end()
                self._turn = None
        elif isinstance(event, RunFinished):
            r = event.result
            span = self.run_span
            span.set_attribute("gen_ai.usage.input_tokens", r.usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", r.usage.output_tokens)
            span.set_attribute("responses_fast.turns", len(r.turns))
            span.set_attribute("responses_fast.status", r.status)
            if r.response_id:
                span.set_attribute("gen_ai.response.id", r.response_id)

    def finish(self, error: BaseException | None) -> None:
        """End every span still open (the run span last); ``error`` marks them failed."""
        from opentelemetry.trace import Status, StatusCode

        open_spans = [*self._tools.values(), self._model_call, self._turn, self.run_span]
        for span in open_spans:
            if span is None or not span.is_recording():
                continue
            if error is not None:
                span.set_attribute("error.type", type(error).__name__)
                span.set_status(Status(StatusCode.ERROR, str(error)[:200]))
            span.end()
        self._tools.clear()


@contextmanager
def parent_span_of_call(tracer: RunTracer | None, call_id: str) -> Iterator[None]:
    """Make the span of tool call ``call_id`` current, so a run started inside (a sub-agent)
    becomes its child."""
    span = tracer.tool_span(call_id) if tracer is not None else None
    if span is None:
        yield
        return
    from opentelemetry.trace import use_span

    with use_span(span, end_on_exit=False):
        yield
