"""Dangerous commands really executed inside the sandbox, on both Linux backends.

After each command: the canary folder and the canary home outside the workspace are unchanged
(hashes of every file before and after), the loopback listener got no connection, the unrelated
process and this test process are alive, and the secrets did not reach the output (bwrap).
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import anyio
import pytest

from responses_fast.sandbox._landlock_exec import abi_version as landlock_abi
from responses_fast.tools.builtin.shell import run_shell

from .conftest import CANARY_SECRET, Listener, World, fingerprint
from .dangerous import DANGEROUS, NETWORK, SECRET_READS

pytestmark = pytest.mark.anyio


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


async def run(world: World, backend: str, command: str, port: int, **box: object) -> str:
    result = await run_shell(
        command.format(**world.vars(port)),
        world.ws,
        time_limit=5,
        max_output_bytes=64 * 1024,
        env=world.env(),
        sandbox=world.sandbox(backend, **box),
    )
    return result.output


def restore_modes(*roots: Path) -> None:
    for root in roots:
        os.chmod(root, 0o755)
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames:
                os.chmod(os.path.join(dirpath, name), 0o755)
            for name in filenames:
                p = os.path.join(dirpath, name)
                if not os.path.islink(p):
                    os.chmod(p, 0o644)


def assert_outside_unchanged(world: World, *, metadata: bool = True) -> None:
    for name, root in (("out", world.out), ("home", world.home)):
        before = world.fingerprints[name]
        if not metadata:  # recompute "before" without metadata from the same tree shape
            after = fingerprint(root, metadata=False)
            assert set(after) == set(before), f"{name}: files appeared or vanished"
            continue
        assert fingerprint(root) == before, f"{name} changed"


@pytest.mark.parametrize(
    ("family", "command"), DANGEROUS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(DANGEROUS)]
)
async def test_dangerous_command_changes_nothing_outside(
    world: World, backend: str, listener: Listener, family: str, command: str
) -> None:
    if backend == "landlock" and family == "signals" and landlock_abi() < 6:
        pytest.skip("Landlock scopes signals from ABI 6; this kernel has an older ABI")
    out = await run(world, backend, command, listener.port)
    if family == "escape":
        # A detached child may try its write a second later: give it the chance, then check.
        await anyio.sleep(1.5)
    meta_gap = backend == "landlock" and family == "outside-meta"
    if meta_gap:
        # Landlock does not confine chmod/utime (documented): contents must still be intact.
        for rel, text in (("victim.txt", "do not touch\n"), ("dir/nested.txt", "nested\n")):
            if os.access(world.out / rel, os.R_OK):
                assert (world.out / rel).read_text() == text
        restore_modes(world.out, world.home)  # so the metadata-free comparison can read them
        assert_outside_unchanged(world, metadata=False)
    else:
        assert_outside_unchanged(world)
    assert listener.connections() == 0
    assert alive(world.victim_pid), "an unrelated process was killed"
    assert CANARY_SECRET not in out or backend == "landlock"


@pytest.mark.parametrize("command", NETWORK)
async def test_network_is_off(world: World, backend: str, listener: Listener, command: str) -> None:
    if backend == "landlock" and landlock_abi() < 4:
        pytest.skip("Landlock restricts TCP from ABI 4; this kernel has an older ABI")
    out = await run(world, backend, command, listener.port)
    assert listener.connections() == 0, out
    assert "CONNECTED" not in out


async def test_network_on_reaches_the_listener(
    world: World, backend: str, listener: Listener
) -> None:
    # The control: the same attempt with network allowed does connect, so the listener and the
    # command work and the test above can fail.
    out = await run(world, backend, NETWORK[0], listener.port, network=True)
    assert "CONNECTED" in out
    assert listener.connections() == 1


@pytest.mark.parametrize("command", SECRET_READS)
async def test_secrets_are_hidden_with_bwrap(
    world: World, listener: Listener, command: str
) -> None:
    from .conftest import backend_or_skip

    backend = backend_or_skip("bwrap")
    out = await run(world, backend, command, listener.port)
    assert CANARY_SECRET not in out


async def test_landlock_does_not_hide_reads(world: World, listener: Listener) -> None:
    # Documented limit of the Landlock backend: it confines writes, not reads.
    from .conftest import backend_or_skip

    backend = backend_or_skip("landlock")
    out = await run(world, backend, "cat ~/.ssh/id_rsa", listener.port)
    assert CANARY_SECRET in out


async def test_workspace_is_writable_and_git_is_not(world: World, backend: str) -> None:
    out = await run(
        world,
        backend,
        "echo new > created.txt && echo ok; echo x > .git/config; rm -rf .git/hooks; true",
        0,
    )
    assert (world.ws / "created.txt").read_text() == "new\n" and "ok" in out
    if backend == "bwrap":
        assert (world.ws / ".git" / "config").read_text().startswith("[core]")
        assert (world.ws / ".git" / "hooks").is_dir()


async def test_git_writable_when_allowed(world: World) -> None:
    from .conftest import backend_or_skip

    backend = backend_or_skip("bwrap")
    await run(world, backend, "echo x > .git/config", 0, git_writable=True)
    assert (world.ws / ".git" / "config").read_text() == "x\n"


async def test_read_only_mode_writes_nothing(world: World, backend: str) -> None:
    out = await run(world, backend, "echo x > app.py; touch new; echo t > $TMPDIR/t && echo TMP", 0,
                    mode="read-only")  # fmt: skip
    assert (world.ws / "app.py").read_text() == "print('hello')\n"
    assert not (world.ws / "new").exists()
    assert "TMP" in out  # a private temporary folder stays writable


async def test_private_tmp(world: World, backend: str) -> None:
    name = f"rf-sandbox-canary-{os.getpid()}"
    out = await run(world, backend, f"echo x > /tmp/{name}; echo y > $TMPDIR/{name}; ls $TMPDIR", 0)
    assert not os.path.exists(os.path.join("/tmp", name))  # noqa: ASYNC240 - a test
    assert name in out  # written in the command's own temporary folder
    if backend == "bwrap":
        # Nothing of the host's /tmp is visible, except the path to this interpreter's own
        # environment when it lives there (a CI checkout's venv, bound back read-only).
        kept = {
            os.path.relpath(p, "/tmp").split(os.sep)[0]  # noqa: ASYNC240 - a test
            for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}
            if os.path.realpath(p).startswith("/tmp/")  # noqa: ASYNC240
        }
        host_tmp = set(os.listdir("/tmp")) - kept
        inside = await run(world, backend, "ls -A /tmp", 0)
        assert not (set(inside.split()) & host_tmp)


async def test_no_device_nodes(world: World, backend: str) -> None:
    await run(world, backend, "mknod ./n c 1 3", 0)
    assert not (world.ws / "n").exists()


async def test_pid_namespace_with_bwrap(world: World) -> None:
    from .conftest import backend_or_skip

    backend = backend_or_skip("bwrap")
    out = await run(world, backend, "echo pid=$$; ls /proc | grep -c '^[0-9]'", 0)
    lines = out.split()
    assert int(lines[0].removeprefix("pid=")) < 10
    assert int(lines[1]) < 10  # only the sandbox's own processes are visible


async def test_no_capabilities_even_as_root(world: World, backend: str) -> None:
    out = await run(world, backend, "grep CapEff /proc/self/status", 0)
    assert out.split()[-1] == "0000000000000000"


def marked(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read().split(b"\0") and alive(int(entry)):
                        found.append(int(entry))
            except OSError:
                continue
    return found


async def wait_gone(marker: str) -> bool:
    for _ in range(250):
        if not marked(marker):
            return True
        await anyio.sleep(0.02)
    return False


async def test_timeout_kills_every_process(world: World, backend: str) -> None:
    marker = f"0.000{os.getpid()}7"
    # A bounded tree of 2**7 processes, all sleeping past the time limit.
    tree = (
        f"b(){{ [ $1 -lt 6 ] && {{ b $(( $1+1 )) & b $(( $1+1 )) & }}; sleep 300 {marker}; }}; b 0"
    )
    result = await run_shell(
        tree, world.ws, time_limit=1, max_output_bytes=4096, env=world.env(),
        sandbox=world.sandbox(backend),
    )  # fmt: skip
    assert result.timed_out
    assert await wait_gone(marker)


async def test_detached_process_dies_with_bwrap(world: World) -> None:
    from .conftest import backend_or_skip

    backend = backend_or_skip("bwrap")
    marker = f"0.000{os.getpid()}9"
    await run(world, backend, f"setsid sleep 300 {marker} & disown; echo started", 0)
    assert await wait_gone(marker)  # the PID namespace died with the command


def unix_listener(path: Path) -> socket.socket:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.listen(8)
    s.setblocking(False)
    return s


def pending(s: socket.socket) -> int:
    n = 0
    while True:
        try:
            conn, _ = s.accept()
        except BlockingIOError:
            return n
        n += 1
        conn.close()


CONNECT_UNIX = "{PY} -c \"import socket; socket.socket(socket.AF_UNIX).connect('%s')\""


async def test_host_sockets_are_hidden_with_bwrap(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read-only mount does not stop connect() on a unix socket by path: a docker.sock or an
    # ssh-agent would hand the command the host. The agent's $SSH_AUTH_SOCK and any path in
    # `hide` get /dev/null mounted over them.
    from .conftest import backend_or_skip

    backend = backend_or_skip("bwrap")
    agent, engine = world.base / "agent.sock", world.base / "engine.sock"
    listeners = [unix_listener(agent), unix_listener(engine)]
    monkeypatch.setenv("SSH_AUTH_SOCK", str(agent))
    try:
        for path in (agent, engine):
            out = await run(world, backend, CONNECT_UNIX % path, 0, hide=[engine])
            assert "Error" in out, out
        assert [pending(s) for s in listeners] == [0, 0]
        # The control: without hiding, the same command reaches the socket.
        monkeypatch.delenv("SSH_AUTH_SOCK")
        await run(world, backend, CONNECT_UNIX % agent, 0)
        assert pending(listeners[0]) == 1
    finally:
        for s in listeners:
            s.close()
