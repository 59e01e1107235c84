"""Runs the benchmark: processes, configurations, interleaved repetitions, per-run records.

Layout (benchmark-method.md §4.5): the scripted server (with the RTT echo target) in one process,
the delay proxy in another, the contenders in this one, one after another, so the process CPU
time of this process around a run is the client's CPU time. For every configuration the RTT
through the proxy is measured first and goes into the floor; contenders run in a rotated order
per repetition and ratios are taken within a repetition.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing as mp
import os
import ssl
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .contenders import Contender, LoopResult, available_contenders
from .proxy import measure_rtt, proxy_main
from .server_proc import CostModel, server_main
from .workload import Workload, build_workload, floor_seconds

__all__ = ["BenchParams", "BenchResult", "ConfigResult", "Harness", "RunRecord", "run_benchmark"]

HOST = "127.0.0.1"


@dataclass(frozen=True)
class BenchParams:
    turns: int = 25
    repetitions: int = 5
    speeds: tuple[float, ...] = (65.0, 1000.0)
    delays: tuple[float, ...] = (0.0, 0.002, 0.015, 0.040)  # one-way, seconds; 0 = direct
    ttft: float = 0.0  # kept for old results.json files; ttfts wins when set
    ttfts: tuple[float, ...] = ()  # time to first token, seconds; each is a configuration
    tool_scale: float = 1.0
    cost_model: CostModel | None = None  # when set, these configurations run again with it
    cost_speeds: tuple[float, ...] = (1000.0,)
    cost_delays: tuple[float, ...] = (0.015,)
    rtt_samples: int = 20
    contenders: tuple[str, ...] = ()  # keys to run; empty = all available
    seed: int = 7
    tls: bool = False  # the model server speaks TLS with a throwaway (trustme) CA


@dataclass(slots=True)
class RunRecord:
    contender: str
    repetition: int
    order: int  # position within the repetition's rotated order
    wall: float = 0.0
    cpu: float = 0.0
    turns: int = 0
    bytes_sent: int = 0  # payload bytes the server received (its RequestRecords)
    bytes_received: int = 0
    requests: int = 0
    connections: int = 0
    server_cpu: float = 0.0
    modelled_cost: float = 0.0  # seconds the server cost model added (0 when off)
    ok: bool = False
    error: str | None = None


@dataclass(slots=True)
class ConfigResult:
    tokens_per_second: float
    delay: float
    cost_model: CostModel | None
    rtt: float  # measured median RTT (direct loopback RTT when delay == 0)
    rtt_p90: float
    direct_rtt: float
    setup: float  # connect + first ping-pong through the path
    floor: float  # physical floor from the script with the measured RTT
    floor_with_cost: float | None  # floor plus the least the cost model can charge
    runs: list[RunRecord] = field(default_factory=list)
    ttft: float = 0.0

    @property
    def name(self) -> str:
        base = f"{self.tokens_per_second:g} tok/s, d={self.delay * 1e3:g} ms"
        if self.ttft:
            base += f", TTFT {self.ttft * 1e3:g} ms"
        return base + (", server cost model" if self.cost_model else "")

    @property
    def proxy_error(self) -> float:
        """Measured RTT - 2d - direct loopback RTT (the proxy's own bias)."""
        return self.rtt - 2 * self.delay - self.direct_rtt if self.delay > 0 else 0.0


@dataclass
class BenchResult:
    params: BenchParams
    workload: str
    turns: int
    contenders: list[tuple[str, str]]
    configs: list[ConfigResult]
    started: str
    duration: float = 0.0
    machine: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Harness:
    """Owns the server and proxy processes; ``path(d)`` gives the ports a client uses at delay d.

    ``tls=True``: a throwaway CA (trustme) issues a certificate for 127.0.0.1, the server process
    serves https/wss with it, and :attr:`client_tls` is a client context trusting only that CA.
    """

    def __init__(self, *, tls: bool = False) -> None:
        self.client_tls: ssl.SSLContext | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        files: tuple[str, ...] = ()
        if tls:
            import trustme

            ca = trustme.CA()
            cert = ca.issue_cert(HOST)
            self._tmp = tempfile.TemporaryDirectory(prefix="bench-tls-")
            crt, key = Path(self._tmp.name, "cert.pem"), Path(self._tmp.name, "key.pem")
            cert.cert_chain_pems[0].write_to_path(str(crt))
            cert.private_key_pem.write_to_path(str(key))
            files = (str(crt), str(key))
            self.client_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ca.configure_trust(self.client_tls)
        ctx = mp.get_context("spawn")  # no fork of a process that may already run threads
        self._srv_conn, child = ctx.Pipe()
        self._srv = ctx.Process(target=server_main, args=(child, *files), daemon=True)
        self._srv.start()
        self.server_port, self.echo_port = self._srv_conn.recv()
        self._px_conn, child2 = ctx.Pipe()
        targets = [(HOST, self.server_port), (HOST, self.echo_port)]
        self._px = ctx.Process(target=proxy_main, args=(child2, targets), daemon=True)
        self._px.start()

    def url(self, server_port: int) -> str:
        """The model server's base URL at ``server_port`` (https when TLS is on)."""
        scheme = "https" if self.client_tls is not None else "http"
        return f"{scheme}://{HOST}:{server_port}/v1"

    def server(self, *msg: Any) -> Any:
        self._srv_conn.send(msg)
        return self._srv_conn.recv()

    def path(self, delay: float) -> tuple[int, int]:
        """(model server port, echo port) as the client should dial them at one-way ``delay``."""
        if delay <= 0:
            return self.server_port, self.echo_port
        self._px_conn.send(("delay", delay))
        server_port, echo_port = self._px_conn.recv()
        return server_port, echo_port

    def close(self) -> None:
        for conn in (self._srv_conn, self._px_conn):
            try:
                conn.send(("stop",))
                conn.recv()
            except (OSError, EOFError):
                pass
        for p in (self._srv, self._px):
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _floor_with_cost(w: Workload, floor: float, cost: CostModel) -> float:
    """Floor plus the least a transport can be charged: S once, then f*S per turn, plus tokens.

    Uncached input tokens are estimated like the server counts them (JSON text / 4): the prompt
    and every tool output. The shared instructions+tools prefix is cached by the warm-up.
    """
    import orjson

    chars = len(orjson.dumps(w.prompt)) + sum(
        len(orjson.dumps(c.output)) for t in w.turns for c in t.calls)
    n = len(w.turns)
    return (floor + cost.per_request * (1 + (n - 1) * cost.ws_fraction)
            + cost.per_uncached_token * chars / 4)


def _run_one(h: Harness, c: Contender, w: Workload, url: str, nonce: str) -> RunRecord:
    rec = RunRecord(c.key, 0, 0)
    h.server("reset")
    s0 = h.server("cpu")
    # Unique per run, whatever the configuration: a repeated prompt would make the whole
    # conversation a prompt-cache hit on the server (and the cost model charge no tokens).
    prompt = f"{w.prompt} (run {nonce} {os.urandom(6).hex()})"
    try:
        res: LoopResult = asyncio.run(c.run(w, url, prompt, h.client_tls))
        rec.wall, rec.cpu, rec.turns = res.wall, res.cpu, res.turns
        rec.ok = res.turns == len(w.turns) and res.final_text == w.final_text
        if not rec.ok:
            rec.error = f"{res.turns}/{len(w.turns)} turns, final text mismatch or short run"
    except Exception as exc:  # a failing contender is reported, not fatal to the others
        rec.error = f"{type(exc).__name__}: {exc}"[:300]
    rec.server_cpu = h.server("cpu") - s0
    records, _, _, charged = h.server("records")
    rec.modelled_cost = sum(charged)
    rec.requests = sum(1 for r in records if r["generate"])
    rec.bytes_sent = sum(r["bytes_in"] for r in records)
    rec.bytes_received = sum(r["bytes_out"] for r in records)
    rec.connections = len({r["connection_id"] for r in records})
    return rec


def _prime(h: Harness, w: Workload, contenders: Sequence[Contender]) -> None:
    """Untimed warm-up: imports, first-call costs and the server's cache of the shared prefix."""
    warm = build_workload(2, seed=w.turns.__len__(), tool_scale=0.0)
    warm = Workload(warm.name, warm.turns, w.instructions, w.tools, w.prompt, warm.calls)
    h.server("script", warm.script(0))
    for c in contenders:
        _run_one(h, c, warm, h.url(h.server_port), f"warm-{c.key}")


def run_benchmark(params: BenchParams, *, progress: Callable[[str], None] = print) -> BenchResult:
    t_start = time.perf_counter()
    w = build_workload(params.turns, seed=params.seed, tool_scale=params.tool_scale)
    contenders = available_contenders()
    if params.contenders:
        contenders = [c for c in contenders if c.key in params.contenders]
    result = BenchResult(params, w.name, len(w.turns), [(c.key, c.label) for c in contenders],
                         [], time.strftime("%Y-%m-%d %H:%M:%S"),
                         machine=f"{os.cpu_count()} CPUs")
    ttfts = params.ttfts or (params.ttft,)
    plan: list[tuple[float, float, float, CostModel | None]] = [
        (r, d, t, None) for t, r, d in itertools.product(ttfts, params.speeds, params.delays)]
    if params.cost_model is not None:
        plan += [(r, d, ttfts[0], params.cost_model)
                 for r, d in itertools.product(params.cost_speeds, params.cost_delays)]
    with Harness(tls=params.tls) as h:
        _prime(h, w, contenders)
        for speed, delay, ttft, cost in plan:
            h.server("script", w.script(speed, ttft))
            h.server("cost", asdict(cost) if cost else None)
            server_port, echo_port = h.path(delay)
            direct, _, _ = measure_rtt(HOST, h.echo_port, samples=params.rtt_samples)
            rtt, p90, setup = (measure_rtt(HOST, echo_port, samples=params.rtt_samples)
                               if delay > 0 else (direct, direct, 0.0))
            # Connection set-up: TCP, plus one round trip for the TLS 1.3 handshake.
            floor = floor_seconds(w, rtt=rtt, tokens_per_second=speed, ttft=ttft,
                                  setup_rtts=2.0 if params.tls else 1.0)
            cfg = ConfigResult(speed, delay, cost, rtt, p90, direct, setup, floor,
                               _floor_with_cost(w, floor, cost) if cost else None, ttft=ttft)
            result.configs.append(cfg)
            progress(f"[{cfg.name}] RTT {rtt * 1e3:.2f} ms (proxy error "
                     f"{cfg.proxy_error * 1e3:+.2f} ms), floor {floor:.2f} s")
            url = h.url(server_port)
            for rep in range(params.repetitions):
                k = rep % len(contenders)
                for order, c in enumerate(contenders[k:] + contenders[:k]):
                    rec = _run_one(h, c, w, url, f"{speed:g}-{delay}-{rep}-{c.key}")
                    rec.repetition, rec.order = rep, order
                    cfg.runs.append(rec)
                    status = "ok" if rec.ok else f"FAILED ({rec.error})"
                    progress(f"  rep {rep} {c.key:<14} {rec.wall:7.2f} s  {status}")
        h.server("cost", None)
    result.duration = time.perf_counter() - t_start
    return result
