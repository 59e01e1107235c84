"""Safety benchmark: Policy.check time over the command corpus, and redaction throughput.

Run: python benchmarks/bench_safety.py [--reps N]

Every command of tests/safety/corpus.py (everyday and dangerous) is checked ``reps`` times, each
call timed on its own with perf_counter_ns; the table gives the median, p99 and worst over all
calls (targets of issue 12: median <= 15 us, p99 <= 60 us), then the same over each command's own
median (robust to a preempted sample on a shared machine), split into lines of bare words (which
skip the grammar) and lines tree-sitter parses. ``--cpu`` times each call with the thread's CPU
clock instead, which leaves out the time the OS gave to other processes (on a loaded shared
machine the wall-clock tail is mostly that). Redaction is timed on a 4 KB tool output, clean and
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
from responses_fast.safety.commands import plain_pipeline

ROOT = Path(__file__).resolve().parents[1]


def load_corpus() -> list[str]:
    spec = importlib.util.spec_from_file_location("corpus", ROOT / "tests/safety/corpus.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return [c for c, _, _ in mod.BENIGN + mod.DANGEROUS]


def pct(sorted_ns: list[int], q: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1000


def bench_checks(reps: int, cpu: bool = False) -> None:
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
        per_call: list[tuple[float, str, str]] = []
        clock = time.thread_time_ns if cpu else time.perf_counter_ns
        gc.disable()
        try:
            for name, args in calls:
                own: list[int] = []
                for _ in range(reps):
                    t0 = clock()
                    policy.check(name, args)
                    own.append(clock() - t0)
                samples.extend(own)
                per_call.append((statistics.median(own) / 1000, str(args)[:60], str(args)))
        finally:
            gc.enable()
    samples.sort()
    slowest = max(per_call)
    what = "CPU time of the checking thread" if cpu else "wall-clock time"
    print(f"Policy.check over {len(calls)} calls ({len(commands)} corpus commands) x {reps} reps,")
    print(f"  {what}")
    print(f"  {'':28} {'median':>8} {'p90':>8} {'p99':>8} {'worst':>9}   (microseconds)")
    print(
        f"  {'every call':28} {pct(samples, 0.5):8.1f} {pct(samples, 0.9):8.1f}"
        f" {pct(samples, 0.99):8.1f} {samples[-1] / 1000:9.1f}"
    )
    plain = {str({"command": c}) for c in commands if plain_pipeline(c) is not None}
    for label, rows in (
        ("per-call medians", per_call),
        ("  plain-word pipelines", [r for r in per_call if r[2] in plain]),
        ("  parsed by tree-sitter", [r for r in per_call if r[2] not in plain]),
    ):
        meds = sorted(int(m * 1000) for m, _, _ in rows)
        print(
            f"  {label + f' ({len(rows)})':28} {pct(meds, 0.5):8.1f} {pct(meds, 0.9):8.1f}"
            f" {pct(meds, 0.99):8.1f} {meds[-1] / 1000:9.1f}"
        )
    print(f"  slowest call by its own median: {slowest[0]:.1f} us  {slowest[1]}")


CLEAN = (
    "============================= test session starts ==============================\n"
    "platform linux -- Python 3.11.7, pytest-8.3.2, pluggy-1.5.0\n"
    "rootdir: /work/project\ncollected 214 items\n\n"
    + "".join(
        f"tests/test_module_{i}.py ........................................ [ {i}%]\n"
        for i in range(40)
    )
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
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="time with the thread's CPU clock (leaves out preemption on a shared machine)",
    )
    args = parser.parse_args()
    bench_checks(args.reps, cpu=args.cpu)
    print()
    bench_redact(max(100, args.reps * 5))


if __name__ == "__main__":
    main()
