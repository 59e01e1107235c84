"""One task, end to end, inside a worker: workspace, agent session, check command, diff.

This module is what a worker process or a Ray actor runs per task; it never touches the results
store. The outcome is a plain JSON-able dict the driver writes in one transaction.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import orjson

from ..config import RetryPolicy
from ..errors import RateLimitError, RetriesExhausted
from ..safety import Policy
from ..sandbox import Sandbox
from ..session import AgentSession, Reconnected, TurnFinished
from ..tools.builtin import (
    DEFAULT_COMMAND_ENVIRONMENT,
    coding_tools,
    policy_for_sandbox,
    run_shell,
)
from ..tools.spec import Tool
from .ratelimit import Gate, is_rate_limit
from .tasks import TaskSpec
from .workspace import prepare_workspace

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "BatchTarget",
    "RateLimited",
    "run_task",
    "task_tools",
    "tool_environment",
]

DEFAULT_INSTRUCTIONS = (
    "You are a careful coding agent working in a repository (the workspace; every path is "
    "relative to it). Tools: shell runs a command in the workspace, read_file, list_files and "
    "search_files explore, apply_patch edits files with a '*** Begin Patch' envelope. Make the "
    "smallest change that does the task, verify it (run the tests when there are any), and end "
    "with a short summary of what you changed."
)

#: Characters of the check command's output kept in the store (its tail).
CHECK_TAIL = 4000
#: Turn retries inside one session; a rate limit that outlasts them requeues the task.
SESSION_RETRY = RetryPolicy(max_attempts=8, max_retry_after=120.0)


@dataclass(frozen=True, slots=True)
class BatchTarget:
    """Where the models run: base URL, transport, key, the default model, the bucket's name."""

    base_url: str | None = None
    api_key: str | None = None
    transport: str = "auto"
    model: str = "gpt-5.5"
    provider: str = ""

    def provider_name(self) -> str:
        if self.provider:
            return self.provider
        parts = urlsplit(self.base_url or "https://api.openai.com/v1")
        return parts.netloc or "default"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __repr__(self) -> str:  # never the key
        return (
            f"BatchTarget(base_url={self.base_url!r}, transport={self.transport!r}, "
            f"model={self.model!r}, provider={self.provider_name()!r})"
        )


class RateLimited(Exception):
    """The task hit a rate limit its session could not outlast; requeue it (not its fault)."""


def tool_environment() -> None:
    """Put the running interpreter's folder first on ``PATH`` (tools and checks inherit it)."""
    folder = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[:1] != [folder]:
        os.environ["PATH"] = folder + (os.pathsep + path if path else "")


#: What the agent's commands and the check see (no secrets, no bytecode files).
TASK_ENVIRONMENT = DEFAULT_COMMAND_ENVIRONMENT


def task_sandbox(workspace: Path) -> Sandbox:
    """Every command of a task (the agent's and the check) runs in this OS sandbox."""
    return Sandbox(workspace, mode="workspace-write", network=False)


def task_tools(
    workspace: Path, policy: Policy, names: list[str] | None, sandbox: Sandbox
) -> list[Tool]:
    """The task's tools: the built-in coding tools, their shell in the task's sandbox. The one
    place the batch builds tools."""
    tools = coding_tools(workspace, policy=policy, sandbox=sandbox, environment=TASK_ENVIRONMENT)
    if names is None:
        return tools
    wanted = set(names)
    return [t for t in tools if t.name in wanted]


def _turn_record(metrics: Any) -> dict[str, Any]:
    return {k: getattr(metrics, k) for k in metrics.__dataclass_fields__}


async def _check(command: str, cwd: Path, limit: float) -> tuple[int | None, str]:
    """Run the check command with bash in the workspace, in the task's sandbox with the task's
    environment: (exit code or None on timeout, output tail)."""
    result = await run_shell(
        command,
        cwd,
        time_limit=limit,
        max_output_bytes=2 * CHECK_TAIL,
        env=TASK_ENVIRONMENT.apply(os.environ),
        sandbox=task_sandbox(cwd),
    )
    if result.timed_out:
        return None, f"the check did not finish within {limit:g}s"
    return result.exit_code, result.output[-CHECK_TAIL:]


async def _agent(
    spec: TaskSpec, target: BatchTarget, gate: Gate, ws: Path
) -> tuple[Any, list[dict[str, Any]]]:
    sandbox = task_sandbox(ws)
    policy = policy_for_sandbox(sandbox)
    session = AgentSession(
        spec.model or target.model,
        tools=task_tools(ws, policy, list(spec.tools) if spec.tools is not None else None, sandbox),
        instructions=spec.instructions or DEFAULT_INSTRUCTIONS,
        base_url=target.base_url,
        api_key=target.api_key,
        transport=target.transport,
        policy=policy,
        max_turns=spec.max_turns,
        retry=SESSION_RETRY,
        settings=spec.request_settings(),
        warmup=False,
    )
    provider = target.provider_name()
    turns: list[dict[str, Any]] = []
    result = None
    async with session:
        # buffer=0: the run waits at each TurnStarted until we take it, so the bucket's token is
        # taken before every request goes out (the first, each next turn, each retry).
        async with session.stream(spec.prompt, buffer=0) as events:
            need_token = True
            while True:
                if need_token:
                    await gate.acquire(provider)
                    need_token = False
                try:
                    event = await events.__anext__()
                except StopAsyncIteration:
                    break
                if isinstance(event, TurnFinished):
                    turns.append(_turn_record(event.metrics))
                    need_token = event.metrics.tool_calls > 0
                elif isinstance(event, Reconnected):
                    if is_rate_limit(event.reason):
                        await gate.throttle(provider, event.delay or None)
                    need_token = True
            result = events.result
    return result, turns


def _rate_limit_of(exc: BaseException) -> RateLimitError | RetriesExhausted | None:
    """The rate limit that ended a run (its retries outlasted), or None for another failure.

    The chain is walked through ``__cause__`` (RetriesExhausted's last failure) and
    ``__context__`` (an error raised while handling another).
    """
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, RateLimitError):
            return cur
        cur = cur.__cause__ or cur.__context__
    if isinstance(exc, RetriesExhausted) and is_rate_limit(str(exc)):
        return exc
    return None


async def run_task(payload: dict[str, Any], target: BatchTarget, gate: Gate) -> dict[str, Any]:
    """Run one task (``TaskSpec`` as a dict); the outcome for ``ResultStore.finish``.

    Raises RateLimited when rate limits outlasted the session's retries; other exceptions are
    the attempt's error (the driver records them and retries the task up to its limit).
    """
    spec = TaskSpec.model_validate(payload)
    started = time.time()
    t0 = time.perf_counter()
    prepared = await anyio.to_thread.run_sync(prepare_workspace, spec.workspace)
    try:
        try:
            result, turns = await _agent(spec, target, gate, prepared.path)
        except Exception as exc:
            limit = _rate_limit_of(exc)
            if limit is None:
                raise
            # The last 429 never became a retry: tell the bucket, then hand the task back.
            hint = limit.retry_after if isinstance(limit, RateLimitError) else None
            await gate.throttle(target.provider_name(), hint)
            raise RateLimited(str(exc)) from exc
        assert result is not None
        code: int | None = None
        tail: str | None = None
        if spec.check:
            code, tail = await _check(spec.check, prepared.path, spec.check_timeout)
        diff = await anyio.to_thread.run_sync(prepared.diff)
        output: Any = None
        if spec.output_schema is not None:
            try:
                output = orjson.loads(result.final_text)
            except orjson.JSONDecodeError:
                output = None
        completed = result.status == "completed"
        passed = completed and (code == 0 if spec.check else True)
        usage = result.usage
        return {
            "passed": passed,
            "run_status": result.status,
            "final_text": result.final_text,
            "output": output,
            "check_exit_code": code,
            "check_output_tail": tail,
            "diff": diff,
            "usage": {
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cached_tokens": usage.cached_tokens,
                "total_tokens": usage.total_tokens,
            },
            "turns": turns,
            "tool_calls": result.tool_calls,
            "wall_s": time.perf_counter() - t0,
            "error": None if completed else f"the run stopped: {result.status}",
            "started_at": started,
        }
    finally:
        with anyio.CancelScope(shield=True):  # a cancelled task still removes its folder
            await anyio.to_thread.run_sync(prepared.cleanup)
