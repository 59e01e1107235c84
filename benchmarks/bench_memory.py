"""Memory per session at rest, bytes per logged item, and GC pauses under load (issue 15.3).

Against the local server in another process (so only the client's allocations are traced):

1. ``--sessions`` sessions are opened (connected, warmed) and held: tracemalloc's growth divided
   by their number is the memory of one session at rest; then each runs a ``--turns``-turn loop
   (a function call per turn) and the growth is measured again;
2. bytes per logged item: tracemalloc growth of the logs' items over their count;
3. GC: ``--load`` sessions run concurrently (``stream()``, or ``run()`` with ``--mode run``)
   while ``gc.callbacks`` records every collection: count per generation and the longest pause.

    python benchmarks/bench_memory.py [--sessions 20] [--turns 25] [--load 50] [--tps 0]
        [--transport websocket|http|chat] [--mode stream|run] [--freeze]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from contextlib import AsyncExitStack
from pathlib import Path

import anyio

from responses_fast import AgentSession

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a clean clone: benchmarks/ is not installed
    sys.path.insert(0, str(ROOT))

from benchmarks._step_server import served, step, step_script  # noqa: E402


def _session(base_url: str, transport: str) -> AgentSession:
    return AgentSession(
        "scripted", tools=[step], base_url=base_url, api_key="sk-bench", transport=transport,
        policy=None,
    )  # fmt: skip


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def _memory(base_url: str, n: int, transport: str) -> dict[str, float]:
    async with _session(base_url, transport) as s:  # imports, caches, the first-use costs
        await s.run("go")
    await anyio.sleep(0.2)
    tracemalloc.start()
    base = _traced()
    stack = AsyncExitStack()  # task groups nest: close in reverse order
    sessions = [await stack.enter_async_context(_session(base_url, transport)) for _ in range(n)]
    await anyio.sleep(0.5)  # warm-ups answered
    at_rest = (_traced() - base) / n
    items = 0
    for s in sessions:
        await s.run("go")
        items += len(s.log)
    after = _traced()
    after_run = (after - base) / n
    await stack.aclose()
    tracemalloc.stop()
    return {
        "at_rest_kib": at_rest / 1024,
        "after_run_kib": after_run / 1024,
        "items_per_session": items / n,
        "bytes_per_item": (after_run - at_rest) / (items / n),
    }


async def _gc_load(base_url: str, n: int, transport: str, mode: str) -> dict[str, float]:
    # Wall time of a collection includes being descheduled on a busy machine; its CPU time
    # (thread_time: this thread only) is what the collection itself cost.
    pauses: list[tuple[int, float, float]] = []
    started: dict[int, tuple[float, float]] = {}

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = (time.perf_counter(), time.thread_time())
        else:
            wall0, cpu0 = started.get(0, (0.0, 0.0))
            pauses.append(
                (info["generation"], time.perf_counter() - wall0, time.thread_time() - cpu0)
            )

    events = 0

    async def one() -> None:
        nonlocal events
        async with _session(base_url, transport) as s:
            if mode == "run":  # server events the turns received
                result = await s.run("go")
                events += sum(t.events for t in result.turns)
                return
            async with s.stream("go") as stream:  # session events yielded
                async for _ in stream:
                    events += 1

    gc.collect()
    gc.callbacks.append(on_gc)
    t0 = time.perf_counter()
    try:
        async with anyio.create_task_group() as tg:
            for _ in range(n):
                tg.start_soon(one)
    finally:
        gc.callbacks.remove(on_gc)
    wall = time.perf_counter() - t0
    by_gen = [sum(1 for g, _, _ in pauses if g == k) for k in range(3)]
    return {
        "sessions": n,
        "wall_s": wall,
        "events": events,
        "gc_gen0": by_gen[0],
        "gc_gen1": by_gen[1],
        "gc_gen2": by_gen[2],
        "gc_max_pause_ms": max((p for _, p, _ in pauses), default=0.0) * 1e3,
        "gc_max_cpu_ms": max((c for _, _, c in pauses), default=0.0) * 1e3,
        "gc_max_gen0_1_cpu_ms": max((c for g, _, c in pauses if g < 2), default=0.0) * 1e3,
        "gc_total_cpu_ms": sum(c for _, _, c in pauses) * 1e3,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--turns", type=int, default=25)
    ap.add_argument("--load", type=int, default=50)
    ap.add_argument("--tps", type=float, default=0.0, help="model tokens/s (0 = unpaced)")
    ap.add_argument("--transport", default="websocket")
    ap.add_argument("--mode", choices=["run", "stream"], default="stream")
    ap.add_argument(
        "--freeze", action="store_true", help="gc.freeze() before the load (startup objects)"
    )
    args = ap.parse_args()

    script = step_script(args.turns, args.tps)
    with served(script, "--tokens-per-second", str(args.tps)) as base_url:
        mem = anyio.run(_memory, base_url, args.sessions, args.transport)
        if args.freeze:
            gc.collect()
            gc.freeze()
        load = anyio.run(_gc_load, base_url, args.load, args.transport, args.mode)
    print(
        f"{args.transport}, {args.sessions} sessions x {args.turns} turns, loopback; "
        f"GC under {args.load} concurrent {args.mode}() at {args.tps:g} tok/s"
    )
    for k, v in {**mem, **load}.items():
        print(f"{k:<20}{v:>12.1f}")


if __name__ == "__main__":
    main()
