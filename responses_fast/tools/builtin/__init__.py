"""Built-in coding tools confined to a workspace: shell, read_file, list_files, search_files,
apply_patch.

``coding_tools(workspace)`` returns them as :class:`~responses_fast.tools.spec.Tool` objects. The
file tools refuse paths outside the workspace themselves (after symlinks), whatever the policy
says; the shell tool refuses commands its policy denies, so the tools stay safe even when called
without the agent loop's check.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from responses_fast.safety.paths import Workspace
from responses_fast.safety.policy import Policy

from ..spec import Tool, tool
from .apply_patch import (
    APPLY_PATCH_DESCRIPTION,
    APPLY_PATCH_FREEFORM,
    PatchError,
    apply_patch,
    parse_patch,
)
from .files import (
    LIST_FILES_DESCRIPTION,
    READ_FILE_DESCRIPTION,
    SEARCH_FILES_DESCRIPTION,
    list_files,
    read_file,
    search_files,
)
from .shell import SHELL_DESCRIPTION, ShellResult, run_shell

__all__ = [
    "DEFAULT_MAX_OUTPUT_BYTES",
    "PatchError",
    "ShellResult",
    "apply_patch",
    "coding_tools",
    "parse_patch",
    "run_shell",
]

DEFAULT_MAX_OUTPUT_BYTES = 32 * 1024


def coding_tools(
    workspace: str | os.PathLike[str],
    *,
    shell_timeout: float = 60,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
    network: bool = False,
    policy: Policy | None = None,
) -> list[Tool]:
    """The built-in tools: shell, read_file, list_files, search_files, apply_patch.

    Args:
        workspace: the folder every tool is confined to (must exist).
        shell_timeout: default and maximum seconds a shell command may run.
        max_output_bytes: output kept per call (shell keeps head and tail).
        network: whether the shell tool's own guard lets network commands through.
        policy: the guard the shell tool applies (default ``Policy(workspace, network=network)``);
            pass the agent loop's policy so the two agree.
    """
    root = Path(workspace)
    if not root.is_dir():
        raise ValueError(f"workspace {os.fspath(workspace)!r} is not a folder")
    ws = Workspace(root)
    guard = policy if policy is not None else Policy(root, network=network)
    out_limit = max(256, int(max_output_bytes))

    @tool(name="shell", description=SHELL_DESCRIPTION, kind="shell")
    async def shell(
        command: str = Field(description="The command line, run with bash -c in the workspace."),
        timeout: float | None = Field(  # noqa: ASYNC109 - the argument name models know
            None, description=f"Seconds before it is killed (default and max {shell_timeout:g})."
        ),
    ) -> str:
        decision = guard.check_command(command)
        if decision.action == "deny":
            raise PermissionError(f"refused by policy (rule {decision.rule}): {decision.reason}")
        t = shell_timeout if timeout is None or timeout <= 0 else min(timeout, shell_timeout)
        result = await run_shell(command, ws.root, time_limit=t, max_output_bytes=out_limit)
        return result.to_text(t)

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

    @tool(
        name="apply_patch",
        description=APPLY_PATCH_DESCRIPTION,
        kind="write",
        freeform=APPLY_PATCH_FREEFORM,
    )
    def apply_patch_tool(
        patch: str = Field(description="The whole patch, from *** Begin Patch to *** End Patch."),
    ) -> str:
        return apply_patch(ws, patch)

    return [shell, read_file_tool, list_files_tool, search_files_tool, apply_patch_tool]
