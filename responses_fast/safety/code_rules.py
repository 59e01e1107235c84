"""Programs that run code: interpreters (``python -c``, ``node -e``...), shells, ``source``,
``alias``, ``trap``, and tools that download what they run (``go run pkg@v``, ``uv run --with``).
"""

from __future__ import annotations

from collections.abc import Mapping

from .commands import SimpleCommand
from .decision import Decision
from .handler_base import Checker, Handler, opt_values, strictest, writes
from .vocabulary import operands

__all__ = ["CODE_HANDLERS", "check_python"]


_PY_VALUE_OPTS = frozenset({"-W", "-X", "--check-hash-based-pycs"})


def _python(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    i = 1
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        a = argv[i]
        if a in _PY_VALUE_OPTS:
            i += 2
            continue
        letters = a[1:] if not a.startswith("--") else ""
        for k, ch in enumerate(letters):
            if ch == "c":
                return c.d("inline-code", f"{cmd.name} -c runs code given on the command line")
            if ch == "m":
                module = letters[k + 1 :] or (argv[i + 1] if i + 1 < len(argv) else "")
                args = argv[i + 1 :] if letters[k + 1 :] else argv[i + 2 :]
                return _python_module(c, cmd, module, args)
            if ch in "WX":
                break
        i += 1
    if i >= len(argv) or argv[i] in ("-", "/dev/stdin"):
        if any(op in ("<<", "<<-", "<<<") for op, _ in cmd.redirects):
            return c.d("inline-code", f"{cmd.name} runs code from a here-document")
    return None


def _python_module(c: Checker, cmd: SimpleCommand, module: str, args: list[str]) -> Decision | None:
    sub = next((a for a in args if not a.startswith("-")), "")
    if module == "pip" and sub in ("install", "download", "wheel", "index", "search"):
        if "--no-index" not in args and "--offline" not in args:
            return c.net(f"{cmd.name} -m pip {sub} downloads packages")
    if module in ("pipx", "uv") and sub in ("run", "install", "tool", "add", "sync"):
        return c.net(f"{cmd.name} -m {module} {sub} downloads packages")
    return None


_INLINE_FLAGS: Mapping[str, tuple[str, ...]] = {
    "node": ("-e", "--eval", "-p", "--print"),
    "nodejs": ("-e", "--eval", "-p", "--print"),
    "bun": ("-e", "--eval", "-p", "--print"),
    "ruby": ("-e",),
    "php": ("-r",),
    "lua": ("-e",),
    "Rscript": ("-e",),
    "julia": ("-e", "--eval"),
    "osascript": ("-e",),
    "pwsh": ("-c", "-Command", "-command"),
    "make": ("--eval",),
}


def _inline(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    name = cmd.name
    flags = _INLINE_FLAGS.get(name, ())
    for a in argv[1:]:
        if a in flags or any(a.startswith(f + "=") for f in flags if f.startswith("--")):
            return c.d(
                "inline-code", f"{name} {a.split('=', 1)[0]} runs code given on the command line"
            )
        if (
            name == "perl"
            and a.startswith("-")
            and not a.startswith("--")
            and ("e" in a[1:] or "E" in a[1:])
        ):
            return c.d("inline-code", f"perl {a} runs code given on the command line")
    if name == "make":
        files = opt_values(argv, "-f", "--file", "--makefile")
        if any(f in ("-", "/dev/stdin") for f in files):
            return c.d("inline-code", "make -f - runs a makefile from stdin")
    if name == "deno":
        sub = next((a for a in argv[1:] if not a.startswith("-")), "")
        if sub == "eval":
            return c.d("inline-code", "deno eval runs code given on the command line")
        if any(a.startswith(("http://", "https://", "npm:", "jsr:")) for a in argv[1:]):
            return c.net("deno runs code it downloads")
    if name in ("ruby", "perl", "node", "php", "lua") and not operands(argv):
        if any(op in ("<<", "<<-", "<<<") for op, _ in cmd.redirects):
            return c.d("inline-code", f"{name} runs code from a here-document")
    return None


def _shell(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    if any(a.startswith("-") and not a.startswith("--") and "c" in a[1:] for a in argv[1:]):
        # The script itself is parsed and checked command by command.
        return c.d("read-only", f"{cmd.name} -c runs the script checked here")
    ops = operands(argv, frozenset({"-o", "+o"}))
    stdin_script = not ops or ops[0] == "-" or "-s" in argv
    fed = cmd.stage > 0 or any(op.lstrip("0123456789").startswith("<") for op, _ in cmd.redirects)
    if stdin_script and fed:
        return c.d("inline-code", f"{cmd.name} runs a script it reads from stdin")
    return c.d("workspace-command", f"{cmd.name} runs a script")


def _source(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    ops = operands(cmd.argv)
    if ops and ops[0].endswith("bin/activate") and cwd is not None and c.contains(ops[0], cwd):
        return c.d("workspace-command", "activates the project's virtual environment")
    what = ops[0] if ops else "stdin"
    return c.d(
        "inline-code", f"{cmd.name} {what} runs a script in this shell, unseen by the policy"
    )


def _alias(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    if any("=" in a for a in cmd.argv[1:]):
        return c.d("shell-function", "alias redefines what a command name runs")
    return c.d("read-only", "alias without a definition only lists")


def _trap(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    ops = operands(cmd.argv)
    if len(ops) >= 2 or (ops and ops[0] not in ("-", "")):
        return c.d("inline-code", "trap runs a string as shell code later")
    return c.d("read-only", "trap without a handler only lists")


def _openssl(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    sub = argv[1] if len(argv) > 1 else ""
    if sub in ("s_client", "s_server", "s_time", "ocsp"):
        return c.net(f"openssl {sub} opens network connections")
    worst = writes(c, cmd, cwd, opt_values(argv, "-out", "-keyout"))
    inputs: tuple[str, ...] = ("-key", "-inkey", "-passin", "-kfile", "-CAkey")
    if sub not in ("x509", "req", "verify", "crl", "asn1parse"):  # these read certificates
        inputs = ("-in", *inputs)
    for p in opt_values(argv, *inputs):
        if p.startswith(("file:", "env:", "pass:")):
            p = p.split(":", 1)[1] if p.startswith("file:") else ""
        if p:
            worst = strictest(worst, c.read(p, cwd, f"openssl reads {p}"))
    return worst


def _uv(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    ops = [a for a in argv[1:] if not a.startswith("-")]
    if ops[:1] == ["pip"] and len(ops) > 1:
        if ops[1] in ("install", "sync", "compile", "download") and "--offline" not in argv:
            return c.net(f"uv pip {ops[1]} downloads packages")
        return c.d(
            "read-only"
            if ops[1] in ("list", "show", "freeze", "check", "tree")
            else "workspace-command",
            f"uv pip {ops[1]} stays local",
        )
    if ops[:1] == ["run"] and any(a == "--with" or a.startswith("--with=") for a in argv):
        return c.net("uv run --with downloads packages")
    return None


def _go(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    sub = next((a for a in argv[1:] if not a.startswith("-")), "")
    if sub in ("get",) or (sub == "mod" and "download" in argv):
        return c.net(f"go {sub} downloads modules")
    if sub in ("run", "install") and any("@" in a and not a.startswith("-") for a in argv[2:]):
        return c.net(f"go {sub} pkg@version downloads the module")
    return c.d("workspace-command", f"go {sub} runs in the workspace")


def _docker(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    sub = next((a for a in cmd.argv[1:] if not a.startswith("-")), "")
    if sub in ("ps", "images", "version", "info", "inspect", "logs", "stats", "top", "port"):
        return c.d("read-only", f"{cmd.name} {sub} only reads")
    return c.d("unknown-command", f"{cmd.name} {sub} controls containers; approval needed")


CODE_HANDLERS: dict[str, Handler] = {
    **dict.fromkeys(("python", "python3", "python2", "pypy", "pypy3"), _python),
    **dict.fromkeys(
        (
            "node",
            "nodejs",
            "bun",
            "deno",
            "perl",
            "ruby",
            "php",
            "lua",
            "Rscript",
            "julia",
            "osascript",
            "pwsh",
            "make",
        ),
        _inline,
    ),
    **dict.fromkeys(
        ("sh", "bash", "zsh", "dash", "ksh", "ash", "fish", "mksh", "csh", "tcsh"), _shell
    ),
    "source": _source,
    ".": _source,
    "alias": _alias,
    "trap": _trap,
    "openssl": _openssl,
    "uv": _uv,
    "go": _go,
    "docker": _docker,
    "podman": _docker,
}
check_python = _python
