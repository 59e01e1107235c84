"""Per-turn client overhead of AgentSession on loopback (the issue 3 figure).

A 20-turn scripted loop (one function call per turn, a tool that returns at once) against the
local server running in another process, so the client has its own core. Prints the median and
p90 of each TurnMetrics field over the turns of several runs.

    python benchmarks/bench_session_overhead.py [--turns 20] [--runs 5] [--tps 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio

from responses_fast import AgentSession, tool


@tool
def step(n: int) -> str:
    """Return a small result."""
    return f"step {n} ok"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _script(turns: int, tps: float) -> dict[str, object]:
    body = [
        [
            {"type": "message", "text": "Working on it, checking the next piece."},
            {"type": "function_call", "name": "step", "arguments": {"n": i}},
        ]
        for i in range(turns - 1)
    ]
    body.append([{"type": "message", "text": "All steps done."}])
    return {"tokens_per_second": tps, "ttft": 0, "turns": body}


async def _one_run(base_url: str, transport: str) -> list[dict[str, float]]:
    async with AgentSession(
        "scripted", tools=[step], base_url=base_url, api_key="sk-bench", transport=transport
    ) as session:
        result = await session.run("go")
    return [
        {
            "wall_ms": t.wall * 1e3,
            "ttfe_ms": t.time_to_first_event * 1e3,
            "generating_ms": t.generating * 1e3,
            "tools_ms": t.tools * 1e3,
            "overhead_ms": t.overhead * 1e3,
            "bytes_sent": float(t.bytes_sent),
            "items_sent": float(t.items_sent),
        }
        for t in result.turns
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=20)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tps", type=float, default=1000.0, help="model tokens/s (0 = unpaced)")
    ap.add_argument("--transport", default="websocket")
    args = ap.parse_args()

    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        script_path = Path(tmp) / "script.json"
        script_path.write_text(json.dumps(_script(args.turns, args.tps)))
        server = subprocess.Popen(
            [sys.executable, "-m", "responses_fast.cli.main", "serve", "--port", str(port),
             "--script", str(script_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ},
        )
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            base_url = f"http://127.0.0.1:{port}/v1"
            rows: list[dict[str, float]] = []
            for _ in range(args.runs):
                rows += anyio.run(_one_run, base_url, args.transport)
        finally:
            server.terminate()
            server.wait(timeout=10)

    print(f"{args.transport}: {args.runs} runs x {args.turns} turns, {args.tps:g} tok/s, loopback")
    print(f"{'metric':<16}{'median':>12}{'p90':>12}")
    for key in rows[0]:
        values = sorted(r[key] for r in rows)
        p90 = values[int(0.9 * (len(values) - 1))]
        print(f"{key:<16}{statistics.median(values):>12.3f}{p90:>12.3f}")


if __name__ == "__main__":
    main()
