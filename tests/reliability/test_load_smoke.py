"""A 5 x 3 version of benchmarks/bench_load.py: it runs, every session completes, and its report
holds the figures and never the key (issue 8). The full run is a benchmark, not a test."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_load.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_load", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_load_benchmark_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_bench()
    out = tmp_path / "report.json"
    report = bench.main(["--sessions", "5", "--turns", "3", "--json", str(out)])
    text = capsys.readouterr().out
    assert report.failures == []
    assert report.completed == 5
    assert report.turns_total == 15
    assert report.kib_per_session > 0 and report.loop_lag_max_ms >= 0
    for figure in ("sessions x turns", "wall time", "memory per session", "event-loop lag"):
        assert figure in text
    data = out.read_text()
    assert json.loads(data)["completed"] == 5
    for secret in (bench.BENCH_KEY, bench.BENCH_KEY[-12:]):
        assert secret not in text and secret not in data


def test_http_clients_are_cheap_to_create() -> None:
    """Each HTTP transport owns a client; building one used to load the CA bundle (~30 ms of
    blocked event loop each: 7.7 s of loop lag when 200 sessions started at once)."""
    import time

    from responses_fast.config import Timeouts
    from responses_fast.transports._http import make_client

    make_client(Timeouts())
    t0 = time.perf_counter()
    for _ in range(20):
        make_client(Timeouts())
    per_client_ms = (time.perf_counter() - t0) / 20 * 1000
    assert per_client_ms < 8, f"{per_client_ms:.1f} ms per client"
