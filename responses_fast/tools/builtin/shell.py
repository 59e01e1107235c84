"""``shell``: run a command in the workspace, inside the OS sandbox, bounded in time and output.

The command is a string (run with ``bash -c``) or an argv list as Codex models emit it
(``["bash", "-lc", "..."]``, ``["ls", "-la"]``, run as given). It runs through
:class:`responses_fast.sandbox.Sandbox` with a scrubbed environment
(:mod:`responses_fast.safety.environment`); its output is redacted by pattern and by the values
of the parent's secret variables. The child gets its own process group; on timeout, on
cancellation of the call, and when the command ends (background children included) the whole
group is killed (with bwrap, the PID namespace dies with it). Output (stdout and stderr
interleaved) is kept head and tail, so memory stays bounded however much the command prints.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
from anyio.abc import Process

from responses_fast.safety.environment import value_redactor
from responses_fast.safety.redact import redact
from responses_fast.sandbox import Sandbox

__all__ = [
    "SHELL_DESCRIPTION",
    "ShellResult",
    "command_argv",
    "command_text",
    "run_shell",
    "sandbox_note",
    "truncate_middle",
]

_SHELLS = frozenset({"bash", "sh", "zsh", "dash"})

SHELL_DESCRIPTION = """\
Run a shell command with `bash -c` in the workspace folder (the current directory) and return \
its exit code and combined stdout/stderr. `command` is a command line, or an argv list such as \
["bash", "-lc", "..."]. Use it to run tests, builds, git and search commands \
(prefer `rg` or `grep -n`). Each call starts a fresh shell: `cd` and variables do not carry over \
(chain with `&&`). There is no stdin and no terminal: do not start interactive programs or \
editors. Long output is truncated in the middle. The command is killed (with its whole process \
group) after the timeout. Commands are checked by a safety policy first: destructive commands, \
writes outside the workspace, reading credentials and (when off) network access are refused, \
with the reason; adapt instead of retrying the same command. Edit files with apply_patch, \
not with shell redirections."""


def sandbox_note(sandbox: Sandbox) -> str:
    """What the model should know about where its commands run (appended to the description)."""
    if not sandbox.sandboxed:
        return (
            " Commands are NOT sandboxed here: anything that is not read-only needs the "
            "user's approval."
        )
    where = {
        "read-only": "cannot write anywhere but a private /tmp",
        "workspace-write": "can write only inside the workspace (not .git) and a private /tmp",
        "danger-full-access": "are not confined",
    }[sandbox.mode]
    net = "have network access" if sandbox.network else "have no network"
    return (
        f" Commands run in an OS sandbox: they {where}, {net}, and see no credentials or "
        "secret environment variables."
    )


# After the main process exits, how long to keep reading output its children still write.
_DRAIN_S = 0.25


@dataclass(frozen=True, slots=True)
class ShellResult:
    exit_code: int | None
    output: str
    timed_out: bool
    truncated_bytes: int

    def to_text(self, timeout: float) -> str:
        if self.timed_out:
            head = f"exit code: killed (timed out after {timeout:g}s; process group killed)"
        else:
            head = f"exit code: {self.exit_code}"
        return f"{head}\n{self.output}" if self.output else head


def truncate_middle(data: bytes, limit: int) -> tuple[bytes, int]:
    """Keep the head and tail of ``data`` within ``limit`` bytes; return (data, bytes cut)."""
    if len(data) <= limit:
        return data, 0
    half = max(limit // 2, 1)
    cut = len(data) - 2 * half
    marker = f"\n\n... [{cut} bytes truncated] ...\n\n".encode()
    return data[:half] + marker + data[-half:], cut


class _Collector:
    """Head and tail of a byte stream, at most ``limit`` bytes held."""

    __slots__ = ("dropped", "half", "head", "tail")

    def __init__(self, limit: int) -> None:
        self.half = max(limit // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def feed(self, chunk: bytes) -> None:
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            extra = len(self.tail) - self.half
            if extra > 0:
                del self.tail[:extra]
                self.dropped += extra

    def result(self) -> tuple[bytes, int]:
        if not self.dropped:
            return bytes(self.head + self.tail), 0
        marker = f"\n\n... [{self.dropped} bytes truncated] ...\n\n".encode()
        return bytes(self.head) + marker + bytes(self.tail), self.dropped


def command_argv(command: str | Sequence[str]) -> list[str]:
    """The argv to execute: ``bash -c`` for a string, the list as given otherwise."""
    if isinstance(command, str):
        return ["bash", "-c", command]
    argv = [str(a) for a in command]
    if not argv or not argv[0]:
        raise ValueError("empty command")
    if any("\0" in a for a in argv):
        raise ValueError("command contains a NUL byte")
    return argv


def command_text(command: str | Sequence[str]) -> str:
    """The shell text the policy checks: the script of ``[bash, -lc, SCRIPT]``, else the
    quoted argv (so ``["rm", "-rf", "/"]`` is checked as ``rm -rf /``)."""
    if isinstance(command, str):
        return command
    argv = [str(a) for a in command]
    if len(argv) == 3 and os.path.basename(argv[0]) in _SHELLS and argv[1] in ("-c", "-lc", "-cl"):
        return argv[2]
    return shlex.join(argv)


def _kill_group(proc: Process) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


async def run_shell(
    command: str | Sequence[str],
    cwd: str | os.PathLike[str],
    *,
    time_limit: float,
    max_output_bytes: int,
    env: dict[str, str] | None = None,
    sandbox: Sandbox | None = None,
) -> ShellResult:
    """Run ``command`` in ``cwd`` (inside ``sandbox`` when given); cancellation kills the
    process group. ``env`` is passed as is (None: the parent's, for callers outside the tools);
    the output is redacted by pattern and by the parent's secret values."""
    argv = command_argv(command)
    if sandbox is None:
        return await _run(argv, cwd, time_limit, max_output_bytes, env)
    with sandbox.wrap(argv, dict(os.environ) if env is None else env, cwd) as (argv2, env2):
        return await _run(argv2, cwd, time_limit, max_output_bytes, env2)


async def _run(
    argv: list[str],
    cwd: str | os.PathLike[str],
    time_limit: float,
    max_output_bytes: int,
    env: dict[str, str] | None,
) -> ShellResult:
    collector = _Collector(max_output_bytes)
    timed_out = False
    proc = await anyio.open_process(
        argv,
        cwd=Path(cwd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )
    try:
        reader_done = anyio.Event()

        async def read() -> None:
            assert proc.stdout is not None
            try:
                async for chunk in proc.stdout:
                    collector.feed(chunk)
            except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
                pass
            finally:
                reader_done.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(read)
            with anyio.move_on_after(time_limit) as scope:
                await proc.wait()
            if scope.cancelled_caught:
                timed_out = True
                _kill_group(proc)
            with anyio.move_on_after(_DRAIN_S):
                await reader_done.wait()
            tg.cancel_scope.cancel()
    finally:
        _kill_group(proc)
        with anyio.CancelScope(shield=True):
            await proc.aclose()
    data, cut = collector.result()
    text = value_redactor(os.environ).redact(data.decode("utf-8", "replace"))
    text = redact(text).text
    return ShellResult(None if timed_out else proc.returncode, text, timed_out, cut)
