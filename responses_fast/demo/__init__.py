"""The bundled demo: a tiny repository with a real bug, and a scripted model that fixes it.

``responses-fast demo`` copies ``sample_repo/`` (package data) into a temporary workspace and runs
the agent on it. Without an API key the model is the local server playing ``script.json``: run
the tests, read the failing code, apply a patch, re-run the tests, answer. The script branches on
the tool outputs (``alternatives``/``match``), so it never claims a fix the tests do not confirm.

The test command is ``<python> -m unittest`` (standard library only), where ``<python>`` is the
file name of the running interpreter; :func:`tool_environment` puts its folder first on ``PATH``
so the shell tool finds the same interpreter.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

__all__ = [
    "INSTRUCTIONS",
    "TASK",
    "SuiteResult",
    "copy_sample_repo",
    "demo_script",
    "python_command",
    "run_tests",
    "snapshot",
    "task",
    "tool_environment",
    "unified_diff",
    "unittest_command",
]

_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")

INSTRUCTIONS = (
    "You are a careful coding agent working in a small Python repository (the workspace). "
    "Use the tools: shell runs a command in the workspace, read_file shows a file, apply_patch "
    "edits files with a '*** Begin Patch' envelope. Run the tests first, read the code that "
    "fails, fix the bug with the smallest patch, and run the tests again. Only say the bug is "
    "fixed when the tests pass; then summarize the cause and the fix in two or three sentences."
)


def python_command() -> str:
    """The interpreter's file name (``python3``, ``python``, ...), as the shell tool will see it."""
    return Path(sys.executable).name or "python3"


def unittest_command() -> str:
    """The sample repository's test command line."""
    return f"{python_command()} -m unittest"


TASK = "The tests of this repository fail. Find the bug and fix it. Run the tests with `{command}`."


def task() -> str:
    """The demo's prompt, naming the test command."""
    return TASK.format(command=unittest_command())


def tool_environment() -> None:
    """Put the running interpreter's folder first on ``PATH`` (the shell tool inherits it)."""
    folder = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[:1] != [folder]:
        os.environ["PATH"] = folder + (os.pathsep + path if path else "")


def copy_sample_repo(dest: str | os.PathLike[str]) -> Path:
    """Copy the bundled sample repository into ``dest`` (created; must not exist yet)."""
    target = Path(dest)
    with as_file(files(__package__ or "responses_fast.demo") / "sample_repo") as src:
        shutil.copytree(src, target, ignore=_IGNORED)
    return target


def _substitute(value: Any, python: str) -> Any:
    if isinstance(value, str):
        return value.replace("{python}", python)
    if isinstance(value, list):
        return [_substitute(v, python) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, python) for k, v in value.items()}
    return value


def demo_script(python: str | None = None) -> dict[str, Any]:
    """The scripted model's script (docs/server.md), with the test command filled in."""
    text = (files(__package__ or "responses_fast.demo") / "script.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    result: dict[str, Any] = _substitute(data, python or python_command())
    return result


@dataclass(frozen=True, slots=True)
class SuiteResult:
    """The outcome of running the sample repository's tests."""

    passed: bool
    summary: str
    output: str


def run_tests(workspace: str | os.PathLike[str], *, timeout: float = 60) -> SuiteResult:
    """Run ``python -m unittest`` in ``workspace`` with the current interpreter."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "unittest"],
            cwd=workspace,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return SuiteResult(False, f"the tests did not finish within {timeout:g}s", "")
    output = (proc.stdout + proc.stderr).strip()
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    ran = next((ln for ln in reversed(lines) if ln.startswith("Ran ")), "")
    verdict = lines[-1] if lines else f"exit code {proc.returncode}"
    summary = f"{ran}: {verdict}" if ran else verdict
    return SuiteResult(proc.returncode == 0, summary, output)


def snapshot(root: str | os.PathLike[str]) -> dict[str, str]:
    """Every text file under ``root`` (relative path -> content), caches and VCS data skipped."""
    base = Path(root)
    out: dict[str, str] = {}
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if any(p in {"__pycache__", ".git", ".pytest_cache"} for p in rel.parts):
            continue
        if not path.is_file():
            continue
        try:
            out[rel.as_posix()] = path.read_text("utf-8")
        except (UnicodeDecodeError, OSError):
            continue
    return out


def unified_diff(before: dict[str, str], after: dict[str, str]) -> str:
    """A unified diff (``a/`` and ``b/`` prefixes) between two snapshots."""
    chunks: list[str] = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        chunks.extend(
            difflib.unified_diff(
                (old or "").splitlines(keepends=True),
                (new or "").splitlines(keepends=True),
                fromfile=f"a/{name}" if old is not None else "/dev/null",
                tofile=f"b/{name}" if new is not None else "/dev/null",
            )
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)
