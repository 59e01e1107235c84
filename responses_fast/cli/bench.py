"""``responses-fast bench``: run the agent-loop benchmark of a source checkout."""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError

__all__ = ["add_bench_parser", "bench_script", "run_bench"]

SCRIPT = Path("benchmarks") / "run_agent_bench.py"


def bench_script() -> Path:
    """Where the harness lives in a source checkout (next to the package)."""
    return Path(__file__).resolve().parents[2] / SCRIPT


def add_bench_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "bench",
        help="run the agent-loop benchmark (source checkout only)",
        description=(
            f"Run {SCRIPT.as_posix()} from the source checkout this package is installed from "
            "(pip install -e). Every argument after 'bench' goes to the harness unchanged; "
            "'responses-fast bench -- --help' lists its options (--quick finishes in under a "
            "minute). A wheel install does not ship the harness: clone the repository and run "
            "it from there."
        ),
    )
    p.add_argument(
        "harness_args",
        nargs=argparse.REMAINDER,
        metavar="ARGS",
        help="arguments passed to the benchmark harness (put them after '--')",
    )
    p.set_defaults(func=run_bench)
    return p


def run_bench(args: argparse.Namespace) -> int:
    script = bench_script()
    if not script.is_file():
        raise ConfigurationError(
            f"the benchmark harness ({SCRIPT.as_posix()}) is not here: it ships with the source "
            "checkout; clone the repository, 'pip install -e .[bench]' and run this again"
        )
    rest = list(args.harness_args)
    if rest[:1] == ["--"]:
        rest = rest[1:]
    saved = sys.argv
    sys.argv = [str(script), *rest]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    finally:
        sys.argv = saved
    return 0
