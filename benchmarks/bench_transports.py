"""Per-turn cost of each transport on the same 20-turn scripted tool loop.

The local server runs in a separate process (``python -m responses_fast.cli serve``), unpaced
(tokens are sent as fast as the server can) with no time to first token, so what is left of a
turn is the client, the transport, loopback and the server's own work. Each run is a fresh
AgentSession (connect and warm-up excluded: they happen on ``async with``); transports are
interleaved run by run so drift hits all of them alike.

Reported per transport (medians over every turn of every measured run):

- ``wall``: the whole turn, request built -> last tool output ready;
- ``ttfe``: request sent -> first event (round trip + server + decode);
- ``overhead``: AgentSession's metric, the part of the wall in which neither the model nor a
  tool was busy (request building, gaps);
- ``sent/turn``: request bytes per turn (body or frame; headers excluded), mean, and on turns 1
  and 20.

Usage::

    python benchmarks/bench_transports.py [--runs 7] [--turns 20] [--tool-output-chars 500]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

import anyio

from responses_fast.session import AgentSession
from responses_fast.session.metrics import TurnMetrics
from responses_fast.tools.spec import tool
from responses_fast.transports.base import Transport
from responses_fast.transports.cerebras import CerebrasTransport

CONTENDERS: list[tuple[str, str, bool]] = [
    # (label, transport, store)
    ("websocket", "websocket", False),
    ("http store=false", "http", False),
    ("http store=true", "http", True),
    ("chat", "chat", False),
    ("cerebras (SDK)", "cerebras", False),
    ("cerebras create()", "cerebras-create", False),
]


def make_script(turns: int) -> dict[str, Any]:
    out: list[Any] = []
    for i in range(turns - 1):
        out.append(
            [
                {"type": "message", "text": f"Step {i}: looking at file_{i}.py next."},
                {"type": "function_call", "name": "read_file", "arguments": {"path": f"f{i}.py"}},
            ]
        )
    out.append([{"type": "message", "text": "All done: the bug is fixed."}])
    return {"turns": out}


# Runs ``responses-fast serve`` with TCP_NODELAY set on the listening socket (accepted sockets
# inherit it on Linux). The server binds its own socket with proto 0, for which asyncio skips
# TCP_NODELAY, and Nagle + the peer's delayed ACK then hold every streamed response ~40 ms on
# loopback, hiding every transport difference. Harmless once the server sets it itself.
_BOOT = """
import socket, sys
import responses_fast.server.app as app
_bind = app._bind
def bind(host, port):
    sock = _bind(host, port)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
app._bind = bind
from responses_fast.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def start_server(script_path: str, as_is: bool) -> tuple[subprocess.Popen[str], str]:
    launcher = ["-m", "responses_fast.cli"] if as_is else ["-c", _BOOT]
    cmd = [
        sys.executable,
        *launcher,
        "serve",
        "--port",
        "0",
        "--script",
        script_path,
        "--tokens-per-second",
        "0",
        "--ttft",
        "0",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if " on " not in line:
        proc.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    url = line.split(" on ", 1)[1].split()[0]
    return proc, url


@dataclass
class Samples:
    turns: list[TurnMetrics] = field(default_factory=list)
    by_index: dict[int, list[int]] = field(default_factory=dict)
    runs: int = 0


async def one_run(
    base_url: str, transport: str, store: bool, output: str, max_turns: int
) -> list[TurnMetrics]:
    @tool
    async def read_file(path: str) -> str:
        """Read a file."""
        return output

    chosen: str | Transport = transport
    if transport == "cerebras-create":  # the SDK's typed create(): it re-walks the history
        chosen = CerebrasTransport(api_key="sk-bench", base_url=base_url, body="create")
    async with AgentSession(
        model="scripted",
        transport=chosen,
        base_url=base_url,
        api_key="sk-bench",
        tools=[read_file],
        store=store,
        max_turns=max_turns + 5,
    ) as session:
        result = await session.run("Fix the failing test in this repository.")
    if result.final_text != "All done: the bug is fixed." or len(result.turns) != max_turns:
        raise SystemExit(f"{transport}: unexpected run ({len(result.turns)} turns)")
    return result.turns


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1e3:7.3f}"


async def bench(args: argparse.Namespace, base_url: str) -> dict[str, Samples]:
    output = ("x" * 63 + "\n") * (args.tool_output_chars // 64)
    samples = {label: Samples() for label, _, _ in CONTENDERS}
    for run in range(args.runs + 1):  # run 0 warms imports, the server and the pools
        for label, transport, store in CONTENDERS:
            turns = await one_run(base_url, transport, store, output, args.turns)
            if run == 0:
                continue
            s = samples[label]
            s.runs += 1
            s.turns.extend(turns)
            for t in turns:
                s.by_index.setdefault(t.turn, []).append(t.bytes_sent)
    return samples


def report(samples: dict[str, Samples], turns: int) -> list[dict[str, Any]]:
    rows = []
    header = (
        f"{'transport':<18} {'wall ms':>8} {'ttfe ms':>8} {'overhead ms':>11} "
        f"{'sent/turn B':>11} {'turn 1 B':>9} {f'turn {turns} B':>10}"
    )
    print(header)
    print("-" * len(header))
    for label, s in samples.items():
        wall = [t.wall for t in s.turns]
        ttfe = [t.time_to_first_event for t in s.turns]
        over = [t.overhead for t in s.turns]
        sent = statistics.mean(t.bytes_sent for t in s.turns)
        first = statistics.mean(s.by_index[1])
        last = statistics.mean(s.by_index[turns])
        print(
            f"{label:<18} {ms(wall):>8} {ms(ttfe):>8} {ms(over):>11} "
            f"{sent:>11.0f} {first:>9.0f} {last:>10.0f}"
        )
        rows.append(
            {
                "transport": label,
                "runs": s.runs,
                "wall_ms": statistics.median(wall) * 1e3,
                "ttfe_ms": statistics.median(ttfe) * 1e3,
                "overhead_ms": statistics.median(over) * 1e3,
                "bytes_sent_per_turn": sent,
                "bytes_turn_1": first,
                f"bytes_turn_{turns}": last,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="measured runs per transport")
    parser.add_argument("--turns", type=int, default=20, help="turns per run (the loop length)")
    parser.add_argument(
        "--tool-output-chars", type=int, default=512, help="size of each tool output"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the table as JSON")
    parser.add_argument(
        "--server-as-is",
        action="store_true",
        help="run 'python -m responses_fast.cli serve' without setting TCP_NODELAY on its socket",
    )
    args = parser.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(make_script(args.turns), f)
        script_path = f.name
    proc, base_url = start_server(script_path, args.server_as_is)
    try:
        print(
            f"server: {base_url} (separate process, unpaced, ttft 0, "
            f"TCP_NODELAY {'as the server sets it' if args.server_as_is else 'on'}); "
            f"{args.runs} runs x "
            f"{args.turns} turns per transport; tool output {args.tool_output_chars} chars"
        )
        samples = anyio.run(bench, args, base_url)
        rows = report(samples, args.turns)
        if args.json:
            with open(args.json, "w") as out:
                json.dump(rows, out, indent=2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        os.unlink(script_path)


if __name__ == "__main__":
    main()
