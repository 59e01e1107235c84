"""benchmarks/bench_sandbox.py runs and prints its two tables (no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_sandbox_runs() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_sandbox.py"), "--reps", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "added median" in proc.stdout and "value redaction" in proc.stdout
    assert "  none " in proc.stdout
