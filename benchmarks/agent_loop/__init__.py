"""The agent-loop benchmark (issue 9): responses_fast against the official SDK loops and the floor.

Entry point: ``python benchmarks/run_agent_bench.py [--quick] [--out DIR]``; docs/benchmarks.md.
"""

from .runner import BenchParams, BenchResult, run_benchmark
from .server_proc import DEFAULT_COST_MODEL, CostModel
from .workload import Workload, build_workload, floor_seconds

__all__ = [
    "DEFAULT_COST_MODEL",
    "BenchParams",
    "BenchResult",
    "CostModel",
    "Workload",
    "build_workload",
    "floor_seconds",
    "run_benchmark",
]
