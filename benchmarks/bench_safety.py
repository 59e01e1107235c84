"""Safety benchmark: Policy.check time over the command corpus, and redaction throughput.

Run: python benchmarks/bench_safety.py [--reps N]

Every command of tests/safety/corpus.py (benign and dangerous) is checked ``reps`` times, each call
timed on its own with perf_counter_ns; the table gives the median, p99 and worst over all calls,
plus the slowest command by its own median. Redaction is timed on a 4 KB tool output, clean and
with secrets in it. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import tempfile
import time
from pathlib import Path

from responses_fast.safety import Policy, redact

ROOT = Path(__file__).resolve().parents[1]


def load_corpus() -> list[str]:
    spec = importlib.util.spec_from_file_location("corpus", ROOT / "tests/safety/corpus.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return [c for c, _, _ in mod.BENIGN + mod.DANGEROUS]


def pct(sorted_ns: list[int], q: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1000


def bench_checks(reps: int) -> None:
    commands = load_corpus()
    with tempfile.TemporaryDirectory() as ws:
        policy = Policy(ws)
        calls = [("shell", {"command": c}) for c in commands]
        calls += [
            ("read_file", {"path": "src/app.py"}),
            ("read_file", {"path": "../etc/passwd"}),
            ("apply_patch", {"patch": "*** Begin Patch\n*** Add File: a.txt\n+x\n*** End Patch"}),
            ("my_tool", {"x": 1}),
        ]
        for name, args in calls:  # warm up
            policy.check(name, args)
        samples: list[int] = []
        per_call: list[tuple[float, str]] = []
        clock = time.perf_counter_ns
        gc.disable()
        try:
            for name, args in calls:
                own: list[int] = []
                for _ in range(reps):
                    t0 = clock()
                    policy.check(name, args)
                    own.append(clock() - t0)
                samples.extend(own)
                per_call.append((statistics.median(own) / 1000, str(args)[:60]))
        finally:
            gc.enable()
    samples.sort()
    slowest = max(per_call)
    print(f"Policy.check over {len(calls)} calls ({len(commands)} corpus commands) x {reps} reps")
    print(f"  {'median':>10} {'p90':>10} {'p99':>10} {'worst':>10}   (microseconds)")
    print(
        f"  {pct(samples, 0.5):10.1f} {pct(samples, 0.9):10.1f} {pct(samples, 0.99):10.1f}"
        f" {samples[-1] / 1000:10.1f}"
    )
    print(f"  slowest call by its own median: {slowest[0]:.1f} us  {slowest[1]}")


CLEAN = (
    "============================= test session starts ==============================\n"
    "platform linux -- Python 3.11.7, pytest-8.3.2, pluggy-1.5.0\n"
    "rootdir: /work/project\ncollected 214 items\n\n"
    + "".join(f"tests/test_module_{i}.py ........................................ [ {i}%]\n"
              for i in range(40))
)
CLEAN = (CLEAN * 4)[:4096]
A = "a1B2c3D4e5F6g7H8i9J0"
DIRTY = (
    CLEAN[:1500]
    + "\nOPENAI_API_KEY=sk-proj-" + A + A + "\nAuthorization: Bearer " + A + "\n"
    + "aws_access_key_id = AKIA" + "IOSFODNN7EXAMPLE\n"
    + CLEAN[1500:]
)[:4096]  # fmt: skip


def bench_redact(reps: int) -> None:
    print("redact() on a 4 KB tool output")
    print(f"  {'input':<16} {'us/call':>10} {'MB/s':>10} {'found':>6}")
    for label, text in (("clean", CLEAN), ("with 3 secrets", DIRTY)):
        redact(text)
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(reps):
                redact(text)
            best = min(best, (time.perf_counter() - t0) / reps)
        found = redact(text).count
        mb_s = len(text.encode()) / best / 1e6
        print(f"  {label:<16} {best * 1e6:10.1f} {mb_s:10.1f} {found:6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200, help="checks per corpus call")
    args = parser.parse_args()
    bench_checks(args.reps)
    print()
    bench_redact(max(100, args.reps * 5))


if __name__ == "__main__":
    main()
