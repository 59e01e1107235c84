"""What a sandboxed command may write and what it must not see: shared by every backend.

The backends differ in how they enforce it (mounts, Landlock rules, a Seatbelt profile); the
layout itself, computed once per command from the workspace, the mode and the homes, is here.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "SECRET_HOME_PATHS",
    "Layout",
    "SandboxMode",
    "build_layout",
    "secret_locations",
]

SandboxMode = Literal["read-only", "workspace-write", "danger-full-access"]
SANDBOX_MODES: tuple[SandboxMode, ...] = ("read-only", "workspace-write", "danger-full-access")

#: Locations under a home folder that hold credentials (globs relative to the home).
SECRET_HOME_PATHS: tuple[str, ...] = (
    ".ssh",
    ".gnupg",
    ".aws",
    ".azure",
    ".config/gcloud",
    ".config/gh",
    ".config/hub",
    ".config/op",
    ".config/doctl",
    ".netrc",
    ".docker",
    ".kube",
    ".codex",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".vault-token",
    ".my.cnf",
    ".pgpass",
    ".npmrc",
    ".yarnrc",
    ".pypirc",
    ".git-credentials",
    ".config/git/credentials",
    ".gem/credentials",
    ".terraform.d/credentials.tfrc.json",
    ".local/share/keyrings",
    ".password-store",
    ".bash_history",
    ".zsh_history",
    ".python_history",
    ".psql_history",
    ".mysql_history",
)

#: Sockets that hand out power over the host: a read-only mount does not stop ``connect()`` on a
#: unix socket by path (checked here), so bwrap and Seatbelt mount ``/dev/null`` over them.
#: ``/run/user/<uid>`` (user D-Bus, docker/podman, keyring and agent sockets) is hidden whole,
#: and so is the agent's own ``$SSH_AUTH_SOCK``.
HOST_SOCKETS: tuple[str, ...] = (
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/run/podman/podman.sock",
    "/run/crio/crio.sock",
    "/var/run/libvirt/libvirt-sock",
    "/run/snapd.socket",
    "/run/dbus/system_bus_socket",
)

# Device files every command may write (bash, compilers and test runners open them).
WRITABLE_DEVICES: tuple[str, ...] = ("/dev/null", "/dev/zero", "/dev/full", "/dev/tty")


@dataclass(frozen=True, slots=True)
class Layout:
    """The filesystem rules for one command."""

    workspace: Path
    writable: tuple[Path, ...]  # writable roots (workspace in workspace-write, plus extra roots)
    read_only: tuple[Path, ...]  # protected paths under writable roots (.git unless allowed)
    hidden_dirs: tuple[Path, ...]  # secret folders to hide (tmpfs / deny read)
    hidden_files: tuple[Path, ...]  # secret files to hide (/dev/null / deny read)


def secret_locations(homes: list[Path]) -> tuple[list[Path], list[Path]]:
    """(folders, files) holding credentials that exist under ``homes`` (symlinks resolved too).

    One ``lstat`` per candidate: this runs before every command.
    """
    dirs: dict[Path, None] = {}
    files: dict[Path, None] = {}
    for home in dict.fromkeys(homes):
        for rel in SECRET_HOME_PATHS:
            p = home / rel
            try:
                st = os.lstat(p)
            except OSError:
                continue
            candidates = [p]
            if stat.S_ISLNK(st.st_mode):
                candidates.append(Path(os.path.realpath(p)))
            for c in candidates:
                if c.is_dir():
                    dirs[c] = None
                elif c.exists():
                    files[c] = None
    return list(dirs), list(files)


def _protected(root: Path) -> list[Path]:
    """Paths under a writable root that stay read-only: ``.git`` (a folder or a worktree's
    ``gitdir:`` file) and what it points to when that lies under the root too."""
    out: list[Path] = []
    git = root / ".git"
    if git.is_symlink() or git.exists():
        out.append(git)
    if git.is_file() and not git.is_symlink():
        try:
            first = git.read_text(errors="replace").splitlines()[0]
        except (OSError, IndexError):
            first = ""
        if first.startswith("gitdir:"):
            target = Path(first[7:].strip())
            target = (root / target) if not target.is_absolute() else target
            out.append(Path(os.path.realpath(target)))
    return out


def build_layout(
    workspace: Path,
    mode: SandboxMode,
    *,
    homes: list[Path],
    extra_writable: tuple[Path, ...] = (),
    git_writable: bool = False,
    hide: tuple[Path, ...] = (),
) -> Layout:
    """The layout for one command. ``hide``: more files, folders or sockets to make invisible
    (the agent's ``$SSH_AUTH_SOCK`` and ``/run/user/<uid>`` are added by the caller)."""
    ws = Path(os.path.realpath(workspace))
    writable: list[Path] = []
    if mode == "workspace-write":
        writable.append(ws)
        writable.extend(Path(os.path.realpath(p)) for p in extra_writable)
    protected: list[Path] = []
    if not git_writable:
        for root in writable:
            protected.extend(_protected(root))
    dirs, files = secret_locations(homes)
    for p in (*map(Path, HOST_SOCKETS), *hide):
        try:
            st = os.stat(p)
        except OSError:
            continue
        (dirs if stat.S_ISDIR(st.st_mode) else files).append(Path(os.path.realpath(p)))
    return Layout(ws, tuple(writable), tuple(protected), tuple(dirs), tuple(files))
