"""Fixtures for the sandbox suite: a canary world outside the workspace and a loopback listener.

The world lives under /var/tmp, not /tmp: bwrap gives each command a private /tmp, so canaries
under /tmp would be invisible inside rather than protected, and the test would prove less.
Every dangerous command runs only inside a sandbox, against this world.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from responses_fast.safety.environment import EnvironmentPolicy
from responses_fast.sandbox import Sandbox, SandboxUnavailableError, detect_backend

if not sys.platform.startswith("linux"):
    pytest.skip("the sandbox suite runs the Linux backends", allow_module_level=True)

CANARY_SECRET = "CANARY-SECRET-4e1f9a7c2b"  # not shaped like a key: redaction must not hide it
LINUX_BACKENDS = ("bwrap", "landlock")
VICTIM_MARK = f"0.0000{os.getpid()}1"  # makes the victim's argv unique to this test run


def backend_or_skip(name: str) -> str:
    try:
        detect_backend(name)
    except SandboxUnavailableError as e:
        pytest.skip(f"{name} cannot run on this machine: {e}")
    return name


@pytest.fixture(params=LINUX_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return backend_or_skip(str(request.param))


@dataclass
class World:
    base: Path
    ws: Path
    out: Path
    home: Path
    victim_pid: int
    fingerprints: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return EnvironmentPolicy(set={"HOME": str(self.home)}).apply(os.environ)

    def sandbox(self, backend: str, **kwargs: object) -> Sandbox:
        return Sandbox(self.ws, backend=backend, **kwargs)  # type: ignore[arg-type]

    def vars(self, port: int) -> dict[str, str]:
        return {
            "OUT": str(self.out),
            "HOME": str(self.home),
            "WS": str(self.ws),
            "BASE": str(self.base),
            "PORT": str(port),
            "PY": sys.executable,
            "PARENT": str(os.getpid()),
            "VICTIM": str(self.victim_pid),
            "VICTIM_MARK": VICTIM_MARK,
        }


def fingerprint(root: Path, *, metadata: bool = True) -> dict[str, str]:
    """Path -> hash of type, content (or link target) and, with ``metadata``, mode and mtime."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            h = hashlib.sha256(str(st.st_mode >> 12).encode())
            if os.path.islink(p):
                h.update(os.readlink(p).encode())
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    h.update(f.read())
            if metadata:
                h.update(f"{st.st_mode}:{st.st_mtime_ns}:{st.st_uid}".encode())
            out[os.path.relpath(p, root)] = h.hexdigest()
    return out


SECRET_FILES = (
    ".ssh/id_rsa",
    ".ssh/config",
    ".aws/credentials",
    ".config/gcloud/credentials.db",
    ".config/gh/hosts.yml",
    ".netrc",
    ".docker/config.json",
    ".kube/config",
    ".codex/auth.json",
    ".cargo/credentials.toml",
    ".vault-token",
    ".my.cnf",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    ".git-credentials",
)


@pytest.fixture
def world() -> Iterator[World]:
    base = Path(tempfile.mkdtemp(prefix="rf-sandbox-test-", dir="/var/tmp"))
    ws, out, home = base / "ws", base / "outside", base / "home"
    (ws / ".git" / "hooks").mkdir(parents=True)
    (ws / ".git" / "config").write_text("[core]\n\tbare = false\n")
    (ws / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (ws / "app.py").write_text("print('hello')\n")
    (ws / "l").symlink_to("../outside")  # a link already in the workspace
    (out / "dir").mkdir(parents=True)
    (out / "victim.txt").write_text("do not touch\n")
    (out / "dir" / "nested.txt").write_text("nested\n")
    (out / "script.sh").write_text("#!/bin/sh\necho original\n")
    home.mkdir()
    (home / ".bashrc").write_text("# canary bashrc\n")
    (home / ".profile").write_text("# canary profile\n")
    for rel in SECRET_FILES:
        p = home / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"{CANARY_SECRET} {rel}\n")
    victim = subprocess.Popen(["sleep", "600", VICTIM_MARK], start_new_session=True)
    w = World(base, ws, out, home, victim.pid)
    w.fingerprints = {"out": fingerprint(out), "home": fingerprint(home)}
    try:
        yield w
    finally:
        victim.kill()
        victim.wait()
        shutil.rmtree(base, ignore_errors=True)


class Listener:
    """A loopback TCP listener. It never accepts while a command runs: the kernel completes the
    handshake of any connection into the backlog, so ``connections()`` afterwards counts every
    connection that succeeded, with no timing involved."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.setblocking(False)
        self.port = int(self.sock.getsockname()[1])

    def connections(self) -> int:
        n = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return n
            n += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    lst = Listener()
    try:
        yield lst
    finally:
        lst.close()
