"""Client CPU time per turn as the history grows: cached pieces vs re-serialize-and-re-count.

Run: ``python benchmarks/bench_cache.py [--quick]``

Workload (as benchmark-method.md 2b): items of about 2 KB (function calls, 2 KB tool outputs of
real Python source from this package, assistant messages), ~5 KB of instructions and 8 tool
schemas. For each history size N, one turn adds one new 2 KB tool output and builds the next
request body and its token estimate:

- cached: ``log_item`` + ``count_item`` for the new item only; the prefix comes from
  ``RenderedPrefix``; the token total is a sum of ``LoggedItem.tokens`` inside
  ``ContextBudget.plan``; the body is ``assemble_full_body`` (a join of cached bytes);
- naive: ``json.dumps`` of the whole body dict and ``encode_ordinary`` of every item, the
  instructions and the tool schemas, every turn.

Both run in the same process, interleaved; figures are thread CPU time, median over repeats.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import tiktoken

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from responses_fast.cache.budget import ContextBudget  # noqa: E402
from responses_fast.cache.prefix import (  # noqa: E402
    STREAM_TRUE,
    RenderedPrefix,
    assemble_full_body,
)
from responses_fast.cache.render import LoggedItem, log_item  # noqa: E402
from responses_fast.cache.tokens import ITEM_OVERHEAD_TOKENS, TokenCounter  # noqa: E402
from responses_fast.protocol.items import (  # noqa: E402
    FunctionCall,
    FunctionCallOutput,
    Message,
    OutputText,
)
from responses_fast.transports.base import RequestSettings  # noqa: E402

MODEL = "gpt-5"
SIZES = (10, 50, 200, 400)


def _source_chunks(size: int = 2048) -> list[str]:
    text = "".join(
        p.read_text(encoding="utf-8") for p in sorted((ROOT / "responses_fast").rglob("*.py"))
    )
    while len(text) < size * 600:
        text += text
    return [text[i : i + size] for i in range(0, size * 600, size)]


CHUNKS = _source_chunks()


def _settings() -> RequestSettings:
    instructions = ("You are a careful coding agent working in a Python repository. " * 80)[:5000]
    tools = tuple(
        {
            "type": "function",
            "name": f"tool_{i}",
            "description": f"Tool number {i}: reads, edits or runs things in the workspace.",
            "parameters": {
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "workspace-relative path"},
                    "content": {"type": "string"},
                    "timeout": {"type": "number"},
                },
                "required": ["path"],
                "additionalProperties": False,
            },
            "strict": True,
        }
        for i in range(8)
    )
    return RequestSettings(
        model=MODEL, instructions=instructions, tools=tools, prompt_cache_key="rf-bench"
    )


def _history(n: int) -> list[Any]:
    """n items, repeating (function call with ~2 KB arguments, 2 KB output, message)."""
    items: list[Any] = []
    i = 0
    while len(items) < n:
        k = len(items) % 3
        if k == 0:
            args = json.dumps({"path": f"src/mod_{i}.py", "content": CHUNKS[i % 300]})
            items.append(FunctionCall(call_id=f"call_{i}", name="tool_1", arguments=args))
        elif k == 1:
            items.append(FunctionCallOutput(call_id=f"call_{i}", output=CHUNKS[(i + 7) % 300]))
            i += 1
        else:
            text = CHUNKS[(i + 13) % 300]
            items.append(Message(role="assistant", content=[OutputText(text=text)]))
    return items


def _text(item: Any) -> str:
    if isinstance(item, FunctionCall):
        return f"{item.name}\n{item.arguments}"
    if isinstance(item, FunctionCallOutput):
        return str(item.output)
    if isinstance(item, Message):
        c = item.content
        return c if isinstance(c, str) else "\n".join(getattr(p, "text", "") for p in c)
    return ""


def _cpu_us(fn: Callable[[], object], inner: int) -> float:
    t0 = time.thread_time_ns()
    for _ in range(inner):
        fn()
    return (time.thread_time_ns() - t0) / inner / 1000


def _slope(xs: list[int], ys: list[float]) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    num = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    den = sum((x - mx) ** 2 for x in xs)
    return num / den


def _bench_size(
    n: int,
    settings: RequestSettings,
    counter: TokenCounter,
    enc: tiktoken.Encoding,
    fresh: Iterator[int],
    repeats: int,
    inner_cached: int,
    quick: bool,
) -> tuple[int, int, float, float, float]:
    budget = ContextBudget(10_000_000)  # large: plan() computes the estimate, trims nothing
    tools_json = json.dumps(list(settings.tools))
    history = _history(n)
    logged: list[LoggedItem] = [log_item(it) for it in history]
    for li in logged:
        counter.count_item(li)
    dicts = [it.model_dump(mode="json", exclude_unset=True) for it in history]
    prefix = RenderedPrefix.for_settings(settings)
    prefix_tokens = prefix.token_count(counter)

    def new_output() -> FunctionCallOutput:
        j = next(fresh)
        # A new output each turn: the token cache misses, as in a real loop.
        return FunctionCallOutput(call_id=f"new_{j}", output=f"# run {j}\n" + CHUNKS[j % 300])

    def cached_turn() -> bytes:
        li = log_item(new_output())
        counter.count_item(li)
        log = [*logged, li]
        plan = budget.plan(log, prefix_tokens)
        assert plan.empty
        return assemble_full_body(RenderedPrefix.for_settings(settings), log, STREAM_TRUE)

    def naive_turn() -> tuple[str, int]:
        new = new_output()
        items = [*dicts, new.model_dump(mode="json", exclude_unset=True)]
        body = json.dumps({**settings.fields(), "stream": True, "input": items})
        tokens = len(enc.encode_ordinary(settings.instructions or ""))
        tokens += len(enc.encode_ordinary(tools_json))
        for it in (*history, new):
            tokens += len(enc.encode_ordinary(_text(it))) + ITEM_OVERHEAD_TOKENS
        return body, tokens

    fixed_log = [*logged, log_item(new_output())]
    counter.count_item(fixed_log[-1])

    def history_part() -> bytes:
        # The part of a cached turn that depends on N: the estimate and the join.
        budget.plan(fixed_log, prefix_tokens)
        return assemble_full_body(RenderedPrefix.for_settings(settings), fixed_log, STREAM_TRUE)

    # Same body, same count: the two paths do the same job.
    body = cached_turn()
    naive_body, _ = naive_turn()
    assert json.loads(body)["input"][:n] == json.loads(naive_body)["input"][:n]
    naive_history = sum(
        len(enc.encode_ordinary(_text(it))) + ITEM_OVERHEAD_TOKENS for it in history
    )
    assert sum(li.tokens or 0 for li in logged) == naive_history

    inner_naive = max(1, 400 // n) if not quick else 1
    cached_t, part_t, naive_t = [], [], []
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):
            cached_t.append(_cpu_us(cached_turn, inner_cached))
            part_t.append(_cpu_us(history_part, inner_cached))
            naive_t.append(_cpu_us(naive_turn, inner_naive))
    finally:
        gc.enable()
    c, v = statistics.median(cached_t), statistics.median(naive_t)
    return n, len(body), c, statistics.median(part_t), v


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="fewer repeats (a few seconds)")
    args = ap.parse_args(argv)
    repeats = 5 if args.quick else 21
    inner_cached = 20 if args.quick else 100

    settings = _settings()
    counter = TokenCounter(MODEL, maxsize=8192)
    enc = tiktoken.get_encoding(counter.encoding_name)

    print(
        f"encoding: {counter.encoding_name} (estimate: {counter.is_estimate}); "
        f"repeats: {repeats}; python {sys.version.split()[0]}"
    )
    fresh = iter(range(10**9))
    rows = [
        _bench_size(n, settings, counter, enc, fresh, repeats, inner_cached, args.quick)
        for n in SIZES
    ]
    print()
    print(
        "| history N | body | cached µs/turn | of which estimate+join | naive µs/turn "
        "| naive / cached |"
    )
    print("|---|---|---|---|---|---|")
    for n, size, c, p, v in rows:
        print(f"| {n} | {size / 1024:.0f} KiB | {c:.0f} | {p:.0f} | {v:.0f} | {v / c:.0f}x |")
    ns = [r[0] for r in rows]
    print()
    print(f"slope, cached: {_slope(ns, [r[2] for r in rows]):.3f} µs per history item")
    print(f"  of which estimate+join: {_slope(ns, [r[3] for r in rows]):.3f} µs per item")
    print(f"slope, naive:  {_slope(ns, [r[4] for r in rows]):.1f} µs per history item")
    stats = counter.statistics()
    print(
        f"token cache: hits={stats.hits} misses={stats.misses} memo_hits={stats.memo_hits} "
        f"size={stats.size}/{stats.maxsize}; prefix: {RenderedPrefix.statistics()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
