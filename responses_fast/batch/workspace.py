"""A task's own workspace: a fresh copy (or git checkout) in a temporary folder, and its diff.

Prepared on the machine that runs the task (a worker process or a Ray actor), removed afterwards.
Folder sources are diffed against a snapshot taken right after the copy; git sources with
``git diff`` against the checked-out commit (untracked files included).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..demo import unified_diff
from .tasks import WorkspaceSource

__all__ = ["PreparedWorkspace", "WorkspaceError", "prepare_workspace"]

_SKIP_DIRS = frozenset(
    {"__pycache__", ".git", ".pytest_cache", ".mypy_cache", ".venv", "node_modules"}
)
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache")
#: Files larger than this are left out of the snapshot diff.
_MAX_FILE = 1 << 20


class WorkspaceError(RuntimeError):
    """The workspace could not be prepared (missing folder, git failure)."""


def _snapshot(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            try:
                if path.is_symlink() or path.stat().st_size > _MAX_FILE:
                    continue
                out[path.relative_to(root).as_posix()] = path.read_text("utf-8")
            except (UnicodeDecodeError, OSError):
                continue
    return out


def _git(args: list[str], cwd: Path, timeout: float = 300) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_TERMINAL_PROMPT"] = "0"
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WorkspaceError(f"git {' '.join(args[:2])} failed: {exc}") from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip()[-500:]
        raise WorkspaceError(f"git {' '.join(args[:2])} failed ({proc.returncode}): {tail}")
    return proc.stdout


@dataclass(slots=True)
class PreparedWorkspace:
    """A task's workspace folder; ``diff()`` what the agent changed, ``cleanup()`` removes it."""

    root: Path
    path: Path
    git_base: str | None = None
    before: dict[str, str] = field(default_factory=dict)

    def diff(self) -> str:
        if self.git_base is not None:
            _git(["add", "-A"], self.path)
            return _git(
                ["diff", "--cached", "--no-color", "--no-ext-diff", self.git_base], self.path
            )
        return unified_diff(self.before, _snapshot(self.path))

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def prepare_workspace(source: WorkspaceSource, *, prefix: str = "rf-batch-") -> PreparedWorkspace:
    """Copy the folder, or clone the repository and check out the commit, into a temp folder."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    dest = root / "ws"
    try:
        if source.path is not None:
            src = Path(source.path)
            if not src.is_dir():
                raise WorkspaceError(f"workspace folder {src} does not exist")
            shutil.copytree(src, dest, ignore=_IGNORED, symlinks=True)
            return PreparedWorkspace(root, dest, None, _snapshot(dest))
        assert source.git is not None
        _git(["clone", "--quiet", "--no-hardlinks", source.git, str(dest)], root)
        if source.commit:
            _git(["checkout", "--quiet", "--detach", source.commit], dest)
        base = _git(["rev-parse", "HEAD"], dest).strip()
        return PreparedWorkspace(root, dest, base)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
