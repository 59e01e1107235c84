"""macOS backend: a Seatbelt (SBPL) profile for ``/usr/bin/sandbox-exec -p PROFILE -- ARGV``.

The same rules as on Linux: reads allowed except the secret locations, writes only beneath the
writable roots (minus ``.git``) and the command's private temporary folder, network only when
allowed, signals only within the sandbox. macOS has no PID namespace: process cleanup is by
process group, as for every backend. Generated as text and unit-tested here; it runs on macOS.
"""

from __future__ import annotations

from pathlib import Path

from .layout import WRITABLE_DEVICES, Layout

__all__ = ["SANDBOX_EXEC", "seatbelt_argv", "seatbelt_profile"]

SANDBOX_EXEC = "/usr/bin/sandbox-exec"


def _q(path: Path | str) -> str:
    """An SBPL string literal (backslashes and quotes escaped; no other escapes exist)."""
    s = str(path)
    if "\0" in s or "\n" in s:
        raise ValueError(f"path cannot go in a Seatbelt profile: {s!r}")
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def seatbelt_profile(layout: Layout, *, network: bool, private_tmp: Path) -> str:
    lines = [
        "(version 1)",
        "(deny default)",
        "(allow process-exec)",
        "(allow process-fork)",
        "(allow signal (target same-sandbox))",
        "(allow sysctl-read)",
        "(allow mach-lookup)",
        "(allow ipc-posix-shm)",
        "(allow iokit-open)",
        "(allow pseudo-tty)",
        "(allow file-read*)",
        "(allow file-ioctl)",
    ]
    writable = [f"(subpath {_q(r)})" for r in (*layout.writable, private_tmp)]
    writable += [f"(literal {_q(d)})" for d in WRITABLE_DEVICES]
    writable.append('(regex #"^/dev/ttys[0-9]+$")')
    protected = [f"(subpath {_q(p)})" for p in layout.read_only]
    if protected:
        lines.append(
            "(allow file-write* (require-all (require-any "
            + " ".join(writable)
            + ") (require-not (require-any "
            + " ".join(protected)
            + "))))"
        )
    else:
        lines.append("(allow file-write* " + " ".join(writable) + ")")
    hidden = [f"(subpath {_q(d)})" for d in layout.hidden_dirs]
    hidden += [f"(literal {_q(f)})" for f in layout.hidden_files]
    if hidden:
        lines.append("(deny file-read* file-write* " + " ".join(hidden) + ")")
    if network:
        lines.append("(allow network*)")
        # Hidden sockets (docker.sock, an ssh-agent): connecting is a network operation here.
        socks = [f"(path-literal {_q(f)})" for f in layout.hidden_files]
        if socks:
            lines.append("(deny network-outbound (remote unix-socket " + " ".join(socks) + "))")
    # Network off: no network rule at all, unix sockets by path included (docker.sock lives
    # in /private/var/run on macOS).
    return "\n".join(lines) + "\n"


def seatbelt_argv(profile: str, argv: list[str]) -> list[str]:
    return [SANDBOX_EXEC, "-p", profile, "--", *argv]
