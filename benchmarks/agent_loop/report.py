"""Turns a :class:`BenchResult` into rows, a printed table, a Markdown report and a PNG chart.

Ratios are taken within one repetition (same index, same configuration) and then summarised as
median [min-max] over repetitions: absolute wall times on a shared, noisy machine drift between
repetitions, ratios between interleaved neighbours much less (benchmark-method.md §4.5).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from .runner import BenchParams, BenchResult, ConfigResult, RunRecord
from .server_proc import CostModel

__all__ = ["COLUMNS", "Row", "load_result", "rows_for", "table_text", "write_report"]

COLUMNS = (
    "config", "contender", "W (s)", "W/W_d", "W/W_e", "W/Floor", "overhead/turn (ms)",
    "client CPU/turn (ms)", "CPU/CPU_d", "KB sent/turn", "requests", "conns", "server CPU %",
    "turns ok",
)
#: The headline baseline: the competent hand-written SDK loop (d); (e) is the null client.
BASELINE, NULL = "d", "e"


@dataclass(frozen=True, slots=True)
class Stat:
    median: float
    lo: float
    hi: float

    def fmt(self, digits: int = 3) -> str:
        if self.lo == self.hi:
            return f"{self.median:.{digits}f}"
        return f"{self.median:.{digits}f} [{self.lo:.{digits}f}-{self.hi:.{digits}f}]"


def _stat(values: Sequence[float]) -> Stat | None:
    return Stat(statistics.median(values), min(values), max(values)) if values else None


@dataclass(frozen=True, slots=True)
class Row:
    config: str
    contender: str
    wall: Stat | None
    vs_d: Stat | None
    vs_e: Stat | None
    vs_floor: Stat | None
    overhead_ms: Stat | None  # (W - floor) / turns
    cpu_ms: Stat | None  # client CPU per turn
    cpu_vs_d: Stat | None
    kb_sent: float | None  # per turn
    requests: float | None
    connections: float | None
    server_share: float | None  # server process CPU / wall, %: is the server a bottleneck?
    completed: str  # "k/n" runs that completed every turn

    def cells(self) -> list[str]:
        def f(s: Stat | None, digits: int = 3) -> str:
            return s.fmt(digits) if s else "-"

        def g(v: float | None, digits: int = 1) -> str:
            return f"{v:.{digits}f}" if v is not None else "-"

        return [self.config, self.contender, f(self.wall, 2), f(self.vs_d), f(self.vs_e),
                f(self.vs_floor), f(self.overhead_ms, 1), f(self.cpu_ms, 2), f(self.cpu_vs_d, 2),
                g(self.kb_sent),
                g(self.requests, 0), g(self.connections, 0), g(self.server_share, 0),
                self.completed]


def rows_for(cfg: ConfigResult, contenders: Sequence[str], turns: int) -> list[Row]:
    floor = cfg.floor_with_cost if cfg.floor_with_cost is not None else cfg.floor
    by_rep: dict[int, dict[str, RunRecord]] = {}
    for r in cfg.runs:
        by_rep.setdefault(r.repetition, {})[r.contender] = r
    rows = []
    for key in contenders:
        runs = [reps[key] for reps in by_rep.values() if key in reps]
        ok = [r for r in runs if r.ok]
        def ratios(base: str, attr: str = "wall", key: str = key) -> list[float]:
            # Within one repetition only: neighbours in time share the machine's state.
            return [getattr(reps[key], attr) / getattr(reps[base], attr)
                    for reps in by_rep.values()
                    if key in reps and base in reps and reps[key].ok and reps[base].ok
                    and getattr(reps[base], attr) > 0]

        rows.append(Row(
            config=cfg.name, contender=key,
            wall=_stat([r.wall for r in ok]),
            vs_d=_stat(ratios(BASELINE)),
            vs_e=_stat(ratios(NULL)),
            vs_floor=_stat([r.wall / floor for r in ok]),
            overhead_ms=_stat([(r.wall - floor) / turns * 1e3 for r in ok]),
            cpu_ms=_stat([r.cpu / turns * 1e3 for r in ok]),
            cpu_vs_d=_stat(ratios(BASELINE, "cpu")),
            kb_sent=statistics.median([r.bytes_sent / turns / 1024 for r in ok]) if ok else None,
            requests=statistics.median([r.requests for r in ok]) if ok else None,
            connections=statistics.median([r.connections for r in ok]) if ok else None,
            server_share=statistics.median([100 * r.server_cpu / r.wall for r in ok])
            if ok else None,
            completed=f"{len(ok)}/{len(runs)}",
        ))
    return rows


def all_rows(result: BenchResult) -> list[Row]:
    keys = [k for k, _ in result.contenders]
    return [row for cfg in result.configs for row in rows_for(cfg, keys, result.turns)]


def _markdown_table(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def table_text(result: BenchResult) -> str:
    """A fixed-width table for the terminal."""
    rows = [list(COLUMNS)] + [r.cells() for r in all_rows(result)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    out = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def _header(result: BenchResult) -> str:
    p = result.params
    lines = [
        f"# Agent-loop benchmark: {result.workload}",
        "",
        f"Started {result.started}, took {result.duration:.0f} s on {result.machine}. "
        f"{p.repetitions} repetition(s), contenders interleaved in rotated order; "
        f"TTFT {', '.join(f'{t * 1e3:g}' for t in (p.ttfts or (p.ttft,)))} ms; "
        f"tool durations x{p.tool_scale:g}; "
        + ("TLS (https/wss, throwaway CA; floor set-up 2 RTT)." if p.tls else "no TLS."),
        "",
        "Contenders: " + "; ".join(f"**{k}** = {label}" for k, label in result.contenders) + ".",
        "",
        "## Network path per configuration",
        "",
        "| config | measured RTT (ms) | p90 (ms) | 2d (ms) | direct loopback RTT (ms) "
        "| proxy error (ms) | set-up, connect + 1st ping (ms) | floor (s) "
        "| floor incl. modelled server cost (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in result.configs:
        fc = f"{c.floor_with_cost:.2f}" if c.floor_with_cost is not None else "-"
        lines.append(
            f"| {c.name} | {c.rtt * 1e3:.3f} | {c.rtt_p90 * 1e3:.3f} | {2 * c.delay * 1e3:g} "
            f"| {c.direct_rtt * 1e3:.3f} | {c.proxy_error * 1e3:+.3f} | {c.setup * 1e3:.2f} "
            f"| {c.floor:.2f} | {fc} |")
    for c in result.configs:
        if c.cost_model is None:
            continue
        charged: dict[str, list[float]] = {}
        for r in c.runs:
            charged.setdefault(r.contender, []).append(r.modelled_cost)
        per = ", ".join(f"{k} {statistics.median(v):.2f} s" for k, v in charged.items())
        lines += ["", f"**{c.name}** ({c.cost_model.label()}): modelled server time charged "
                      f"per run, median: {per}."]
    return "\n".join(lines)


_READ = """
## How to read this

- **W**: wall time of the whole run (client objects built before the clock starts for every
  contender; connection set-up and the final answer inside it), median [min-max] over
  repetitions. **W/W_d**: ratio to contender (d), the competent hand-written SDK loop, *in the
  same repetition*: the headline. **W/W_e**: ratio to (e), the null client (raw picows + orjson,
  same pipelining, nothing else): how far from the limit of a Python client on this machine.
- **CPU/CPU_d**: client CPU of the run over (d)'s in the same repetition: what decides how many
  agents one machine can drive.
- **W/Floor**: ratio to the physical floor computed from the script (generation of every turn at
  the scripted rate, one measured RTT per turn, tools that cannot overlap generation, one RTT of
  TCP set-up). Configurations marked "server cost model" are EMULATED: the local server charges a
  modelled per-request and per-uncached-token cost (see docs/benchmarks.md); there the floor column
  includes the least that model can charge; those rows are in their own table and chart.
- **overhead/turn**: (W - floor) / turns. **client CPU/turn**: CPU time of the benchmark process
  (clients only; server and proxy run in other processes) / turns. **KB sent/turn**: request
  payload bytes the server received, per turn.
"""


def write_report(result: BenchResult, out_dir: Path) -> tuple[Path, Path | None]:
    """Write report.md, results.json and chart.png (+ chart-cost-model.png when the emulated
    server cost model ran: modelled figures never share a chart or a table with measured ones)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = all_rows(result)
    measured = [r for r in rows if "server cost model" not in r.config]
    modelled = [r for r in rows if "server cost model" in r.config]
    chart = _chart(result, measured, out_dir / "chart.png",
                   "agent loop, measured (no server cost emulated)")
    md = [_header(result), "", "## Results (measured)", "", _markdown_table(measured)]
    if chart is not None:
        md += ["", f"![W/Floor and W/W_d per configuration]({chart.name})"]
    if modelled:
        cost_chart = _chart(result, modelled, out_dir / "chart-cost-model.png",
                            "EMULATED server cost model (a model, not a measurement)")
        md += ["", "## Results under the EMULATED server cost model", "",
               "These rows are a model: the local server adds a modelled per-request and "
               "per-uncached-token cost (see docs/benchmarks.md). They are not measurements "
               "of any real API.", "", _markdown_table(modelled)]
        if cost_chart is not None:
            md += ["", f"![emulated server cost model]({cost_chart.name})"]
    md.append(_READ)
    report = out_dir / "report.md"
    report.write_text("\n".join(md) + "\n")
    (out_dir / "results.json").write_bytes(
        orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2))
    return report, chart


def _chart(result: BenchResult, rows: Sequence[Row], path: Path, title: str) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    keys = [k for k, _ in result.contenders]
    configs = list(dict.fromkeys(r.config for r in rows))
    if not configs:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(max(8.0, 1.6 * len(configs) * 2), 4.5))
    width = 0.8 / max(len(keys), 1)
    for ax, attr, title in ((axes[0], "vs_floor", "W / Floor (lower is better, 1 = floor)"),
                            (axes[1], "vs_d", "W / W_d (same repetition; d = best SDK loop)")):
        for i, key in enumerate(keys):
            vals = []
            for cfg in configs:
                row = next((r for r in rows if r.config == cfg and r.contender == key), None)
                s = getattr(row, attr) if row else None
                vals.append(s.median if s else 0.0)
            xs = [j + (i - (len(keys) - 1) / 2) * width for j in range(len(configs))]
            ax.bar(xs, vals, width, label=key)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(configs)))
        ax.set_xticklabels(configs, rotation=20, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(keys), fontsize=8)
    fig.suptitle(f"{result.workload}: {title}", fontsize=11)
    fig.tight_layout(rect=(0, 0.07, 1, 1))  # room for the legend under the panels
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def load_result(path: Path) -> BenchResult:
    """Read a results.json back (to re-render a report with newer report code)."""
    data = orjson.loads(path.read_bytes())

    def cost(d: dict[str, float] | None) -> CostModel | None:
        return CostModel(**d) if d else None

    p = dict(data["params"])
    for k in ("speeds", "delays", "cost_speeds", "cost_delays", "contenders", "ttfts"):
        p[k] = tuple(p.get(k, ()))
    p["cost_model"] = cost(p["cost_model"])
    configs = []
    for c in data["configs"]:
        c = dict(c)
        runs = [RunRecord(**r) for r in c.pop("runs")]
        c["cost_model"] = cost(c["cost_model"])
        configs.append(ConfigResult(**c, runs=runs))
    return BenchResult(
        params=BenchParams(**p), workload=data["workload"], turns=data["turns"],
        contenders=[(str(k), str(label)) for k, label in data["contenders"]],
        configs=configs, started=data["started"], duration=data["duration"],
        machine=data["machine"],
    )
