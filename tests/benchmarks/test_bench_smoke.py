"""The agent-loop benchmark machinery on a 2-turn workload: it runs, every contender completes,
and the report has its structure. No timing assertions (benchmark-method.md §4.6)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest.importorskip("openai")

from benchmarks.agent_loop.report import (  # noqa: E402
    COLUMNS,
    all_rows,
    load_result,
    table_text,
    write_report,
)
from benchmarks.agent_loop.runner import BenchParams, run_benchmark  # noqa: E402
from benchmarks.agent_loop.server_proc import CostModel  # noqa: E402
from benchmarks.agent_loop.workload import build_workload, floor_seconds  # noqa: E402


def test_floor_is_computed_from_the_script() -> None:
    w = build_workload(25, tool_scale=1.0)
    assert len(w.turns) == 25 and not w.turns[-1].calls
    assert sum(len(t.calls) for t in w.turns) >= 26  # three turns with 3 parallel reads
    assert 7_000 <= len(w.instructions) <= 9_000 and len(w.tools) == 10
    f0 = floor_seconds(w, rtt=0.0, tokens_per_second=1000.0, ttft=0.0)
    f1 = floor_seconds(w, rtt=0.030, tokens_per_second=1000.0, ttft=0.0)
    # one RTT per turn plus one of TCP set-up
    assert f1 - f0 == pytest.approx(0.030 * 26)
    assert f0 > 6.0  # three 2 s test runs cannot overlap anything


def test_benchmark_smoke(tmp_path: Path) -> None:
    params = BenchParams(
        turns=2, repetitions=1, speeds=(1000.0,), delays=(0.0,), tool_scale=0.1,
        cost_model=CostModel(0.01, 0.2, 1e-7), cost_speeds=(1000.0,), cost_delays=(0.0,),
        rtt_samples=3,
    )
    result = run_benchmark(params, progress=lambda s: None)
    keys = [k for k, _ in result.contenders]
    assert keys[:4] == ["a", "b", "c", "d"] and "rf-websocket" in keys
    assert len(result.configs) == 2 and result.configs[1].cost_model is not None
    for cfg in result.configs:
        assert cfg.floor > 0 and cfg.rtt > 0
        assert {r.contender for r in cfg.runs} == set(keys)
        for run in cfg.runs:
            assert run.ok, (run.contender, run.error)
            assert run.turns == 2 and run.requests == 2 and run.bytes_sent > 0
    assert result.configs[1].floor_with_cost is not None
    assert all(r.modelled_cost > 0 for r in result.configs[1].runs)

    rows = all_rows(result)
    assert len(rows) == 2 * len(keys)
    assert all(r.completed == "1/1" and r.vs_d is not None for r in rows)
    table = table_text(result)
    for col in COLUMNS:
        assert col in table
    report, chart = write_report(result, tmp_path)
    text = report.read_text()
    assert "| config | contender | W (s) | W/W_d | W/W_e | W/Floor |" in text
    assert "EMULATED server cost model" in text and "proxy error" in text
    measured = text.split("## Results under the EMULATED server cost model")[0]
    assert "server cost model |" not in measured.split("## Results (measured)")[1]
    again = load_result(tmp_path / "results.json")  # --report-only re-renders from it
    assert table_text(again) == table

    if chart is not None:
        assert chart.stat().st_size > 0
