"""``responses-fast demo``: a Codex-style bug fix on a copy of the bundled sample repository."""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from rich.console import Console
from rich.text import Text

from .. import demo
from ..errors import ConfigurationError
from ..safety import Policy
from ..sandbox import Sandbox
from ..session import RunResult
from ..tools.builtin import policy_for_sandbox
from ..transports.factory import choose_transport
from ._agent import (
    DEFAULT_MODELS,
    Target,
    add_sandbox_arguments,
    build_session,
    drive,
    make_sandbox,
    sandbox_banner,
    transport_help,
)
from ._render import RichProgress

__all__ = ["add_demo_parser", "run_demo"]

DEFAULT_SPEED = 300.0
DEFAULT_TTFT = 0.1


def add_demo_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="fix a real bug in a bundled sample repository, end to end (works without a key)",
        description=(
            "Copy the bundled sample repository (a pagination module with an off-by-one bug and "
            "a failing unittest suite) into a temporary workspace, and let the agent fix it with "
            "the built-in tools (shell, read_file, apply_patch, ...) under the safety policy. "
            "Without an API key the model is a scripted one on the embedded local server; with "
            "OPENAI_API_KEY the OpenAI Responses API (WebSocket mode), with CEREBRAS_API_KEY "
            "Cerebras. At the end: a per-turn latency table, the diff of the workspace and the "
            "result of running the sample repository's tests. Exit code 0 only if they pass."
        ),
    )
    p.add_argument(
        "--transport",
        default="auto",
        metavar="NAME",
        help=(
            f"how to talk to the model: {transport_help()} (default auto: WebSocket, or "
            "Cerebras when only CEREBRAS_API_KEY is set)"
        ),
    )
    p.add_argument(
        "--model",
        default=None,
        help=(
            f"model name (default: {DEFAULT_MODELS['openai']} on OpenAI, "
            f"{DEFAULT_MODELS['cerebras']} on Cerebras, {DEFAULT_MODELS['local']} on the local "
            "server, which answers 404 model_not_found for any other name)"
        ),
    )
    p.add_argument(
        "--local",
        action="store_true",
        help="use the embedded local server with the scripted model even if an API key is set",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        metavar="TOK_PER_S",
        help=(
            f"local server only: streaming speed in tokens/s (default {DEFAULT_SPEED:g}; "
            "0 = as fast as possible)"
        ),
    )
    p.add_argument(
        "--ttft",
        type=float,
        default=DEFAULT_TTFT,
        metavar="SECONDS",
        help=f"local server only: time to first token in seconds (default {DEFAULT_TTFT:g})",
    )
    add_sandbox_arguments(p)
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary workspace afterwards and print its path",
    )
    p.set_defaults(func=run_demo)
    return p


def _choose(args: argparse.Namespace) -> tuple[Target, bool]:
    """The target, and whether it is the embedded local server (no key for the provider)."""
    name = choose_transport(args.transport, None)
    if not args.local:
        if name == "cerebras":
            key = os.environ.get("CEREBRAS_API_KEY")
            if key:
                model = args.model or DEFAULT_MODELS["cerebras"]
                return Target("cerebras", name, None, key, model), False
        else:
            key = os.environ.get("OPENAI_API_KEY")
            if key:
                base = os.environ.get("OPENAI_BASE_URL") or None
                provider = "openai" if base is None else "custom"
                model = args.model or DEFAULT_MODELS["openai"]
                return Target(provider, name, base, key, model), False
    model = args.model or DEFAULT_MODELS["local"]
    return Target("local", name, None, None, model), True


def run_demo(args: argparse.Namespace) -> int:
    if args.speed < 0 or args.ttft < 0:
        raise ConfigurationError("--speed and --ttft must not be negative")
    result: int = anyio.run(_demo, args, Console(highlight=False))
    return result


async def _demo(args: argparse.Namespace, console: Console) -> int:
    target, local = _choose(args)
    root = Path(tempfile.mkdtemp(prefix="responses-fast-demo-"))
    try:
        ws = demo.copy_sample_repo(root / "sample_repo")
        before = demo.snapshot(ws)
        demo.tool_environment()
        sandbox = make_sandbox(ws, args)
        policy = policy_for_sandbox(sandbox)
        progress = RichProgress(console, policy)
        console.print(Text("responses-fast demo: fix a real bug, end to end", style="bold"))
        console.print(f"workspace: {ws} (a copy of the bundled sample repository)")
        console.print(Text(*sandbox_banner(sandbox)))
        if local:
            from ..server import serve

            pace = f"{args.speed:g} tokens/s" if args.speed else "unpaced"
            async with serve(
                demo.demo_script(), tokens_per_second=args.speed or None, ttft=args.ttft
            ) as server:
                target = dataclasses.replace(target, base_url=server.base_url)
                why = "--local" if args.local else "no OPENAI_API_KEY or CEREBRAS_API_KEY set"
                console.print(
                    Text(
                        f"model: scripted model on the embedded local server {server.base_url} "
                        f"({why}; {pace}, first token after {args.ttft:g}s) · "
                        f"transport {target.transport}",
                        style="yellow",
                    )
                )
                result = await _fix(target, ws, policy, sandbox, progress)
        else:
            console.print(Text(f"model: {target.describe()}", style="yellow"))
            result = await _fix(target, ws, policy, sandbox, progress)

        progress.latency_table(result)
        progress.diff(demo.unified_diff(before, demo.snapshot(ws)))
        console.print(Text(f"Running the sample repository's tests: {demo.unittest_command()}"))
        tests = await anyio.to_thread.run_sync(demo.run_tests, ws)
        if tests.passed:
            console.print(Text(f"PASSED: {tests.summary}", style="bold green"))
        else:
            console.print(Text(tests.output[-2000:]))
            console.print(Text(f"FAILED: {tests.summary}", style="bold red"))
        if args.keep:
            console.print(f"workspace kept at {ws}")
        return 0 if tests.passed else 1
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


async def _fix(
    target: Target, ws: Path, policy: Policy, sandbox: Sandbox, progress: RichProgress
) -> RunResult:
    session = build_session(
        target, ws, instructions=demo.INSTRUCTIONS, policy=policy, max_turns=20, sandbox=sandbox
    )
    return await drive(session, demo.task(), progress)
