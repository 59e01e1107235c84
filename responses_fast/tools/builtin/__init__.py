"""Built-in coding tools confined to a workspace: shell, read_file, list_files, search_files,
apply_patch.

``coding_tools(workspace)`` returns them as :class:`~responses_fast.tools.spec.Tool` objects. The
file tools refuse paths outside the workspace themselves (after symlinks), whatever the policy
says; the shell tool refuses commands its policy denies, so the tools stay safe even when called
without the agent loop's check.
"""

from __future__ import annotations

import inspect
import os
import weakref
from pathlib import Path

from pydantic import Field

from responses_fast.safety.environment import EnvironmentPolicy
from responses_fast.safety.paths import Workspace
from responses_fast.safety.policy import Policy
from responses_fast.sandbox import Sandbox, SandboxMode

from ..spec import Tool, tool
from .apply_patch import APPLY_PATCH_DESCRIPTION, PatchError, apply_patch, parse_patch
from .files import (
    LIST_FILES_DESCRIPTION,
    READ_FILE_DESCRIPTION,
    SEARCH_FILES_DESCRIPTION,
    list_files,
    read_file,
    search_files,
)
from .shell import SHELL_DESCRIPTION, ShellResult, command_text, run_shell, sandbox_note

__all__ = [
    "DEFAULT_MAX_OUTPUT_BYTES",
    "PatchError",
    "ShellResult",
    "apply_patch",
    "coding_tools",
    "parse_patch",
    "policy_for_sandbox",
    "run_shell",
    "shell_tool_sandbox",
]

DEFAULT_MAX_OUTPUT_BYTES = 32 * 1024

# The sandbox of each shell tool made here (reported by the CLI and the session).
_SANDBOXES: weakref.WeakKeyDictionary[Tool, Sandbox] = weakref.WeakKeyDictionary()


def policy_for_sandbox(sandbox: Sandbox) -> Policy:
    """The default policy for commands run in ``sandbox``: its workspace, its network rule, and
    ``sandboxed=False`` when the OS does not confine them (then everything not read-only asks)."""
    root, network = sandbox.workspace, sandbox.network
    # ``sandboxed`` is a newer Policy keyword: pass it where this Policy has it.
    if "sandboxed" in inspect.signature(Policy).parameters:
        return Policy(root, network=network, sandboxed=sandbox.sandboxed)  # type: ignore[call-arg,unused-ignore]
    return Policy(root, network=network)


def coding_tools(
    workspace: str | os.PathLike[str],
    *,
    shell_timeout: float = 60,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
    network: bool = False,
    policy: Policy | None = None,
    sandbox: SandboxMode | Sandbox = "workspace-write",
    environment: EnvironmentPolicy | None = None,
) -> list[Tool]:
    """The built-in tools: shell, read_file, list_files, search_files, apply_patch.

    Args:
        workspace: the folder every tool is confined to (must exist).
        shell_timeout: default and maximum seconds a shell command may run.
        max_output_bytes: output kept per call (shell keeps head and tail).
        network: whether commands may use the network (the sandbox's and the guard's rule).
        policy: the guard the shell tool applies (default ``Policy(workspace, network=network,
            sandboxed=...)``); pass the agent loop's policy so the two agree.
        sandbox: the OS sandbox mode (``read-only``, ``workspace-write``,
            ``danger-full-access``) or a :class:`~responses_fast.sandbox.Sandbox`. The backend
            is probed once per process; ``shell_tool_sandbox(tools)`` returns it.
        environment: which variables commands see (default: the core allow-list, no
            secret-looking names; see ``responses_fast.safety.environment.EnvironmentPolicy``).
    """
    root = Path(workspace)
    if not root.is_dir():
        raise ValueError(f"workspace {os.fspath(workspace)!r} is not a folder")
    ws = Workspace(root)
    box = sandbox if isinstance(sandbox, Sandbox) else Sandbox(root, mode=sandbox, network=network)
    guard = policy if policy is not None else policy_for_sandbox(box)
    env_policy = environment if environment is not None else EnvironmentPolicy()
    out_limit = max(256, int(max_output_bytes))

    @tool(name="shell", description=SHELL_DESCRIPTION + sandbox_note(box), kind="shell")
    async def shell(
        command: str | list[str] = Field(
            description=(
                "The command line (run with bash -c in the workspace), or an argv list such "
                'as ["bash", "-lc", "pytest -q"].'
            )
        ),
        timeout: float | None = Field(  # noqa: ASYNC109 - the argument name models know
            None, description=f"Seconds before it is killed (default and max {shell_timeout:g})."
        ),
    ) -> str:
        decision = guard.check_command(command_text(command))
        if decision.action == "deny":
            raise PermissionError(f"refused by policy (rule {decision.rule}): {decision.reason}")
        t = shell_timeout if timeout is None or timeout <= 0 else min(timeout, shell_timeout)
        env = env_policy.apply(os.environ)
        env["PWD"] = str(box.workspace)
        result = await run_shell(
            command, box.workspace, time_limit=t, max_output_bytes=out_limit, env=env, sandbox=box
        )
        return result.to_text(t)

    _SANDBOXES[shell] = box

    @tool(name="read_file", description=READ_FILE_DESCRIPTION, kind="read")
    def read_file_tool(
        path: str = Field(description="File path relative to the workspace."),
        start_line: int = Field(1, description="First line to show (1-based)."),
        end_line: int | None = Field(None, description="Last line to show (inclusive)."),
    ) -> str:
        return read_file(ws, path, start_line, end_line, max_output_bytes=out_limit)

    @tool(name="list_files", description=LIST_FILES_DESCRIPTION, kind="read")
    def list_files_tool(
        path: str = Field(".", description="Folder relative to the workspace."),
        max_depth: int = Field(3, description="How many levels to descend (1 = this folder)."),
        limit: int = Field(500, description="Maximum entries to return."),
    ) -> str:
        return list_files(ws, path, max_depth, limit)

    @tool(name="search_files", description=SEARCH_FILES_DESCRIPTION, kind="read")
    def search_files_tool(
        pattern: str = Field(description="Python regular expression to search for."),
        path: str = Field(".", description="File or folder relative to the workspace."),
        glob: str | None = Field(None, description='Only files matching this glob, e.g. "*.py".'),
        limit: int = Field(200, description="Maximum matches to return."),
    ) -> str:
        return search_files(ws, pattern, path, glob, limit, max_output_bytes=out_limit)

    @tool(name="apply_patch", description=APPLY_PATCH_DESCRIPTION, kind="write")
    def apply_patch_tool(
        patch: str = Field(description="The whole patch, from *** Begin Patch to *** End Patch."),
    ) -> str:
        return apply_patch(ws, patch)

    return [shell, read_file_tool, list_files_tool, search_files_tool, apply_patch_tool]


def shell_tool_sandbox(tools: list[Tool]) -> Sandbox | None:
    """The :class:`~responses_fast.sandbox.Sandbox` of the shell tool among ``tools`` (None if
    there is none): what the CLI and sessions report once."""
    for t in tools:
        box = _SANDBOXES.get(t)
        if box is not None:
            return box
    return None
