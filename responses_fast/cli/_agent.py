"""What ``demo`` and ``run`` share: choosing the provider, building the session, driving a run."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import anyio
import anyio.to_thread

from ..errors import ConfigurationError
from ..protocol.items import FunctionCall
from ..safety import Decision, Policy, redact
from ..safety.environment import value_redactor
from ..sandbox import SANDBOX_MODES, Sandbox
from ..session import AgentSession, Event, RunResult
from ..session.session import CallPolicy, DecisionLike
from ..tools.builtin import coding_tools
from ..transports.factory import TRANSPORT_NAMES, choose_transport

__all__ = [
    "APPROVAL_MODES",
    "DEFAULT_MODELS",
    "AskAlways",
    "Target",
    "TerminalApproval",
    "add_sandbox_arguments",
    "build_session",
    "check_workspace",
    "drive",
    "make_sandbox",
    "resolve_target",
    "sandbox_banner",
    "sandbox_to_dict",
    "transport_help",
]

#: The model each provider uses when --model is not given.
DEFAULT_MODELS = {"openai": "gpt-5.5", "cerebras": "gpt-oss-120b", "local": "scripted"}

APPROVAL_MODES = ("never", "on-risk", "always")


def add_sandbox_arguments(p: argparse.ArgumentParser) -> None:
    """``--sandbox MODE`` and ``--network/--no-network``, shared by ``run`` and ``demo``."""
    p.add_argument(
        "--sandbox",
        choices=SANDBOX_MODES,
        default="workspace-write",
        help=(
            "the OS sandbox every shell command runs in: 'read-only' (writes nowhere but a "
            "private /tmp), 'workspace-write' (also the workspace, except .git; default), "
            "'danger-full-access' (no sandbox). The backend (bwrap, landlock, seatbelt) is "
            "chosen at start-up and shown once; with none, commands that are not read-only ask"
        ),
    )
    p.add_argument(
        "--network",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="let shell commands use the network (--no-network, the default, cuts it off)",
    )


def make_sandbox(workspace: Path, args: argparse.Namespace) -> Sandbox:
    return Sandbox(workspace, mode=args.sandbox, network=args.network)


def sandbox_banner(sandbox: Sandbox) -> tuple[str, str]:
    """(text, rich style) for the one line that says where commands run."""
    if sandbox.sandboxed:
        return sandbox.describe(), "green"
    return "WARNING: " + sandbox.describe(), "bold red"


def sandbox_to_dict(sandbox: Sandbox) -> dict[str, Any]:
    return {
        "backend": sandbox.backend.name,
        "sandboxed": sandbox.sandboxed,
        "mode": sandbox.mode,
        "network": sandbox.network,
        "detail": sandbox.backend.detail,
    }


def transport_help() -> str:
    return ", ".join(TRANSPORT_NAMES)


@dataclass(frozen=True, slots=True)
class Target:
    """Where the model runs: provider label, transport name, base URL, key and model."""

    provider: str  # "openai", "cerebras", "custom" or "local"
    transport: str
    base_url: str | None
    api_key: str | None
    model: str

    def describe(self) -> str:
        where = self.base_url or {"openai": "api.openai.com", "cerebras": "api.cerebras.ai"}.get(
            self.provider, "?"
        )
        return f"model {self.model} · transport {self.transport} · {where}"


def resolve_target(transport: str, base_url: str | None, model: str | None) -> Target:
    """The provider for ``run``: an explicit base URL, else OpenAI or Cerebras by key.

    Raises ConfigurationError (naming the environment variable) when the chosen hosted service
    has no key.
    """
    base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
    name = choose_transport(transport, base_url)
    if name == "cerebras":
        key = os.environ.get("CEREBRAS_API_KEY")
        if base_url is None and not key:
            raise ConfigurationError(
                "CEREBRAS_API_KEY is not set: export it to use Cerebras, "
                "or pass --base-url for another server"
            )
        provider = "cerebras" if base_url is None else "custom"
        return Target(provider, name, base_url, key, model or DEFAULT_MODELS["cerebras"])
    key = os.environ.get("OPENAI_API_KEY")
    if base_url is None:
        if not key:
            raise ConfigurationError(
                "OPENAI_API_KEY is not set: export it to use the OpenAI API, "
                "or pass --base-url (e.g. a 'responses-fast serve' at http://127.0.0.1:8765/v1)"
            )
        return Target("openai", name, None, key, model or DEFAULT_MODELS["openai"])
    return Target("custom", name, base_url, key, model or DEFAULT_MODELS["openai"])


def check_workspace(path: str | os.PathLike[str]) -> Path:
    """The workspace as an absolute path; ConfigurationError if it is not a writable folder."""
    ws = Path(path).expanduser()
    if not ws.exists():
        raise ConfigurationError(f"workspace {ws} does not exist")
    if not ws.is_dir():
        raise ConfigurationError(f"workspace {ws} is not a folder")
    if not os.access(ws, os.R_OK | os.W_OK | os.X_OK):
        raise ConfigurationError(f"workspace {ws} is not writable")
    return ws.resolve()


class AskAlways:
    """``--approval always``: every call the policy allows becomes an "ask" (denials stay)."""

    def __init__(self, inner: Policy) -> None:
        self.inner = inner

    def check(self, tool_name: str, arguments: Mapping[str, Any]) -> Decision:
        d = self.inner.check(tool_name, arguments)
        if d.action == "allow":
            return Decision("ask", f"--approval always ({d.reason})", d.rule)
        return d


class TerminalApproval:
    """Ask on the terminal (stderr prompt, stdin answer); refuse when there is no terminal."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self._lock = anyio.Lock()

    async def __call__(self, call: FunctionCall, decision: DecisionLike) -> bool:
        if not sys.stdin.isatty():
            self._say(f"{call.name}: refused, approval needed but stdin is not a terminal")
            return False
        async with self._lock:  # parallel calls ask one at a time
            prompt = (
                f"\nApprove {call.name} {_short_args(call.arguments)}?\n"
                f"  policy: {decision.action} ({decision.rule}): {decision.reason}\n"
                "  [y/N] "
            )
            answer = await anyio.to_thread.run_sync(_ask, prompt, abandon_on_cancel=True)
        return answer.strip().lower() in {"y", "yes"}


def _ask(prompt: str) -> str:
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return sys.stdin.readline()


def _short_args(arguments: str, limit: int = 300) -> str:
    text = " ".join(arguments.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def build_session(
    target: Target,
    workspace: Path,
    *,
    instructions: str,
    policy: Policy,
    approval_mode: str = "never",
    approval: Callable[[FunctionCall, DecisionLike], Awaitable[bool]] | None = None,
    max_turns: int = 30,
    sandbox: Sandbox | None = None,
) -> AgentSession:
    """An AgentSession with the built-in coding tools under ``policy``, commands in ``sandbox``."""
    box = sandbox if sandbox is not None else Sandbox(workspace)
    tools = coding_tools(workspace, policy=policy, sandbox=box)
    checker: CallPolicy = AskAlways(policy) if approval_mode == "always" else policy
    return AgentSession(
        target.model,
        tools=tools,
        instructions=instructions,
        base_url=target.base_url,
        api_key=target.api_key,
        transport=target.transport,
        policy=checker,
        approval=None if approval_mode == "never" else approval,
        output_filter=lambda text: redact(value_redactor(os.environ).redact(text)).text,
        max_turns=max_turns,
    )


class Sink(Protocol):
    def event(self, event: Event) -> None: ...


async def drive(session: AgentSession, prompt: str, sink: Sink) -> RunResult:
    """Run ``prompt`` on ``session``, handing every event to ``sink``; the run's result."""
    async with session, session.stream(prompt) as events:
        async for event in events:
            sink.event(event)
        result = events.result
    if result is None:  # pragma: no cover - the stream raises instead
        raise RuntimeError("the run ended without a result")
    return result
