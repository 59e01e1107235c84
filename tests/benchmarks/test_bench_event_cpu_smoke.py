"""The CPU-per-event benchmark runs end to end on a tiny unpaced workload and reports every
contender (no timing assertions: benchmark-method.md §4.6)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_event_cpu_smoke(tmp_path: Path) -> None:
    out = tmp_path / "cpu.json"
    args = ["--repeats", "1", "--turns", "2", "--chars", "80", "--tps", "0", "--loops", "asyncio"]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_event_cpu", *args, "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())["results"]
    labels = " | ".join(results)
    needles = ["websocket run()", "websocket stream()", "transport only", "http run()"]
    for needle in [*needles, "chat run()", "raw websockets"]:
        assert needle in labels, labels
    assert all(len(v) == 1 and v[0] > 0 for v in results.values())
