"""Landlock launcher: restrict this process with Landlock, then exec the command.

Usage: ``python -I -S _landlock_exec.py [--rw DIR]... [--rw-file FILE]... [--no-net] -- ARGV...``

Why a launcher rather than ``preexec_fn``: the parent is multi-threaded (anyio worker threads,
servers), and Python documents ``preexec_fn`` as unsafe there (the child can deadlock before
``exec``); anyio's ``open_process`` does not offer it either. A separate interpreter costs a few
milliseconds per command and leaves the parent untouched. This file uses the standard library
only and is run by path with ``-I -S``, so it starts in a clean interpreter.

What is enforced (see docs/safety.md): writes (create, delete, rename, truncate, write) only
beneath the ``--rw`` directories and to the ``--rw-file`` files; with ``--no-net`` on ABI >= 4,
TCP connect is denied; on ABI >= 6, signals to and abstract unix sockets of processes outside
the sandbox are denied. Reads are NOT restricted: Landlock cannot hide a file by path here
without listing every readable directory. ``no_new_privs`` is set, so set-uid programs cannot
regain privileges.
"""

from __future__ import annotations

import ctypes
import os
import sys

_SYS_CREATE_RULESET = 444  # same numbers on every architecture (generic syscall table)
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
NET_CONNECT_TCP = 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6

_FILE_RIGHTS = FS_WRITE_FILE | FS_TRUNCATE


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def abi_version() -> int:
    """The kernel's Landlock ABI version, or 0 when Landlock is unavailable."""
    if not sys.platform.startswith("linux"):
        return 0
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    v = int(libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION))
    return max(v, 0)


# Never granted, only handled: a device node made in the workspace (say the host's disk) would
# let a root command write the device through a path Landlock allows.
_DEVICE_RIGHTS = FS_MAKE_CHAR | FS_MAKE_BLOCK


def _write_rights(abi: int) -> int:
    rights = (
        FS_WRITE_FILE
        | FS_REMOVE_DIR
        | FS_REMOVE_FILE
        | FS_MAKE_CHAR
        | FS_MAKE_DIR
        | FS_MAKE_REG
        | FS_MAKE_SOCK
        | FS_MAKE_FIFO
        | FS_MAKE_BLOCK
        | FS_MAKE_SYM
    )
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    return rights


_PR_CAPBSET_DROP = 24
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4


def _drop_capabilities(libc: ctypes.CDLL) -> None:
    """Empty the capability bounding set, so that even root runs the command without
    capabilities: Landlock confines paths, not ``mknod``, ``init_module`` or raw sockets."""
    if os.geteuid() != 0:
        return  # an unprivileged caller has no capabilities to carry across exec
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
    except (OSError, ValueError):
        last = 63
    for cap in range(last + 1):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != 22:
            raise OSError(ctypes.get_errno(), f"cannot drop capability {cap}")
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)


def restrict(rw_dirs: list[str], rw_files: list[str], *, network: bool) -> int:
    """Apply the Landlock restriction to this process (and what it executes); return the ABI."""
    abi = abi_version()
    if abi < 1:
        raise OSError("Landlock is not available on this kernel")
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    handled = _write_rights(abi)
    attr = _RulesetAttr(handled, 0, 0)
    size = 8
    if abi >= 4:
        size = 16
        if not network:
            attr.handled_access_net = NET_CONNECT_TCP
    if abi >= 6:
        size = 24
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
    fd = int(libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for path, rights in [(d, handled & ~_DEVICE_RIGHTS) for d in rw_dirs] + [
            (f, _FILE_RIGHTS & handled) for f in rw_files
        ]:
            try:
                pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a missing optional path (say /dev/tty) grants nothing
            try:
                if not os.path.isdir(path):
                    rights &= _FILE_RIGHTS
                rule = _PathBeneathAttr(rights, pfd)
                rc = libc.syscall(_SYS_ADD_RULE, fd, _RULE_PATH_BENEATH, ctypes.byref(rule), 0)
                if rc < 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
            finally:
                os.close(pfd)
        _drop_capabilities(libc)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_SYS_RESTRICT_SELF, fd, 0) < 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(fd)
    return abi


def main(argv: list[str]) -> int:
    rw_dirs: list[str] = []
    rw_files: list[str] = []
    network = True
    i = 0
    while i < len(argv) and argv[i] != "--":
        flag = argv[i]
        if flag == "--rw" and i + 1 < len(argv):
            rw_dirs.append(argv[i + 1])
            i += 2
        elif flag == "--rw-file" and i + 1 < len(argv):
            rw_files.append(argv[i + 1])
            i += 2
        elif flag == "--no-net":
            network = False
            i += 1
        else:
            sys.stderr.write(f"landlock launcher: unknown argument {flag!r}\n")
            return 126
    command = argv[i + 1 :]
    if not command:
        sys.stderr.write("landlock launcher: no command after --\n")
        return 126
    try:
        restrict(rw_dirs, rw_files, network=network)
    except OSError as e:  # fail closed: never run the command unrestricted
        sys.stderr.write(f"landlock launcher: cannot sandbox the command: {e}\n")
        return 126
    try:
        os.execvp(command[0], command)
    except OSError as e:
        sys.stderr.write(f"{command[0]}: {e.strerror}\n")
        return 127
    return 127  # unreachable: execvp does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
