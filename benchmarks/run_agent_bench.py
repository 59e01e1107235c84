"""Agent-loop benchmark: responses_fast vs the official openai SDK loops vs the physical floor.

    python benchmarks/run_agent_bench.py --quick          # < 1 minute
    python benchmarks/run_agent_bench.py                  # the full matrix (long: 65 tok/s)

Prints a table and writes report.md, chart.png and results.json to benchmarks/results/ (or --out).
See docs/benchmarks.md for what is measured and how to read it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a clean clone, no install of benchmarks/
    sys.path.insert(0, str(ROOT))

from benchmarks.agent_loop.report import load_result, table_text, write_report  # noqa: E402
from benchmarks.agent_loop.runner import BenchParams, run_benchmark  # noqa: E402
from benchmarks.agent_loop.server_proc import DEFAULT_COST_MODEL, CostModel  # noqa: E402


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="6 turns, 1 repetition, 1000 tok/s, d=15 ms, tools x0.1 (< 1 minute)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                   help="output folder (default benchmarks/results/)")
    p.add_argument("--turns", type=int, help="model turns of the workload (default 25)")
    p.add_argument("--reps", type=int, help="repetitions (default 5)")
    p.add_argument("--speeds", type=_floats,
                   help="tokens/s, comma-separated (default 1000,3000; --quick: 1000)")
    p.add_argument("--delays-ms", type=_floats,
                   help="one-way delays in ms, 0 = direct (default 15)")
    p.add_argument("--ttft-ms", type=_floats,
                   help="scripted TTFT in ms, comma-separated; each is a configuration"
                        "\n(default 0,200,600; --quick: 0)")
    p.add_argument("--tool-scale", type=float, help="multiply tool durations (default 1)")
    p.add_argument("--cost-model", choices=("off", "on"), default="on",
                   help="also run the labelled server cost model configurations (default on)")
    p.add_argument("--cost-s-ms", type=float, default=DEFAULT_COST_MODEL.per_request * 1e3,
                   help="cost model: S, ms per full request")
    p.add_argument("--cost-ws-fraction", type=float, default=DEFAULT_COST_MODEL.ws_fraction,
                   help="cost model: WebSocket continuation cost as a fraction of S")
    p.add_argument("--cost-token-us", type=float,
                   default=DEFAULT_COST_MODEL.per_uncached_token * 1e6,
                   help="cost model: microseconds per uncached input token")
    p.add_argument("--cost-configs", default="1000@15",
                   help="speed@delay_ms list for the cost model runs (default 1000@15)")
    p.add_argument("--tls", action="store_true",
                   help="serve https/wss with a throwaway trustme CA that every contender trusts;"
                        "\nthe floor's set-up counts 2 RTT (TCP + TLS 1.3) instead of 1")
    p.add_argument("--contenders", default="", help="keys to run, e.g. a,c,rf-websocket")
    p.add_argument("--report-only", type=Path, nargs="+", metavar="RESULTS_JSON",
                   help="re-render the table and report from results.json file(s), run nothing;"
                        "\nseveral files: their configurations are shown together")
    return p.parse_args(argv)


def params_from(args: argparse.Namespace) -> BenchParams:
    quick = args.quick
    cost = None
    if args.cost_model == "on":
        cost = CostModel(args.cost_s_ms / 1e3, args.cost_ws_fraction, args.cost_token_us / 1e6)
    pairs = [c.split("@") for c in args.cost_configs.split(",") if c]
    return BenchParams(
        turns=args.turns or (6 if quick else 25),
        repetitions=args.reps or (1 if quick else 5),
        speeds=args.speeds or ((1000.0,) if quick else (1000.0, 3000.0)),
        delays=tuple(d / 1e3 for d in args.delays_ms) if args.delays_ms is not None
        else (0.015,),
        ttfts=tuple(t / 1e3 for t in args.ttft_ms) if args.ttft_ms is not None
        else ((0.0,) if quick else (0.0, 0.2, 0.6)),
        tool_scale=args.tool_scale if args.tool_scale is not None else (0.1 if quick else 1.0),
        cost_model=cost,
        cost_speeds=tuple(float(s) for s, _ in pairs),
        cost_delays=tuple(float(d) / 1e3 for _, d in pairs),
        rtt_samples=10 if quick else 30,
        contenders=tuple(k for k in args.contenders.split(",") if k),
        tls=args.tls,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    if args.report_only is not None:
        result = load_result(args.report_only[0])
        for extra in args.report_only[1:]:
            more = load_result(extra)
            result.configs += more.configs
            result.duration += more.duration
    else:
        result = run_benchmark(params_from(args), progress=lambda s: print(s, flush=True))
    print()
    print(table_text(result))
    report, chart = write_report(result, args.out)
    print(f"\nreport: {report}" + (f"\nchart:  {chart}" if chart else "\n(no chart: matplotlib"
                                    " is not installed)"))
    print(f"total {time.perf_counter() - t0:.1f} s")
    failed = [r for c in result.configs for r in c.runs if not r.ok]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
