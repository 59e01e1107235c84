"""``responses-fast run "TASK" --workspace PATH``: the coding agent on your own repository."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.text import Text

from ..errors import ConfigurationError
from ..tools.builtin import policy_for_sandbox
from ..transports.eventloop import run_main
from ._agent import (
    APPROVAL_MODES,
    DEFAULT_MODELS,
    TerminalApproval,
    add_sandbox_arguments,
    build_session,
    check_workspace,
    drive,
    make_sandbox,
    resolve_target,
    sandbox_banner,
    sandbox_to_dict,
    transport_help,
)
from ._render import JsonLines, RichProgress, result_to_dict
from ._signals import terminate_as_interrupt

__all__ = ["INSTRUCTIONS", "add_run_parser", "run_task"]

INSTRUCTIONS = (
    "You are a careful coding agent working in a repository (the workspace; every path is "
    "relative to it). Tools: shell runs a command in the workspace (tests, builds, git), "
    "read_file, list_files and search_files explore, apply_patch edits files with a "
    "'*** Begin Patch' envelope. Look before you change anything, make the smallest change "
    "that does the task, verify it (run the tests when there are any), and end with a short "
    "summary of what you changed and how you checked it. Some calls may be refused by the "
    "safety policy; then choose another way."
)


def add_run_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="run the coding agent on a task in your own repository",
        description=(
            "Run the coding agent (the built-in tools shell, read_file, list_files, "
            "search_files and apply_patch, confined to the workspace and checked by the safety "
            "policy before every call) on TASK until the model answers without calling a tool. "
            "Needs OPENAI_API_KEY (or CEREBRAS_API_KEY with --transport cerebras), or --base-url "
            "pointing at another server such as 'responses-fast serve'. Exit code 0 when the "
            "run completes, 1 when it stops early (--max-turns), 2 for bad input, 3 when the "
            "service fails or refuses, 130 on Ctrl-C (the workspace stays as the last "
            "completed tool call left it)."
        ),
    )
    p.add_argument("task", metavar="TASK", help="what the agent should do, in plain words")
    p.add_argument(
        "--workspace",
        "-w",
        default=".",
        metavar="PATH",
        help="the repository the tools are confined to; must be a writable folder (default .)",
    )
    p.add_argument(
        "--model",
        default=None,
        help=(
            f"model name (default {DEFAULT_MODELS['openai']}, or {DEFAULT_MODELS['cerebras']} "
            "with Cerebras)"
        ),
    )
    p.add_argument(
        "--transport",
        default="auto",
        metavar="NAME",
        help=(
            f"how to talk to the model: {transport_help()} (default auto: chosen from "
            "--base-url and the keys set; WebSocket for the OpenAI API)"
        ),
    )
    p.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help=(
            "API base URL, e.g. http://127.0.0.1:8765/v1 for 'responses-fast serve' "
            "(default $OPENAI_BASE_URL or the provider's own)"
        ),
    )
    p.add_argument(
        "--approval",
        choices=APPROVAL_MODES,
        default="on-risk",
        help=(
            "when to ask you before a tool call: 'never' = never ask, refuse what the policy "
            "marks 'ask'; 'on-risk' = ask (y/N) for what the policy marks 'ask' (default); "
            "'always' = ask for every call. Calls the policy denies are never run. Without "
            "a terminal on stdin, a call that needs approval is refused"
        ),
    )
    p.add_argument(
        "--max-turns",
        type=int,
        default=30,
        metavar="N",
        help="stop after N model responses (default 30; exit code 1 if reached)",
    )
    add_sandbox_arguments(p)
    p.add_argument(
        "--json",
        action="store_true",
        help=(
            "machine-readable output: one JSON object per line (JSON Lines) for each event, "
            "then a final object with type 'result' (or 'error'); no other output on stdout"
        ),
    )
    p.set_defaults(func=run_task)
    return p


def run_task(args: argparse.Namespace) -> int:
    if args.max_turns < 1:
        raise ConfigurationError("--max-turns must be at least 1")
    if not args.task.strip():
        raise ConfigurationError("TASK is empty")
    workspace = check_workspace(args.workspace)
    target = resolve_target(args.transport, args.base_url, args.model)
    sandbox = make_sandbox(workspace, args)
    policy = policy_for_sandbox(sandbox)
    console = Console(highlight=False)
    sink: JsonLines | RichProgress = JsonLines() if args.json else RichProgress(console, policy)
    if isinstance(sink, RichProgress):
        console.print(Text(f"workspace: {workspace}"))
        console.print(Text(f"{target.describe()} · approval {args.approval}", style="yellow"))
        console.print(Text(*sandbox_banner(sandbox)))

    async def main() -> int:
        session = build_session(
            target,
            workspace,
            instructions=INSTRUCTIONS,
            policy=policy,
            approval_mode=args.approval,
            approval=TerminalApproval(sink.say),
            max_turns=args.max_turns,
            sandbox=sandbox,
        )
        result = await drive(session, args.task, sink)
        if isinstance(sink, JsonLines):
            sink.write({**result_to_dict(result), "sandbox": sandbox_to_dict(sandbox)})
        else:
            sink.latency_table(result)
            style = "bold green" if result.status == "completed" else "bold red"
            console.print(
                Text(
                    f"{result.status}: {result.tool_calls} tool calls in {len(result.turns)} "
                    f"turns, {result.wall:.2f}s",
                    style=style,
                )
            )
        return 0 if result.status == "completed" else 1

    with terminate_as_interrupt():
        code: int = run_main(main)  # on uvloop when installed (the 'fast' extra)
    return code
