"""``responses-fast batch`` and ``responses-fast batch-report``: many tasks, one results file."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ..batch import BatchEvent, BatchSummary, ResultStore, run_batch
from ..batch.report import batch_report, write_chart
from ..errors import ConfigurationError
from ._agent import DEFAULT_MODELS, transport_help

__all__ = ["add_batch_parser", "add_batch_report_parser", "run_batch_command", "run_report"]

SAMPLE_SPEED = 1000.0


def add_batch_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "batch",
        help="run many agent tasks (a JSONL file) into a resumable SQLite results file",
        description=(
            "Run every task of TASKS (JSON Lines: id, prompt, workspace, optional model, "
            "settings, tools, check, max_turns; see docs/batch.md) with worker processes, each "
            "driving many sessions, every task in its own copy of its workspace. Results go to "
            "--out (SQLite), exactly once per task id: run the same command again to resume "
            "(finished tasks are skipped, errored ones retried up to --max-attempts). "
            "--sample runs the bundled 20-task sample against an embedded local server "
            "(offline, no key). Exit code 0 when every task passed, 1 otherwise, 2 bad input."
        ),
    )
    p.add_argument("tasks", nargs="?", metavar="TASKS", help="the task file (JSONL)")
    p.add_argument(
        "--out",
        "-o",
        default=None,
        metavar="FILE",
        help="the results store (default results.db; with --sample a temporary file)",
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        metavar="N",
        help="worker processes (Ray actors with --ray); default one per core",
    )
    p.add_argument(
        "--concurrency",
        "-c",
        type=int,
        default=8,
        metavar="N",
        help="tasks at a time per worker (default 8)",
    )
    p.add_argument(
        "--max-attempts",
        type=int,
        default=3,
        metavar="N",
        help="attempts per task before it is recorded as an error (default 3)",
    )
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="also re-run tasks that finished but failed their check",
    )
    p.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help="API base URL (default $OPENAI_BASE_URL or the OpenAI API)",
    )
    p.add_argument(
        "--transport", default="auto", metavar="NAME", help=f"{transport_help()} (default auto)"
    )
    p.add_argument(
        "--model",
        default=None,
        help=f"model for tasks that name none (default {DEFAULT_MODELS['openai']})",
    )
    p.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        metavar="VAR",
        help="environment variable holding the API key (default OPENAI_API_KEY)",
    )
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        metavar="REQ_PER_S",
        help="requests per second per provider (default: unlimited until a 429)",
    )
    p.add_argument("--ray", action="store_true", help="run the workers as Ray actors")
    p.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="Ray cluster address (default: $RAY_ADDRESS, else a local cluster)",
    )
    p.add_argument(
        "--cpus-per-worker",
        type=float,
        default=1.0,
        metavar="N",
        help="with --ray: CPUs each worker actor reserves (default 1)",
    )
    p.add_argument(
        "--sample",
        action="store_true",
        help="run the bundled 20-task sample against an embedded local server",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=SAMPLE_SPEED,
        metavar="TOK_PER_S",
        help=f"--sample: the local server's tokens/s (default {SAMPLE_SPEED:g})",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line for each task event, then the summary",
    )
    p.set_defaults(func=run_batch_command)
    return p


def add_batch_report_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "batch-report",
        help="pass rate, cost and latency of a batch results file, and a PNG chart",
        description=(
            "Read a results store written by 'responses-fast batch' and print the pass rate, "
            "token and wall-time distributions; write a PNG chart (pass/fail by task, turns and "
            "wall-time histograms; needs matplotlib: pip install 'responses-fast[report]')."
        ),
    )
    p.add_argument("store", metavar="RESULTS", help="the results store (SQLite)")
    p.add_argument(
        "--chart",
        default=None,
        metavar="FILE.png",
        help="where to write the chart (default: RESULTS with a .png suffix)",
    )
    p.add_argument("--no-chart", action="store_true", help="print the figures only")
    p.add_argument("--json", action="store_true", help="the figures as one JSON object")
    p.set_defaults(func=run_report)
    return p


# -- progress -----------------------------------------------------------------------------------


class BatchProgress:
    """A live line (done/failed/running, tasks per minute, tokens, ETA) updated per event."""

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.total = total
        self.start = time.perf_counter()
        self.passed = self.failed = self.errors = self.running = self.retries = 0
        self.tokens = 0
        self.live = Live(self._render(), console=console, refresh_per_second=4, transient=True)

    def _render(self) -> Text:
        elapsed = time.perf_counter() - self.start
        done = self.passed + self.failed + self.errors
        rate = 60.0 * done / elapsed if elapsed > 0 and done else 0.0
        remaining = max(0, self.total - done)
        eta = f"{remaining / rate * 60:.0f}s" if rate > 0 else "?"
        return Text.assemble(
            ("batch ", "bold"),
            (f"done {done}/{self.total}", "bold"),
            " · ",
            (f"passed {self.passed}", "green"),
            " · ",
            (f"failed {self.failed}", "red" if self.failed else ""),
            f" · errors {self.errors} · running {self.running} · retries {self.retries}"
            f" · {rate:.1f} tasks/min · {self.tokens:,} tokens · ETA {eta}",
        )

    def event(self, event: BatchEvent) -> None:
        if event.kind == "started":
            self.running += 1
        elif event.kind == "finished":
            self.running -= 1
            self.tokens += event.tokens
            if event.status == "passed":
                self.passed += 1
            else:
                self.failed += 1
                self.console.print(Text(f"failed: {event.task_id}", style="red"))
        elif event.kind == "retry":
            self.running -= 1
            self.retries += 1
        elif event.kind == "gave_up":
            self.running -= 1
            self.errors += 1
            self.console.print(Text(f"error: {event.task_id}: {event.error}", style="red"))
        self.live.update(self._render())


class JsonEvents:
    def event(self, event: BatchEvent) -> None:
        record = {"type": event.kind, "task_id": event.task_id, "attempt": event.attempt_id,
                  "worker": event.worker, "status": event.status or None,
                  "tokens": event.tokens, "wall_s": round(event.wall_s, 4),
                  "error": event.error}  # fmt: skip
        sys.stdout.write(orjson.dumps(record).decode() + "\n")
        sys.stdout.flush()


def summary_table(summary: BatchSummary) -> Table:
    table = Table(title=f"batch summary: {summary.store}", show_header=True)
    table.add_column("")
    table.add_column("value", justify="right")
    counts = summary.counts
    total = summary.total
    passed = counts.get("passed", 0)
    rows = [
        ("tasks", f"{total}"),
        (
            "passed / failed / error",
            f"{passed} / {counts.get('failed', 0)} / {counts.get('error', 0)}",
        ),
        ("pass rate", f"{100.0 * passed / total:.1f}%" if total else "-"),
        ("ran this time", f"{summary.finished} of {summary.runnable} runnable"),
        ("retries / crashed workers", f"{summary.retries} / {summary.crashes}"),
        ("429 throttles", f"{summary.throttles}"),
        ("tokens", f"{summary.tokens:,}"),
        ("wall time", f"{summary.wall_s:.2f}s"),
        ("tasks per minute", f"{summary.tasks_per_minute:.1f}"),
        ("driver time per task", f"{summary.driver_ms_per_task:.2f} ms"),
        ("backend", f"{summary.backend}, {summary.workers} workers"),
    ]
    for k, v in rows:
        table.add_row(k, v)
    return table


# -- commands -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _sample_server(speed: float) -> Iterator[str]:
    from ..batch import sample_scripts
    from ..server import serve_in_thread

    with serve_in_thread(None, scripts=sample_scripts(), tokens_per_second=speed or None) as s:
        yield s.base_url


def run_batch_command(args: argparse.Namespace) -> int:
    if args.sample == bool(args.tasks):
        raise ConfigurationError("give a task file, or --sample for the bundled sample batch")
    if args.speed < 0:
        raise ConfigurationError("--speed must not be negative")
    from ..batch import load_tasks, sample_tasks

    specs = sample_tasks() if args.sample else load_tasks(args.tasks)  # validate before all else
    console = Console(highlight=False, stderr=bool(args.json))
    tmp: tempfile.TemporaryDirectory[str] | None = None
    out = args.out
    if out is None:
        if args.sample:
            tmp = tempfile.TemporaryDirectory(prefix="responses-fast-batch-")
            out = os.path.join(tmp.name, "sample.db")
        else:
            out = "results.db"
    options: dict[str, Any] = {
        "jobs": args.jobs, "concurrency": args.concurrency, "max_attempts": args.max_attempts,
        "retry_failed": args.retry_failed, "transport": args.transport,
        "backend": "ray" if args.ray else "local",
        "ray_address": args.ray_address or os.environ.get("RAY_ADDRESS") or None,
        "cpus_per_worker": args.cpus_per_worker, "default_rate": args.rate,
        "model": args.model or DEFAULT_MODELS["openai"],
    }  # fmt: skip
    try:
        with contextlib.ExitStack() as stack:
            if args.sample:
                options["base_url"] = stack.enter_context(_sample_server(args.speed))
                options["provider"] = "local"
            else:
                options["base_url"] = args.base_url or os.environ.get("OPENAI_BASE_URL") or None
                options["api_key"] = os.environ.get(args.api_key_env) or None
            summary = _run(specs, out, options, console, args.json)
    finally:
        if tmp is not None:
            tmp.cleanup()
    counts = summary.counts
    return 0 if counts.get("passed", 0) == summary.total else 1


def _run(
    specs: Any, out: str, options: dict[str, Any], console: Console, json_mode: bool
) -> BatchSummary:
    if json_mode:
        summary = run_batch(specs, out, on_event=JsonEvents().event, **options)
        record = {"type": "summary", **summary.to_dict()}
        sys.stdout.write(orjson.dumps(record).decode() + "\n")
        return summary
    progress = BatchProgress(console, len(specs))
    console.print(Text(f"batch: {len(specs)} tasks -> {out}", style="bold"))
    with progress.live:
        summary = run_batch(specs, out, on_event=progress.event, **options)
    if summary.runnable < summary.total:
        console.print(
            Text(f"resumed: {summary.total - summary.runnable} tasks already finished, skipped")
        )
    console.print(summary_table(summary))
    return summary


def run_report(args: argparse.Namespace) -> int:
    store = ResultStore.read(args.store)
    try:
        report = batch_report(store)
    finally:
        store.close()
    chart: Path | None = None
    if not args.no_chart:
        chart = write_chart(report, args.chart or Path(args.store).with_suffix(".png"))
    if args.json:
        data = report.to_dict()
        data["chart"] = str(chart) if chart else None
        sys.stdout.write(orjson.dumps(data).decode() + "\n")
        return 0
    console = Console(highlight=False)
    table = Table(title=f"batch report: {args.store}")
    for col in ("", "count", "total", "mean", "p50", "p90", "max"):
        table.add_column(col, justify="right" if col else "left")
    for name, d, fmt in (
        ("tokens per task", report.tokens, "{:,.0f}"),
        ("wall time per task (s)", report.wall_s, "{:.2f}"),
        ("turns per task", report.turns, "{:.1f}"),
        ("tool calls per task", report.tool_calls, "{:.1f}"),
        ("attempts per task", report.attempts, "{:.1f}"),
    ):
        table.add_row(name, str(d.count), *(fmt.format(v) for v in (d.total, d.mean, d.p50,
                                                                      d.p90, d.max)))  # fmt: skip
    counts = " · ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
    console.print(Group(
        Text(f"{report.tasks} tasks · {counts} · pass rate {100 * report.pass_rate:.1f}%",
             style="bold"),
        Text(f"tokens: {report.input_tokens:,} in ({report.cached_tokens:,} cached), "
             f"{report.output_tokens:,} out"),
        table,
    ))  # fmt: skip
    if chart is not None:
        console.print(Text(f"chart: {chart}"))
    return 0
