"""Per-turn client overhead of AgentSession on loopback (the issue 3 figure).

A 20-turn scripted loop (one function call per turn, a tool that returns at once) against the
local server running in another process, so the client has its own core. Prints the median and
p90 of each TurnMetrics field over the turns of several runs.

    python benchmarks/bench_session_overhead.py [--turns 20] [--runs 5] [--tps 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import anyio

from responses_fast import AgentSession

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a clean clone: benchmarks/ is not installed
    sys.path.insert(0, str(ROOT))

from benchmarks._step_server import served, step, step_script  # noqa: E402


async def _one_run(base_url: str, transport: str) -> list[dict[str, float]]:
    async with AgentSession(
        "scripted", tools=[step], base_url=base_url, api_key="sk-bench", transport=transport
    ) as session:
        result = await session.run("go")
    return [
        {
            "wall_ms": t.wall * 1e3,
            "ttfe_ms": t.time_to_first_event * 1e3,
            "generating_ms": t.generating * 1e3,
            "tools_ms": t.tools * 1e3,
            "overhead_ms": t.overhead * 1e3,
            "bytes_sent": float(t.bytes_sent),
            "items_sent": float(t.items_sent),
        }
        for t in result.turns
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=20)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tps", type=float, default=1000.0, help="model tokens/s (0 = unpaced)")
    ap.add_argument("--transport", default="websocket")
    args = ap.parse_args()

    rows: list[dict[str, float]] = []
    with served(step_script(args.turns, args.tps)) as base_url:
        for _ in range(args.runs):
            rows += anyio.run(_one_run, base_url, args.transport)

    print(f"{args.transport}: {args.runs} runs x {args.turns} turns, {args.tps:g} tok/s, loopback")
    print(f"{'metric':<16}{'median':>12}{'p90':>12}")
    for key in rows[0]:
        values = sorted(r[key] for r in rows)
        p90 = values[int(0.9 * (len(values) - 1))]
        print(f"{key:<16}{statistics.median(values):>12.3f}{p90:>12.3f}")


if __name__ == "__main__":
    main()
