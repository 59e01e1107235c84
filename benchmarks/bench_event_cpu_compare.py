"""Before/after: AgentSession run()/stream() client CPU per event of two source trees.

Each tree (a checkout of responses_fast) runs in its own subprocess against one paced server (the
one of bench_event_cpu.py: 3000 tok/s, 3 turns of 1200 characters), interleaved round by round.

    git archive <commit> | tar -x -C /tmp/before
    python -m benchmarks.bench_event_cpu_compare --before /tmp/before [--after .] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from benchmarks.bench_event_cpu import make_script, start_server


def worker(tree: str, base_url: str, mode: str, transport: str, repeats: int) -> list[float]:
    code = f"""
import sys, time, anyio, json
sys.path.insert(0, {tree!r})
from responses_fast.session import AgentSession
from responses_fast.tools.spec import tool
@tool
async def step(n: int) -> str:
    '''One step.'''
    return 'ok'
async def one():
    async with AgentSession('scripted', transport={transport!r}, base_url={base_url!r},
                            api_key='k', tools=[step], warmup=False) as s:
        e0 = s.transport.stats.events_received; c0 = time.process_time()
        if {mode!r} == 'stream':
            async with s.stream('go') as st:
                async for _ in st: pass
        else:
            await s.run('go')
        return (time.process_time() - c0) / (s.transport.stats.events_received - e0) * 1e6
async def main():
    await one()
    return [await one() for _ in range({repeats})]
print(json.dumps(anyio.run(main)))
"""
    env = {**os.environ, "PYTHONPATH": tree}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode:
        print(out.stderr[-2000:])
        return []
    values: list[float] = json.loads(out.stdout.strip().splitlines()[-1])
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the source tree to compare against")
    parser.add_argument("--after", default=".", help="the source tree measured (default .)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trees = ((os.path.abspath(args.before), "before"), (os.path.abspath(args.after), "after"))
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(make_script(3, 1200), f)
    proc, url = start_server(f.name, 3000)
    try:
        res: dict[tuple[str, str, str], list[float]] = {}
        for _ in range(args.rounds):
            for tree, tag in trees:
                for transport in ("websocket", "http"):
                    for mode in ("run", "stream"):
                        key = (transport, mode, tag)
                        res.setdefault(key, []).extend(worker(tree, url, mode, transport, 2))
        print("client CPU per event (µs), median (min-max), asyncio loop")
        for (transport, mode, tag), v in sorted(res.items()):
            med = statistics.median(v)
            print(f"{transport:10s} {mode:7s} {tag:7s} {med:6.1f} ({min(v):.1f}-{max(v):.1f})")
    finally:
        proc.terminate()
        os.unlink(f.name)


if __name__ == "__main__":
    main()
