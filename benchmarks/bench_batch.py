"""Batch throughput: the 20-task sample batch against the local server, one machine and Ray.

    python benchmarks/bench_batch.py [--tps 1000] [--jobs 1 2 4] [--no-ray] [--json out.json]

The local server runs in its own process (scripted models at ``--tps`` tokens/s); the batch
driver runs here. For each configuration: wall time, tasks per minute, the driver's own time per
task (store claims and result transactions, as ``BatchSummary.driver_ms_per_task``) and the
driver process's whole CPU per task (event loop, pipes, JSON: ``getrusage`` delta / tasks).

Per-session figures for sizing (the note on 1,000 concurrent agents):

- memory per idle session: RSS growth of this process with ``--idle`` sessions open (each with
  the coding tools, connected over WebSocket), divided by their number;
- CPU per streamed event: this process's CPU time while ``--streams`` sessions each receive one
  long streamed answer, divided by the events they received;
- a worker process's baseline RSS (the interpreter with the package imported).

Figures depend on the machine and its load; compare rows of the same run, not across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio

from responses_fast.batch import (
    TaskSpec,
    WorkspaceSource,
    run_batch,
    sample_scripts,
    sample_tasks,
)
from responses_fast.batch.store import ResultStore
from responses_fast.session import AgentSession
from responses_fast.tools.builtin import coding_tools

STREAM_CHARS = 8000  # one answer of ~2000 delta events (the server sends <= 4 chars per delta)

_SERVER = """
import json, sys
from responses_fast.server import serve_in_thread
scripts = json.loads(sys.stdin.readline())
with serve_in_thread(None, scripts=scripts, tokens_per_second=float(sys.argv[1]) or None) as s:
    print(s.base_url, flush=True)
    sys.stdin.readline()
"""


def start_server(tps: float) -> tuple[subprocess.Popen[str], str]:
    scripts: dict[str, Any] = dict(sample_scripts())
    scripts["stream"] = [[{"type": "message", "text": "word " * (STREAM_CHARS // 5)}]]
    scripts["noop"] = [["Done."]]
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(tps)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(scripts) + "\n")
    proc.stdin.flush()
    return proc, proc.stdout.readline().strip()


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_children() -> float:
    """CPU of reaped children: worker processes and, through them, the tools and checks."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def rss_mib(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def noop_tasks(folder: Path, n: int) -> list[TaskSpec]:
    """n tasks whose model answers at once, with no check: what is left is the batch machinery."""
    repo = folder / "noop-repo"
    repo.mkdir(exist_ok=True)
    (repo / "README.md").write_text("nothing to do\n")
    return [
        TaskSpec(
            id=f"noop-{i}",
            prompt="Say done.",
            workspace=WorkspaceSource(path=str(repo)),
            model="scripted:noop",
            tools=[],
        )
        for i in range(n)
    ]


def batch_row(
    label: str, base_url: str, folder: Path, tasks: list[TaskSpec] | None = None, **options: Any
) -> dict[str, Any]:
    db = folder / f"{label}.db"
    cpu0, child0 = cpu_self(), cpu_children()
    summary = run_batch(tasks or sample_tasks(), db, base_url=base_url, **options)
    cpu = cpu_self() - cpu0
    children = cpu_children() - child0
    with ResultStore.read(db) as store:
        results = store.results()
    events = sum(t["events"] for r in results for t in r["turns"])
    task_wall = sum(r["wall_s"] for r in results)
    return {
        "config": label,
        "tasks": summary.total,
        "passed": summary.counts.get("passed", 0),
        "wall_s": round(summary.wall_s, 2),
        "tasks_per_min": round(summary.tasks_per_minute, 1),
        "driver_store_ms_per_task": round(summary.driver_ms_per_task, 3),
        "driver_cpu_ms_per_task": round(1000 * cpu / max(summary.finished, 1), 2),
        # Ray actors are the raylet's children, not ours: their CPU is not seen here.
        "batch_cpu_s": None if options.get("backend") == "ray" else round(cpu + children, 2),
        "events": events,
        "events_per_agent_s": round(events / task_wall, 1) if task_wall else 0.0,
    }


async def idle_sessions(base_url: str, n: int) -> float:
    """KiB of RSS per open, idle session (coding tools, WebSocket connected)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-batch-idle-"))
    # One session first, so imports and caches are not counted per session.
    async with AgentSession("scripted", base_url=base_url, warmup=False,
                            tools=coding_tools(folder)):  # fmt: skip
        pass
    before = rss_mib()
    sessions = [
        AgentSession("scripted", base_url=base_url, warmup=False, tools=coding_tools(folder))
        for _ in range(n)
    ]
    async with AsyncExitStack() as stack:  # closed in reverse order, as task groups need
        for s in sessions:
            await stack.enter_async_context(s)
        after = rss_mib()
    return (after - before) * 1024 / n


async def stream_cpu(base_url: str, n: int) -> tuple[float, int]:
    """(CPU µs per streamed event, events) for n sessions each receiving one long answer."""
    events = 0

    async def one() -> None:
        nonlocal events
        async with AgentSession("scripted:stream", base_url=base_url, warmup=False) as s:
            result = await s.run("stream")
            events += sum(t.events for t in result.turns)

    # warm-up run: imports, tiktoken, first connection
    await one()
    events = 0
    cpu0 = cpu_self()
    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(one)
    return 1e6 * (cpu_self() - cpu0) / max(events, 1), events


def worker_baseline_mib() -> float:
    code = "import responses_fast.batch.worker, responses_fast.batch.runner, os; print(os.getpid())"
    proc = subprocess.Popen(
        [sys.executable, "-c", code + "; import sys; sys.stdin.readline()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    pid = proc.stdout.readline().strip()
    mib = rss_mib(pid)
    proc.stdin.write("\n")
    proc.stdin.flush()
    proc.wait()
    return mib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tps", type=float, default=1000.0, help="server tokens/s (0 = unpaced)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="local -j values")
    parser.add_argument("--concurrency", type=int, default=8, help="tasks per worker at once")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray configuration")
    parser.add_argument("--idle", type=int, default=200, help="idle sessions for the memory row")
    parser.add_argument("--streams", type=int, default=20, help="sessions for the CPU row")
    parser.add_argument("--overhead-tasks", type=int, default=300,
                        help="no-op tasks for the driver-overhead row (0 = skip)")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()

    server, base_url = start_server(args.tps)
    rows: list[dict[str, Any]] = []
    out: dict[str, Any] = {"tps": args.tps, "cpus": os.cpu_count(), "rows": rows}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
            folder = Path(tmp)
            for j in args.jobs:
                rows.append(
                    batch_row(
                        f"local -j {j}", base_url, folder, jobs=j, concurrency=args.concurrency
                    )
                )
                print(rows[-1], flush=True)
            if args.overhead_tasks:
                rows.append(
                    batch_row(
                        f"no-op x{args.overhead_tasks} -j 2",
                        base_url,
                        folder,
                        noop_tasks(folder, args.overhead_tasks),
                        jobs=2,
                        concurrency=32,
                    )
                )
                print(rows[-1], flush=True)
            if not args.no_ray:
                import ray

                t0 = time.perf_counter()
                ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
                out["ray_init_s"] = round(time.perf_counter() - t0, 2)
                try:
                    rows.append(
                        batch_row(
                            "ray -j 2",
                            base_url,
                            folder,
                            jobs=2,
                            backend="ray",
                            concurrency=args.concurrency,
                        )
                    )
                    print(rows[-1], flush=True)
                finally:
                    ray.shutdown()
        out["idle_session_kib"] = round(anyio.run(idle_sessions, base_url, args.idle), 1)
        us, events = anyio.run(stream_cpu, base_url, args.streams)
        out["cpu_us_per_event"] = round(us, 2)
        out["stream_events"] = events
        out["worker_baseline_mib"] = round(worker_baseline_mib(), 1)
    finally:
        assert server.stdin is not None
        server.stdin.write("\n")
        server.stdin.flush()
        server.wait(timeout=30)

    # Sizing 1,000 concurrent agents from the per-session figures: each agent streams at the
    # average event rate the sample batch showed (streaming, tools and tests included).
    rate = max((r["events_per_agent_s"] for r in rows if r["config"].startswith(("local", "ray"))),
               default=0.0)  # fmt: skip
    cores = 1000 * rate * out["cpu_us_per_event"] / 1e6
    memory_mib = 1000 * out["idle_session_kib"] / 1024
    worst = 1000 * args.tps * out["cpu_us_per_event"] / 1e6 if args.tps else float("nan")
    out["per_1000_agents"] = {
        "events_per_s": round(1000 * rate),
        "cores_for_events": round(cores, 2),
        "cores_if_all_stream_at_once": round(worst, 1),
        "session_memory_mib": round(memory_mib, 1),
    }
    print()
    head = f"{'driver store ms/task':>21} {'driver CPU ms/task':>19} {'batch CPU s':>12}"
    print(f"{'config':<18} {'passed':>6} {'wall s':>8} {'tasks/min':>10} {head}")
    for r in rows:
        print(f"{r['config']:<18} {r['passed']:>6} {r['wall_s']:>8} {r['tasks_per_min']:>10} "
              f"{r['driver_store_ms_per_task']:>21} {r['driver_cpu_ms_per_task']:>19} "
              f"{r['batch_cpu_s'] if r['batch_cpu_s'] is not None else '-':>12}")  # fmt: skip
    print()
    print(f"memory per idle session   {out['idle_session_kib']} KiB ({args.idle} sessions)")
    print(f"CPU per streamed event    {out['cpu_us_per_event']} µs ({events} events)")
    print(f"worker process baseline   {out['worker_baseline_mib']} MiB RSS")
    p = out["per_1000_agents"]
    print(
        f"1,000 agents at {rate:g} events/s each: {p['events_per_s']} events/s = "
        f"{p['cores_for_events']} cores of event handling, {p['session_memory_mib']} MiB of "
        "sessions (plus the worker processes' baselines and the tools' own processes)"
    )
    print(
        f"worst case, all 1,000 streaming at {args.tps:g} tok/s at once: "
        f"{p['cores_if_all_stream_at_once']} cores"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
