"""The bundled sample batch: 20 tiny repositories, each with one bug and a failing test.

``sample_tasks()`` returns the tasks (workspaces are the package's own folders, copied per task);
``sample_scripts()`` the local server's scripted model for each, played as model
``scripted:<task id>``: run the tests, read the failing module, patch the buggy line, re-run the
tests and answer. Like the demo's script it branches on the tool outputs, so it never claims a
fix the tests do not confirm, and the check command (the tests) decides pass or fail.
"""

from __future__ import annotations

import json
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

from .tasks import TaskSpec, WorkspaceSource

__all__ = ["SAMPLE_INSTRUCTIONS", "sample_dir", "sample_scripts", "sample_tasks"]

SAMPLE_INSTRUCTIONS = (
    "You are a careful coding agent in a small Python repository. Run the tests, read the code "
    "that fails, fix the bug with the smallest patch (apply_patch), run the tests again, and "
    "only say the bug is fixed when they pass."
)


def sample_dir() -> Path:
    """The folder holding the sample repositories (package data)."""
    return Path(str(files("responses_fast.batch") / "sample"))


def _fixes() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = json.loads((sample_dir() / "fixes.json").read_text("utf-8"))
    return data


def _python() -> str:
    """The interpreter's file name: workers put its folder first on PATH (tool_environment)."""
    return Path(sys.executable).name or "python3"


def sample_tasks(python: str | None = None) -> list[TaskSpec]:
    """The 20 sample tasks (model ``scripted:<id>``, check ``<python> -m unittest``)."""
    py = python or _python()
    root = sample_dir()
    tasks = []
    for task_id in _fixes():
        tasks.append(
            TaskSpec(
                id=task_id,
                prompt=(
                    "The tests of this repository fail. Find the bug and fix it. "
                    f"Run the tests with `{py} -m unittest`."
                ),
                workspace=WorkspaceSource(path=str(root / task_id)),
                model=f"scripted:{task_id}",
                instructions=SAMPLE_INSTRUCTIONS,
                tools=["shell", "read_file", "apply_patch"],
                check=f"{py} -m unittest",
                check_timeout=120,
                max_turns=10,
                settings={},
            )
        )
    return tasks


def _patch(fix: dict[str, Any]) -> str:
    lines = ["*** Begin Patch", f"*** Update File: {fix['file']}", f"@@ {fix['header']}"]
    if fix.get("before") and fix["before"] != fix["header"]:
        lines.append(" " + fix["before"])
    lines += ["-" + fix["old"], "+" + fix["new"]]
    if fix.get("after"):
        lines.append(" " + fix["after"])
    lines.append("*** End Patch")
    return "\n".join(lines) + "\n"


def _script(fix: dict[str, Any], py: str) -> dict[str, Any]:
    test = {"type": "function_call", "name": "shell", "arguments": {"command": f"{py} -m unittest"}}
    old = fix["old"].strip()
    return {
        "turns": [
            [{"type": "message", "text": "Running the tests first."}, test],
            {
                "alternatives": [
                    {
                        "match": "FAILED",
                        "output": [
                            {"type": "message", "text": f"A test fails; reading {fix['file']}."},
                            {
                                "type": "function_call",
                                "name": "read_file",
                                "arguments": {"path": fix["file"]},
                            },
                        ],
                    },
                    {"output": ["The tests already pass; there is nothing to fix."]},
                ]
            },
            {
                "alternatives": [
                    {
                        "match": old,
                        "output": [
                            {"type": "message", "text": f"Found it: {fix['why']}."},
                            {
                                "type": "function_call",
                                "name": "apply_patch",
                                "arguments": {"patch": _patch(fix)},
                            },
                        ],
                    },
                    {"output": [f"{fix['file']} does not contain `{old}`; not changing it."]},
                ]
            },
            [{"type": "message", "text": "Patched; re-running the tests."}, test],
            {
                "alternatives": [
                    {
                        "match": "exit code: 0",
                        "output": [f"Fixed: {fix['why']}. The tests pass now."],
                    },
                    {"output": ["The tests still fail after the patch; leaving it for review."]},
                ]
            },
        ]
    }


def sample_scripts(python: str | None = None) -> dict[str, dict[str, Any]]:
    """The scripted model's script per sample task, keyed by task id (``scripted:<id>``)."""
    py = python or _python()
    return {task_id: _script(fix, py) for task_id, fix in _fixes().items()}
