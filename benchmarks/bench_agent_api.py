"""What the agent API costs per turn: hooks, tracing and typed output against a plain run.

The 20-turn loop of bench_session_overhead.py (one function call per turn, a tool that returns at
once, the final answer a small JSON object) against the local server in another process.
Contenders run interleaved, run after run, so load on the machine hits them alike; the figures
are ratios against the plain run of the same process (benchmark-method.md).

    python benchmarks/bench_agent_api.py [--turns 20] [--runs 15] [--tps 0]

- ``plain``: no agent API option (the cost every user pays: a few attribute checks per turn);
- ``hooks``: one Hooks object overriding all four methods with no-ops (two awaits per call);
- ``tracing``: OpenTelemetry SDK spans into an in-memory exporter (needs opentelemetry-sdk);
- ``typed``: ``output_type`` on the run (a per-run settings copy, one validation).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from pydantic import BaseModel

from responses_fast import AgentSession, Hooks

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a clean clone: benchmarks/ is not installed
    sys.path.insert(0, str(ROOT))

from benchmarks._step_server import served, step, step_script  # noqa: E402


class Done(BaseModel):
    done: bool


class NoOp(Hooks):
    def before_model_call(self, call: Any) -> None:
        pass

    def after_model_call(self, call: Any, response: Any) -> None:
        pass

    async def before_tool_call(self, call: Any) -> None:
        return None

    async def after_tool_call(self, call: Any, result: Any) -> None:
        pass




def _tracer_provider() -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    return provider


async def _one_run(base_url: str, contender: str, provider: Any) -> tuple[float, list[float]]:
    options: dict[str, Any] = {}
    if contender == "hooks":
        options["hooks"] = [NoOp()]
    if contender == "tracing":
        options["tracing"] = provider
    async with AgentSession(
        "scripted", tools=[step], base_url=base_url, api_key="sk-bench", policy=None, **options
    ) as session:
        start = time.perf_counter()
        if contender == "typed":
            result = await session.run("go", output_type=Done)
            assert result.output == Done(done=True)
        else:
            result = await session.run("go")
        wall = time.perf_counter() - start
    return wall, [t.overhead for t in result.turns]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=20)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--tps", type=float, default=0.0, help="model tokens/s (0 = unpaced)")
    args = ap.parse_args()
    contenders = ["plain", "hooks", "tracing", "typed"]
    provider = _tracer_provider()

    walls: dict[str, list[float]] = {c: [] for c in contenders}
    overheads: dict[str, list[float]] = {c: [] for c in contenders}
    script = step_script(args.turns, args.tps, final='{"done": true}')
    with served(script) as base_url:
        for c in contenders:  # warm-up: imports, encodings, the first connection
            anyio.run(_one_run, base_url, c, provider)
        for _ in range(args.runs):
            for c in contenders:
                wall, over = anyio.run(_one_run, base_url, c, provider)
                walls[c].append(wall)
                overheads[c] += over

    print(f"{args.runs} runs x {args.turns} turns per contender, {args.tps:g} tok/s, loopback")
    base_wall = statistics.median(walls["plain"])
    base_over = statistics.median(overheads["plain"])
    print(f"{'contender':<10}{'run ms':>10}{'x plain':>9}{'turn overhead ms':>18}{'x plain':>9}")
    for c in contenders:
        w = statistics.median(walls[c])
        o = statistics.median(overheads[c])
        print(f"{c:<10}{w * 1e3:>10.2f}{w / base_wall:>9.2f}{o * 1e3:>18.3f}{o / base_over:>9.2f}")


if __name__ == "__main__":
    main()
