"""Sandbox benchmark: start-up added per command, per backend; value-redaction cost.

Run: python benchmarks/bench_sandbox.py [--reps N]

For each backend that runs here (none, bwrap, landlock), ``true`` is run ``reps`` times through
the same path as the shell tool (``Sandbox.wrap`` then a real subprocess, waited for), measured
end to end with perf_counter; the table gives the median and p90, and the added cost against
the unsandboxed ``bash -c true`` of the same run, interleaved round-robin so machine load hits
every backend alike. Then value redaction (``ValueRedactor``) of a 200 KB pytest log, clean and
with a secret in it. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import subprocess
import tempfile
import time

from responses_fast.safety.environment import EnvironmentPolicy, ValueRedactor
from responses_fast.sandbox import Sandbox, SandboxUnavailableError, detect_backend


def run_once(box: Sandbox, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    with box.wrap(["bash", "-c", "true"], env) as (argv, env2):
        subprocess.run(argv, env=env2, cwd=box.workspace, stdin=subprocess.DEVNULL, check=True,
                       start_new_session=True)  # fmt: skip
    return time.perf_counter() - t0


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def bench_startup(reps: int) -> None:
    env = EnvironmentPolicy().apply(os.environ)
    with tempfile.TemporaryDirectory() as ws:
        boxes: dict[str, Sandbox] = {}
        for name in ("none", "bwrap", "landlock"):
            try:
                detect_backend(name)
            except SandboxUnavailableError as e:
                print(f"  {name}: unavailable ({e})")
                continue
            boxes[name] = Sandbox(ws, backend=name)
        samples: dict[str, list[float]] = {k: [] for k in boxes}
        for box in boxes.values():  # warm up (page cache, first exec)
            run_once(box, env)
        for _ in range(reps):
            for name, box in boxes.items():
                samples[name].append(run_once(box, env))
    base = statistics.median(samples["none"])
    print(f"`bash -c true` through Sandbox.wrap + subprocess, {reps} runs each (milliseconds)")
    print(
        f"  {'backend':<10} {'min':>7} {'median':>8} {'p90':>8} {'added min':>10}"
        f" {'added median':>13} {'added p90':>10}"
    )
    base90, base0 = pct(samples["none"], 0.9), min(samples["none"])
    for name, xs in samples.items():
        med, p90, lo = statistics.median(xs), pct(xs, 0.9), min(xs)
        print(
            f"  {name:<10} {1000 * lo:7.2f} {1000 * med:8.2f} {1000 * p90:8.2f}"
            f" {1000 * (lo - base0):10.2f} {1000 * (med - base):13.2f}"
            f" {1000 * (p90 - base90):10.2f}"
        )
    print(f"  (load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


def bench_redaction(reps: int) -> None:
    secret = "sk-live-9f8e7d6c5b4a3210FEDCBA"
    env = {"OPENAI_API_KEY": secret, "GITHUB_TOKEN": "ghp_" + "a1b2c3d4" * 4,
           "DB_PASSWORD": "correct horse battery staple", "PATH": "/usr/bin"}  # fmt: skip
    r = ValueRedactor([v for k, v in env.items() if k != "PATH"])
    clean = "".join(
        f"tests/test_mod{i % 40}.py::test_case_{i} PASSED{' ' * (i % 7)} [{i % 100:3d}%]\n"
        for i in range(4200)
    )
    dirty = clean[:100_000] + base64.b64encode(f"x{secret}y".encode()).decode() + clean[100_000:]
    print(f"value redaction of a {len(clean) // 1000} KB pytest log, 3 secrets (milliseconds)")
    for label, text in (("clean", clean), ("with a base64 secret", dirty)):
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            r.redact(text)
            ts.append(time.perf_counter() - t0)
        med, p90 = 1000 * statistics.median(ts), 1000 * pct(ts, 0.9)
        print(f"  {label:<22} median {med:6.2f}  p90 {p90:6.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=100)
    args = ap.parse_args()
    bench_startup(args.reps)
    bench_redaction(max(args.reps, 50))


if __name__ == "__main__":
    main()
