"""Load: many concurrent AgentSessions in one process against one local server in another.

    python benchmarks/bench_load.py [--sessions 200 --turns 20 --tps 1000 --transport websocket]
    python benchmarks/bench_load.py --client sdk ...       # (d): the SDK's connect(), pipelined
    python benchmarks/bench_load.py --find-max --tps 1000  # sessions one core drives, lag p99<=10ms

Every session runs one ``run()`` of ``--turns`` model turns (a tool call per turn, then a final
answer) against the scripted model streaming at ``--tps`` tokens per second. The client process
reports wall time, turns per second, peak RSS and memory per session (RSS growth while all the
sessions are open, divided by their number; ``--tracemalloc`` adds Python-heap figures at some CPU
cost), the worst event-loop lag (a ticker that sleeps 5 ms and measures its oversleep) and every
failure. Not a unit test: tests/reliability/test_load_smoke.py runs a 5x3 version.

``--client sdk`` runs the same load with contender (d) of the agent benchmark instead: one shared
``AsyncOpenAI`` client, one ``responses.connect()`` per session, each tool started as a task at
its ``output_item.done``. ``--find-max`` pins the client to one core and the server to the other,
then doubles the number of sessions until the event-loop lag p99 exceeds ``--lag-limit-ms`` (or a
session fails) and bisects: the largest count that held is "sessions per core".
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a clean clone: benchmarks/ is not installed
    sys.path.insert(0, str(ROOT))

from responses_fast.config import RetryPolicy, Timeouts  # noqa: E402
from responses_fast.session import AgentSession  # noqa: E402
from responses_fast.tools import tool  # noqa: E402

BENCH_KEY = "sk-bench-load-key-0000000000000000000000"
TICK = 0.005


@dataclass
class Report:
    sessions: int
    turns: int
    tokens_per_second: float
    transport: str
    client: str = "rf"
    completed: int = 0
    failures: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    turns_total: int = 0
    turns_per_s: float = 0.0
    turn_p50_ms: float = 0.0
    turn_p99_ms: float = 0.0
    rss_baseline_mib: float = 0.0
    rss_peak_mib: float = 0.0
    rss_with_sessions_open_mib: float = 0.0
    kib_per_session: float = 0.0
    tracemalloc_peak_kib_per_session: float | None = None
    loop_lag_max_ms: float = 0.0
    loop_lag_p99_ms: float = 0.0
    loop_lag_max_steady_ms: float = 0.0
    loop_lag_p99_steady_ms: float = 0.0
    client_cpu_s: float = 0.0
    gc_max_pause_ms: float = 0.0
    gc_total_ms: float = 0.0
    server_rss_peak_mib: float | None = None

    def text(self) -> str:
        lines = [
            f"sessions x turns      {self.sessions} x {self.turns} ({self.client}, "
            f"{self.transport}, scripted model at {self.tokens_per_second:g} tok/s)",
            f"completed             {self.completed}/{self.sessions}  failures: "
            f"{len(self.failures)}",
            f"wall time             {self.wall_s:.2f} s  ({self.turns_total} turns, "
            f"{self.turns_per_s:.0f} turns/s)",
            f"turn latency          p50 {self.turn_p50_ms:.1f} ms  p99 {self.turn_p99_ms:.1f} ms",
            f"client RSS            baseline {self.rss_baseline_mib:.1f} MiB, with sessions open "
            f"{self.rss_with_sessions_open_mib:.1f} MiB, peak {self.rss_peak_mib:.1f} MiB",
            f"memory per session    {self.kib_per_session:.1f} KiB (RSS growth / sessions)",
        ]
        if self.tracemalloc_peak_kib_per_session is not None:
            lines.append(
                f"python heap/session   {self.tracemalloc_peak_kib_per_session:.1f} KiB "
                "(tracemalloc peak / sessions)"
            )
        lines.append(
            f"event-loop lag        worst {self.loop_lag_max_ms:.1f} ms  "
            f"p99 {self.loop_lag_p99_ms:.1f} ms  (once all sessions were open: worst "
            f"{self.loop_lag_max_steady_ms:.1f} ms, p99 {self.loop_lag_p99_steady_ms:.1f} ms)"
        )
        lines.append(
            f"client CPU            {self.client_cpu_s:.2f} s over {self.wall_s:.2f} s wall "
            f"({100 * self.client_cpu_s / self.wall_s if self.wall_s else 0:.0f}% of one core)"
        )
        lines.append(
            f"garbage collector     worst pause {self.gc_max_pause_ms:.1f} ms, "
            f"{self.gc_total_ms:.0f} ms in all"
        )
        if self.server_rss_peak_mib is not None:
            lines.append(f"server process        peak RSS {self.server_rss_peak_mib:.1f} MiB")
        for f in self.failures[:10]:
            lines.append(f"  failure: {f}")
        return "\n".join(lines)


def script(turns: int) -> list[Any]:
    """turns-1 tool turns (a sentence and a call each), then the answer."""
    sentence = "Looking at the next file of the repository now. "
    out: list[Any] = [
        [{"type": "message", "text": sentence},
         {"type": "function_call", "name": "step", "arguments": {"n": t}}]
        for t in range(turns - 1)
    ]
    out.append([{"type": "message", "text": "All steps are done; the task is complete."}])
    return out


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib(pid: int | None = None) -> float:
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def start_server(turns: int, tps: float) -> tuple[subprocess.Popen[str], str]:
    code = (
        "import json, sys\n"
        "from responses_fast.server import run_server\n"
        "run_server(port=0, script=json.loads(sys.argv[1]), tokens_per_second=float(sys.argv[2]),"
        " api_key=sys.argv[3])\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, json.dumps(script(turns)), str(tps), BENCH_KEY],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "local server on " not in line:
        proc.kill()
        raise RuntimeError(f"the server did not start: {line!r}")
    base_url = line.split("local server on ", 1)[1].split()[0]
    return proc, base_url


async def _sdk_session(client: Any, prompt: str) -> tuple[str, int]:
    """Contender (d) of the agent benchmark: one connect() per session, tools as tasks at their
    output_item.done. Returns (final text, turns)."""
    from benchmarks.agent_loop.contenders import sdk_socket_loop

    async def step(name: str, arguments: str) -> str:
        return f"step {json.loads(arguments)['n']} ok"

    tool_spec = {"type": "function", "name": "step", "description": "One step of the task.",
                 "parameters": {"type": "object", "properties": {"n": {"type": "integer"}},
                                "required": ["n"]}}
    async with client.responses.connect() as conn:
        return await sdk_socket_loop(conn, model="scripted",
                                     instructions="You are a load-test agent.",
                                     tools=[tool_spec], prompt=prompt, run_tool=step,
                                     pipelined=True)


async def run_load(
    base_url: str,
    *,
    sessions: int,
    turns: int,
    tps: float,
    transport: str = "websocket",
    use_tracemalloc: bool = False,
    server_pid: int | None = None,
    client: str = "rf",
) -> Report:
    report = Report(sessions, turns, tps, transport, client)
    sdk_client: Any = None
    if client == "sdk":
        from openai import AsyncOpenAI

        sdk_client = AsyncOpenAI(base_url=base_url, api_key=BENCH_KEY, max_retries=0)

    @tool
    def step(n: int) -> str:
        """One step of the task."""
        return f"step {n} ok"

    lags: list[float] = []
    steady_lags: list[float] = []
    done = anyio.Event()

    async def ticker() -> None:
        while not done.is_set():
            t0 = time.perf_counter()
            await anyio.sleep(TICK)
            lag = time.perf_counter() - t0 - TICK
            lags.append(lag)
            if opened.is_set():
                steady_lags.append(lag)

    turn_walls: list[float] = []
    opened = anyio.Event()
    n_open = 0
    open_rss: list[float] = []

    async def one_sdk(i: int, release: anyio.Event) -> None:
        nonlocal n_open
        try:
            n_open += 1
            if n_open == sessions:
                opened.set()
            t_start = time.perf_counter()
            final, done_turns = await _sdk_session(sdk_client, f"task {i}")
            if not final or done_turns != turns:
                report.failures.append(f"session {i}: {done_turns} turns, final {final!r}")
            else:
                report.completed += 1
            report.turns_total += done_turns
            turn_walls.append((time.perf_counter() - t_start) / max(done_turns, 1))
            await release.wait()
        except Exception as exc:
            report.failures.append(f"session {i}: {type(exc).__name__}: {exc}")

    async def one(i: int, release: anyio.Event) -> None:
        if sdk_client is not None:
            await one_sdk(i, release)
            return
        nonlocal n_open
        try:
            async with AgentSession(
                "scripted",
                tools=[step],
                instructions="You are a load-test agent.",
                base_url=base_url,
                api_key=BENCH_KEY,
                transport=transport,
                retry=RetryPolicy(initial_delay=0.05, max_attempts=5),
                timeouts=Timeouts(connect=30, read=60),
                max_turns=turns + 5,
            ) as s:
                n_open += 1
                if n_open == sessions:
                    opened.set()
                result = await s.run(f"task {i}")
                if result.status != "completed" or len(result.turns) != turns:
                    report.failures.append(
                        f"session {i}: status {result.status}, {len(result.turns)} turns"
                    )
                else:
                    report.completed += 1
                report.turns_total += len(result.turns)
                turn_walls.extend(t.wall for t in result.turns)
                await release.wait()  # keep every session open until all have finished
        except Exception as exc:
            report.failures.append(f"session {i}: {type(exc).__name__}: {exc}")
            if n_open < sessions:
                n_open += 1
                if n_open == sessions:
                    opened.set()

    # Import what the sessions import lazily, so that neither the baseline nor the loop lag
    # counts one-time imports.
    import importlib

    from responses_fast.transports.factory import choose_transport

    module = {"websocket": "websocket", "http": "http_sse", "chat": "chat_completions"}.get(
        choose_transport(transport, base_url), "websocket"
    )
    importlib.import_module(f"responses_fast.transports.{module}")
    if use_tracemalloc:
        tracemalloc.start()
    report.rss_baseline_mib = rss_mib()
    release = anyio.Event()
    gc_pauses: list[float] = []
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            gc_pauses.append(time.perf_counter() - gc_started[0])

    gc.callbacks.append(on_gc)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        async with anyio.create_task_group() as sessions_tg:
            for i in range(sessions):
                sessions_tg.start_soon(one, i, release)

            async def watch() -> None:
                await opened.wait()
                while report.completed + len(report.failures) < sessions:
                    open_rss.append(rss_mib())
                    await anyio.sleep(0.05)
                report.wall_s = time.perf_counter() - t0
                report.client_cpu_s = time.process_time() - cpu0
                open_rss.append(rss_mib())
                release.set()

            sessions_tg.start_soon(watch)
        done.set()
    gc.callbacks.remove(on_gc)
    report.gc_max_pause_ms = max(gc_pauses, default=0.0) * 1000
    report.gc_total_ms = sum(gc_pauses) * 1000
    if use_tracemalloc:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        report.tracemalloc_peak_kib_per_session = peak / 1024 / sessions
    report.rss_with_sessions_open_mib = max(open_rss, default=rss_mib())
    report.rss_peak_mib = peak_rss_mib()
    report.kib_per_session = (
        (report.rss_with_sessions_open_mib - report.rss_baseline_mib) * 1024 / sessions
    )
    report.turns_per_s = report.turns_total / report.wall_s if report.wall_s else 0.0
    if turn_walls:
        ordered = sorted(turn_walls)
        report.turn_p50_ms = statistics.median(ordered) * 1000
        report.turn_p99_ms = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    if lags:
        ordered = sorted(lags)
        report.loop_lag_max_ms = ordered[-1] * 1000
        report.loop_lag_p99_ms = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    report.loop_lag_max_steady_ms = max(steady_lags, default=0.0) * 1000
    if steady_lags:
        ordered = sorted(steady_lags)
        report.loop_lag_p99_steady_ms = (
            ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        )
    if server_pid is not None:
        report.server_rss_peak_mib = peak_rss_mib(server_pid)
    if sdk_client is not None:
        await sdk_client.close()
    return report


def stop_server(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _trial(n: int, args: argparse.Namespace) -> Report:
    proc, base_url = start_server(args.turns, args.tps)
    if args.find_max and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(proc.pid, {1})  # the server on the other core
    try:
        return anyio.run(
            lambda: run_load(base_url, sessions=n, turns=args.turns, tps=args.tps,
                             transport=args.transport, server_pid=proc.pid, client=args.client)
        )
    finally:
        stop_server(proc)


def find_max(args: argparse.Namespace) -> tuple[int, list[Report]]:
    """The most sessions one core drives with loop lag p99 <= the limit and no failure."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    limit = args.lag_limit_ms

    def holds(r: Report) -> bool:
        # Steady state (every session open and streaming): start-up imports and the connect
        # burst are not what a long batch of agents lives in.
        return not r.failures and r.completed == r.sessions and r.loop_lag_p99_steady_ms <= limit

    reports: list[Report] = []
    good, bad, n = 0, 0, args.start
    while n <= args.max_sessions:
        r = _trial(n, args)
        reports.append(r)
        print(f"  {n:5d} sessions: lag p99 {r.loop_lag_p99_steady_ms:6.1f} ms, "
              f"{r.completed}/{n} ok, CPU {100 * r.client_cpu_s / max(r.wall_s, 1e-9):.0f}%",
              flush=True)
        if not holds(r):
            bad = n
            break
        good, n = n, n * 2
    while bad and bad - good > max(good // 8, 1):  # bisect to within 1/8
        mid = (good + bad) // 2
        r = _trial(mid, args)
        reports.append(r)
        print(f"  {mid:5d} sessions: lag p99 {r.loop_lag_p99_steady_ms:6.1f} ms, "
              f"{r.completed}/{mid} ok", flush=True)
        good, bad = (mid, bad) if holds(r) else (good, mid)
    return good, reports


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--tps", type=float, default=1000.0)
    parser.add_argument("--transport", default="websocket")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument("--client", choices=("rf", "sdk"), default="rf",
                        help="rf = AgentSession; sdk = contender (d), the SDK's connect() loop")
    parser.add_argument("--find-max", action="store_true",
                        help="search the most sessions one core drives within --lag-limit-ms")
    parser.add_argument("--lag-limit-ms", type=float, default=10.0)
    parser.add_argument("--start", type=int, default=25, help="--find-max: first count")
    parser.add_argument("--max-sessions", type=int, default=1600)
    args = parser.parse_args(argv)
    if args.find_max:
        best, reports = find_max(args)
        print(f"{args.client}: {best} sessions on one core at {args.tps:g} tok/s "
              f"with event-loop lag p99 <= {args.lag_limit_ms:g} ms")
        if args.json is not None:
            args.json.write_text(json.dumps({"max_sessions": best,
                                             "trials": [asdict(r) for r in reports]}, indent=2))
        return reports[-1]
    proc, base_url = start_server(args.turns, args.tps)
    try:
        report = anyio.run(
            lambda: run_load(
                base_url,
                sessions=args.sessions,
                turns=args.turns,
                tps=args.tps,
                transport=args.transport,
                use_tracemalloc=args.tracemalloc,
                server_pid=proc.pid,
                client=args.client,
            )
        )
    finally:
        stop_server(proc)
    print(report.text())
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(report), indent=2))
    return report


if __name__ == "__main__":
    rep = main()
    sys.exit(0 if "--find-max" in sys.argv or (not rep.failures and rep.completed == rep.sessions)
             else 1)
