"""How a run looks: live progress with rich, or one JSON object per line (``--json``)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from typing import Any, Protocol, TextIO

import orjson
from pydantic import BaseModel
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from ..protocol.items import FunctionCall, Message, item_text
from ..session import (
    ContextTrimmed,
    Event,
    ItemAdded,
    Reconnected,
    RunFinished,
    RunResult,
    TextDelta,
    ToolCallFinished,
    ToolCallFlagged,
    ToolCallStarted,
    TurnFinished,
    TurnMetrics,
    TurnStarted,
)

__all__ = ["JsonLines", "RichProgress", "event_to_dict", "result_to_dict"]


class _Checker(Protocol):
    """Anything with ``check(name, args) -> Decision`` (the policy the session uses)."""

    def check(self, tool_name: str, arguments: Mapping[str, Any]) -> Any: ...


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.0095 else f"{seconds * 1000:.1f} ms"


def _one_line(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _call_summary(call: FunctionCall) -> str:
    try:
        args = orjson.loads(call.arguments or "{}")
    except orjson.JSONDecodeError:
        return _one_line(call.arguments)
    if not isinstance(args, dict):
        return _one_line(call.arguments)
    if call.name == "shell" and isinstance(args.get("command"), str):
        return _one_line(args["command"])
    if call.name == "apply_patch" and isinstance(args.get("patch"), str):
        files = [
            ln[4:].strip()
            for ln in args["patch"].splitlines()
            if ln.startswith(("*** Update File:", "*** Add File:", "*** Delete File:"))
        ]
        return _one_line("; ".join(files) or "(no files)")
    if isinstance(args.get("path"), str) and len(args) == 1:
        return str(args["path"])
    return _one_line(call.arguments)


def _output_summary(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    if not lines:
        return "(no output)"
    if len(lines) == 1:
        return _one_line(lines[0])
    return f"{_one_line(lines[0], 50)} … {_one_line(lines[-1], 50)}  ({len(lines)} lines)"


class RichProgress:
    """Prints each turn, tool call (with the safety decision), streamed text and a summary."""

    def __init__(self, console: Console, policy: _Checker | None = None) -> None:
        self.console = console
        self.policy = policy
        self._mid_line = False
        self._streamed = False

    def say(self, message: str, style: str = "yellow") -> None:
        self._end_line()
        self.console.print(Text(message, style=style))

    def _end_line(self) -> None:
        if self._mid_line:
            self.console.print()
            self._mid_line = False

    def event(self, event: Event) -> None:
        c = self.console
        if isinstance(event, TextDelta):
            if not self._mid_line:
                c.print(Text("  "), end="")
            c.print(Text(event.text.replace("\n", "\n  "), style="cyan"), end="")
            self._mid_line = True
            self._streamed = True
            return
        self._end_line()
        if isinstance(event, TurnStarted):
            self._streamed = False
            label = f"turn {event.turn}" + (
                f" (attempt {event.attempt})" if event.attempt > 1 else ""
            )
            c.rule(Text(label, style="bold"), align="left", style="dim")
        elif isinstance(event, ItemAdded):
            item = event.item
            if isinstance(item, FunctionCall):
                line = Text("  → ", style="bold")
                line.append(item.name, style="bold magenta")
                line.append("  " + _call_summary(item))
                decision = self._decision(item)
                if decision is not None:
                    style = {"allow": "green", "ask": "yellow", "deny": "red"}.get(
                        decision.action, "white"
                    )
                    line.append(f"   [{decision.action}: {decision.rule}]", style=style)
                c.print(line)
            elif isinstance(item, Message) and item.role == "assistant" and not self._streamed:
                c.print(Text("  " + item_text(item), style="cyan"))
        elif isinstance(event, ToolCallFlagged):
            verdict = {True: "approved", False: "refused", None: "refused"}[event.approved]
            if event.action == "deny":
                verdict = "denied"
            style = "green" if event.approved else "red"
            c.print(
                Text(
                    f"    safety: {event.action} ({event.rule}): {event.reason} → {verdict}",
                    style=style,
                )
            )
        elif isinstance(event, ToolCallStarted):
            pass  # shown when the call arrived (ItemAdded)
        elif isinstance(event, ToolCallFinished):
            mark, style = ("✗", "red") if event.is_error else ("✓", "green")
            line = Text(f"    {mark} ", style=style)
            line.append(f"{_ms(event.duration):>9}  ", style="dim")
            line.append(_output_summary(event.output))
            c.print(line)
        elif isinstance(event, Reconnected):
            c.print(
                Text(
                    f"  reconnecting (attempt {event.attempt} failed: {_one_line(event.reason)}); "
                    f"retry in {event.delay:.2f}s",
                    style="yellow",
                )
            )
        elif isinstance(event, ContextTrimmed):
            c.print(Text(f"  context trimmed: {event.report}", style="dim"))
        elif isinstance(event, TurnFinished):
            m = event.metrics
            c.print(
                Text(
                    f"  {_ms(m.wall)} (model {_ms(m.time_to_first_event + m.generating)}, "
                    f"tools {_ms(m.tools)}, overhead {_ms(m.overhead)})",
                    style="dim",
                )
            )
        elif isinstance(event, RunFinished):
            pass

    def _decision(self, call: FunctionCall) -> Any:
        if self.policy is None:
            return None
        try:
            args = orjson.loads(call.arguments or "{}")
        except orjson.JSONDecodeError:
            args = {}
        return self.policy.check(call.name, args if isinstance(args, dict) else {})

    def latency_table(self, result: RunResult) -> None:
        self._end_line()
        table = Table(title="Where the time went (per turn)", title_justify="left")
        for col in ("turn", "wall", "1st event", "model", "tools", "overhead", "calls"):
            table.add_column(col, justify="right")
        for m in result.turns:
            table.add_row(*_row(m))
        if len(result.turns) > 1:
            t = result.turns
            table.add_row(
                "total",
                _ms(sum(x.wall for x in t)),
                _ms(sum(x.time_to_first_event for x in t)),
                _ms(sum(x.time_to_first_event + x.generating for x in t)),
                _ms(sum(x.tools for x in t)),
                _ms(sum(x.overhead for x in t)),
                str(sum(x.tool_calls for x in t)),
                style="bold",
            )
        self.console.print(table)
        self.console.print(
            Text(
                "model = request sent → last event (includes the wait for the 1st event); "
                "overhead = neither the model nor a tool was working. "
                f"Sent {sum(t.bytes_sent for t in result.turns):,} bytes, received "
                f"{sum(t.bytes_received for t in result.turns):,}.",
                style="dim",
            )
        )

    def diff(self, text: str) -> None:
        self._end_line()
        if not text:
            self.console.print(Text("The workspace is unchanged.", style="yellow"))
            return
        self.console.print(Text("Changes in the workspace:", style="bold"))
        self.console.print(Syntax(text, "diff", theme="ansi_dark", background_color="default"))


def _row(m: TurnMetrics) -> list[str]:
    return [
        str(m.turn),
        _ms(m.wall),
        _ms(m.time_to_first_event),
        _ms(m.time_to_first_event + m.generating),
        _ms(m.tools),
        _ms(m.overhead),
        str(m.tool_calls),
    ]


# --------------------------------------------------------------------------- JSON Lines


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def result_to_dict(result: RunResult) -> dict[str, Any]:
    """The final ``--json`` object."""
    return {
        "type": "result",
        "status": result.status,
        "final_text": result.final_text,
        "response_id": result.response_id,
        "tool_calls": result.tool_calls,
        "usage": _plain(result.usage),
        "turns": [_plain(t) for t in result.turns],
        "wall": result.wall,
        "overhead": result.overhead,
    }


def event_to_dict(event: Event) -> dict[str, Any]:
    """One event as a JSON-ready dict: ``type`` (snake_case class name) plus its fields."""
    if isinstance(event, RunFinished):
        return {"type": "run_finished", "status": event.result.status}
    data = _plain(event)
    assert isinstance(data, dict)
    return {"type": _snake(type(event).__name__), **data}


class JsonLines:
    """``--json``: one JSON object per line on stdout, flushed as it happens."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def write(self, obj: Mapping[str, Any]) -> None:
        self.out.write(orjson.dumps(obj).decode() + "\n")
        self.out.flush()

    def event(self, event: Event) -> None:
        self.write(event_to_dict(event))

    def say(self, message: str, style: str = "") -> None:
        self.write({"type": "notice", "message": message})
