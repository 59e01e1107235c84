"""What a results store says: pass rate, cost and latency distributions, and a PNG chart.

``batch_report(store)`` computes the figures (pure Python over the store's rows);
``write_chart(report, path)`` draws pass/fail by task and the turns and wall-time histograms
with matplotlib's Agg backend (``pip install 'responses-fast[report]'``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .store import ResultStore

__all__ = ["BatchReport", "Distribution", "batch_report", "write_chart"]


@dataclass(frozen=True, slots=True)
class Distribution:
    """Summary of a list of numbers (0 when empty)."""

    count: int
    total: float
    mean: float
    p50: float
    p90: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        if not values:
            return cls(0, 0.0, 0.0, 0.0, 0.0, 0.0)
        s = sorted(values)
        return cls(len(s), float(sum(s)), sum(s) / len(s), _pct(s, 50), _pct(s, 90), float(s[-1]))


def _pct(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return float(sorted_values[rank - 1])


@dataclass(slots=True)
class BatchReport:
    tasks: int
    counts: dict[str, int]
    pass_rate: float
    tokens: Distribution
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    wall_s: Distribution
    turns: Distribution
    tool_calls: Distribution
    attempts: Distribution
    per_task: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def batch_report(store: ResultStore) -> BatchReport:
    """The figures of a store (finished tasks; ``counts`` covers every task)."""
    rows = store.results()
    task_rows = store.tasks()
    counts: dict[str, int] = {}
    for t in task_rows:
        counts[t.status] = counts.get(t.status, 0) + 1
    per_task = []
    for r in rows:
        usage = r["usage"] or {}
        per_task.append(
            {
                "id": r["task_id"],
                "status": r["status"],
                "turns": len(r["turns"] or []),
                "wall_s": float(r["wall_s"] or 0.0),
                "tokens": int(usage.get("total_tokens", 0)),
                "tool_calls": int(r["tool_calls"] or 0),
                "attempts": int(r["attempts"]),
                "check_exit_code": r["check_exit_code"],
            }
        )
    passed = counts.get("passed", 0)
    return BatchReport(
        tasks=len(task_rows),
        counts=counts,
        pass_rate=passed / len(task_rows) if task_rows else 0.0,
        tokens=Distribution.of([p["tokens"] for p in per_task]),
        input_tokens=sum(int((r["usage"] or {}).get("input_tokens", 0)) for r in rows),
        output_tokens=sum(int((r["usage"] or {}).get("output_tokens", 0)) for r in rows),
        cached_tokens=sum(int((r["usage"] or {}).get("cached_tokens", 0)) for r in rows),
        wall_s=Distribution.of([p["wall_s"] for p in per_task]),
        turns=Distribution.of([p["turns"] for p in per_task]),
        tool_calls=Distribution.of([p["tool_calls"] for p in per_task]),
        attempts=Distribution.of([p["attempts"] for p in per_task]),
        per_task=per_task,
    )


def write_chart(report: BatchReport, path: str | os.PathLike[str]) -> Path:
    """Draw pass/fail by task and the turns and wall-time histograms into a PNG file."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigurationError(
            "the chart needs matplotlib: pip install 'responses-fast[report]'"
        ) from None
    out = Path(path)
    tasks = report.per_task
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    try:
        ax = axes[0]
        colors = {"passed": "#2e7d32", "failed": "#c62828"}
        names = [t["id"] for t in tasks]
        ax.bar(
            range(len(tasks)),
            [t["wall_s"] for t in tasks],
            color=[colors.get(t["status"], "#757575") for t in tasks],
        )
        ax.set_xticks(range(len(tasks)))
        ax.set_xticklabels(names, rotation=90, fontsize=7)
        ax.set_ylabel("wall time (s)")
        passed = report.counts.get("passed", 0)
        ax.set_title(f"pass/fail by task: {passed}/{report.tasks} passed (green)")
        ax = axes[1]
        turns = [t["turns"] for t in tasks]
        if turns:
            ax.hist(turns, bins=range(min(turns), max(turns) + 2), color="#1565c0", align="left")
        ax.set_xlabel("turns per task")
        ax.set_ylabel("tasks")
        ax.set_title("turns")
        ax = axes[2]
        walls = [t["wall_s"] for t in tasks]
        if walls:
            ax.hist(walls, bins=min(20, max(1, len(walls))), color="#6a1b9a")
        ax.set_xlabel("wall time per task (s)")
        ax.set_ylabel("tasks")
        ax.set_title(f"wall time: p50 {report.wall_s.p50:.2f}s, p90 {report.wall_s.p90:.2f}s")
        fig.tight_layout()
        fig.savefig(out, dpi=100)
    finally:
        plt.close(fig)
    return out
