"""The ``responses-fast`` command: demo, run, serve, bench, batch, batch-report.

Exit codes: 0 success; 1 the task failed (demo: the sample tests still fail; run: stopped early);
2 bad input (arguments, workspace, missing key); 3 the service or the connection failed (model
not found, authentication, network); 130 interrupted (Ctrl-C). Expected errors print one line on
stderr and no traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import (
    APIError,
    ConfigurationError,
    ProtocolError,
    ResponsesFastError,
    RunError,
    TransportError,
    UsageError,
)
from .batch import add_batch_parser, add_batch_report_parser
from .bench import add_bench_parser
from .demo import add_demo_parser
from .run import add_run_parser
from .serve import add_serve_parser

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_SERVICE",
    "build_parser",
    "main",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_SERVICE = 3
EXIT_INTERRUPTED = 130

EPILOG = """\
exit codes: 0 success, 1 the task failed, 2 bad input (arguments, workspace, missing key),
3 the service or the connection failed, 130 interrupted (Ctrl-C).
See docs/cli.md."""


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("responses-fast")
    except Exception:  # pragma: no cover - not installed as a distribution
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="responses-fast",
        description=(
            "Fast, trustworthy LLM coding-agent loops over the OpenAI Responses API "
            "(WebSocket mode), HTTP/SSE, Chat Completions and Cerebras, with a local server "
            "for offline use. Start with 'responses-fast demo'."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_demo_parser(sub)
    add_run_parser(sub)
    add_serve_parser(sub)
    add_bench_parser(sub)
    add_batch_parser(sub)
    add_batch_report_parser(sub)
    return parser


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups from task groups."""
    if isinstance(exc, BaseExceptionGroup):
        interrupted, _ = exc.split(KeyboardInterrupt)
        if interrupted is not None:
            return KeyboardInterrupt()
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        inner = [e for e in exc.exceptions if not isinstance(e, KeyboardInterrupt)]
        exc = (inner or list(exc.exceptions))[0]
    return exc


def _exit_code(exc: BaseException) -> int | None:
    """The exit code of an expected error, or None for a bug (keep the traceback)."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, ConfigurationError | UsageError):
        return EXIT_BAD_INPUT
    if isinstance(exc, APIError | TransportError | ProtocolError | RunError):
        return EXIT_SERVICE
    if isinstance(exc, ResponsesFastError):
        return EXIT_FAILED
    if isinstance(exc, OSError):
        return EXIT_FAILED
    return None


def _message(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, APIError):
        return f"the service refused the request: {text}"
    if isinstance(exc, TransportError):
        return f"connection failed: {text}"
    if isinstance(exc, OSError) and not isinstance(exc, ResponsesFastError):
        return f"{type(exc).__name__}: {text}"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if args.command != "bench":
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.harness_args = [*extra, *args.harness_args]  # 'bench --quick' without '--'
    try:
        code: int = args.func(args)
        return code
    except BaseException as raw:
        exc = _leaf(raw)
        status = _exit_code(exc)
        if status is None:
            raise
        json_mode = bool(getattr(args, "json", False))
        if status == EXIT_INTERRUPTED:
            line = "interrupted: stopped after the last completed tool call"
        else:
            line = f"error: {_message(exc)}"
        if json_mode:
            import orjson

            kind = "interrupted" if status == EXIT_INTERRUPTED else "error"
            record = {"type": kind, "error": type(exc).__name__, "message": line,
                      "exit_code": status}  # fmt: skip
            sys.stdout.write(orjson.dumps(record).decode() + "\n")
            sys.stdout.flush()
        print(f"responses-fast: {line}", file=sys.stderr, flush=True)
        return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
