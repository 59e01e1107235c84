"""Per-program rules: the flags that make a program allowed by name write, run code or download.

Modelled on Codex's ``is_safe_command``: a program is judged by its arguments, not only its
name (``find -exec/-delete/-fprint``, ``rg --pre``, ``sort -o``, ``sed e``/``w``,
``awk system()``, ``tar --to-command``...; git in :mod:`.git_rules`, interpreters in
:mod:`.code_rules`). Each handler returns the decision its flags call for, or None when the
name-based classification stands.
"""

from __future__ import annotations

import re

from .code_rules import CODE_HANDLERS, check_python
from .commands import SimpleCommand
from .decision import RANK, Decision
from .git_rules import check_git
from .handler_base import Checker, Handler, opt_values, strictest, writes
from .paths import expand_user
from .vocabulary import SYSTEM_DIRS, is_dynamic, operands, short_flags

__all__ = ["HANDLERS", "Checker", "handler_for"]


# --------------------------------------------------------------------------- files


def _targets(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    opts = frozenset({"-m", "--mode", "-s", "--size", "-r", "--reference", "-t", "-S", "-d"})
    return writes(c, cmd, cwd, operands(cmd.argv, opts))


def _copy(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    name = cmd.name
    if name == "rsync":
        ops = operands(argv, frozenset({"-e", "--rsh"}))
        if any(":" in o.split("/", 1)[0] for o in ops) or opt_values(argv, "-e", "--rsh"):
            d = c.net("rsync to or from a remote host")
            if d.action != "allow":
                return d
    else:
        ops = operands(argv, frozenset({"-t", "--target-directory", "-S", "-m", "-o", "-g"}))
    tdir = opt_values(argv, "-t", "--target-directory")
    if tdir:
        dest, sources = tdir[0], ops
    elif len(ops) > 1:
        dest, sources = ops[-1], ops[:-1]
    elif name == "ln" and ops:
        dest, sources = ".", ops
    else:
        return None
    wd = c.write(dest, cwd, f"{name} writes {dest}")
    if wd is not None:
        return wd
    flags = short_flags(argv)
    symbolic = (
        ("s" in flags and name in ("ln", "cp"))
        or "--symbolic" in argv
        or ("--symbolic-link" in argv)
    )
    hard = (name == "ln" and not symbolic) or (name == "cp" and ("l" in flags or "--link" in argv))
    if not (symbolic or hard):
        return None
    for src in sources:
        if is_dynamic(src):
            return c.d("dynamic-path", f"{name} links to {src}; cannot check it")
        if symbolic and not expand_user(src).startswith("/"):
            # A relative link target is resolved from the folder the link is in.
            link_dir = (
                dest
                if tdir or len(sources) > 1 or dest.endswith("/")
                else (dest.rsplit("/", 1)[0] if "/" in dest else ".")
            )
            if cwd is None:
                return c.d("dynamic-path", f"{name}: the current folder is unknown after cd")
            base = c.absolute(link_dir, cwd)
            inside = c.contains(src, base)
        else:
            inside = (cwd is not None and c.contains(src, cwd)) or (
                expand_user(src).startswith("/") and c.contains(src, cwd)
            )
        if not inside:
            kind = "link" if symbolic else "hard link"
            return c.d(
                "symlink-outside",
                f"{name}: a {kind} to {src}, outside the workspace,"
                " lets later reads and writes escape it",
            )
    return None


def _move(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    d = _copy(c, cmd, cwd)  # -t DIR / the destination
    if d is not None and RANK[d.action] == 2:
        return d
    return strictest(d, _targets(c, cmd, cwd))  # the sources disappear too


def _rm(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    flags = short_flags(argv)
    recursive = "r" in flags or "R" in flags or "--recursive" in argv or cmd.name == "rmdir"
    if "--no-preserve-root" in argv:
        return c.d("rm-recursive-outside", "rm --no-preserve-root can delete everything")
    worst: Decision | None = None
    for t in operands(argv):
        path = expand_user(t, cwd)
        if recursive and not is_dynamic(path):
            base, globbed = _glob_base(path)
            if cwd is not None or base.startswith("/"):
                absolute = c.absolute(base, cwd)
                if (
                    absolute in SYSTEM_DIRS
                    or absolute == expand_user("~")
                    or not c.contains(absolute, cwd)
                ):
                    return c.d(
                        "rm-recursive-outside",
                        f"rm -r {t}: deletes {absolute}, outside the workspace {c.root}",
                    )
                tail = path.rstrip("/").rsplit("/", 1)[-1]
                if absolute == c.root and (not globbed or tail in ("*", ".*")):
                    worst = strictest(
                        worst, c.d("rm-workspace-root", f"rm -r {t} deletes the whole workspace")
                    )
                    continue
        worst = strictest(worst, c.write(path, cwd, f"{cmd.name} deletes {t}"))
    return worst


def _glob_base(path: str) -> tuple[str, bool]:
    m = re.search(r"[*?\[]", path)
    if m is None:
        return path, False
    head = path[: m.start()]
    base = head if head.endswith("/") else head.rsplit("/", 1)[0] if "/" in head else ""
    return base or ".", True


def _chmod(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    recursive = "R" in short_flags(argv) or "--recursive" in argv
    ops = operands(argv, frozenset({"--reference"}))[1:]  # skip the mode / owner
    worst: Decision | None = None
    for t in ops:
        d = c.write(t, cwd, f"{cmd.name} changes {t}")
        if d is not None and recursive and d.rule == "write-outside-workspace":
            return c.d("chmod-recursive-system", f"{cmd.name} -R on {t}, outside the workspace")
        worst = strictest(worst, d)
    return worst


def _dd(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    for a in cmd.argv[1:]:
        if a.startswith("of="):
            return c.write(a[3:], cwd, f"dd writes {a[3:]}")
    return None


def _archive(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    if cmd.name == "tar":
        for a in argv[1:]:
            if (
                a.startswith(
                    (
                        "--to-command",
                        "--use-compress-program",
                        "--info-script",
                        "--new-volume-script",
                        "--rmt-command",
                        "--rsh-command",
                    )
                )
                or (a.startswith("--checkpoint-action") and "exec" in a)
                or (a.startswith("-I") or a == "-F")
            ):
                return c.d("command-flag", f"tar {a.split('=', 1)[0]} runs another program")
        if "-P" in argv or "--absolute-names" in argv:
            return c.d("command-flag", "tar -P writes members at absolute paths")
    first = argv[1] if len(argv) > 1 else ""
    short = first.lstrip("-") if not first.startswith("--") else ""
    creating = cmd.name == "tar" and ("c" in short or "--create" in argv)
    for i, a in enumerate(argv):
        target = None
        if a in ("-C", "--directory", "-d") and i + 1 < len(argv):
            target = argv[i + 1]
        elif a.startswith("--directory="):
            target = a.split("=", 1)[1]
        elif creating and a in ("-f", "--file") and i + 1 < len(argv):
            target = argv[i + 1]
        elif (
            creating
            and (i == 1 or (a.startswith("-") and not a.startswith("--")))
            and a.lstrip("-").endswith("f")
            and i + 1 < len(argv)
        ):
            target = argv[i + 1]  # "tar czf out.tgz src", "tar -czf out.tgz src"
        if target is not None and target != "-":
            d = c.write(target, cwd, f"{cmd.name} writes into {target}")
            if d is not None:
                return d
    return None


def _compress(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    flags = short_flags(argv)
    if "c" in flags or "t" in flags or "l" in flags or "--stdout" in argv or "--test" in argv:
        return None
    return writes(c, cmd, cwd, operands(argv, frozenset({"-S", "--suffix", "-o"})))


def _output_opts(*names: str) -> Handler:
    def handler(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        return writes(c, cmd, cwd, opt_values(cmd.argv, *names))

    return handler


def _patch(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    """``patch [FILE] < diff``: FILE (or the -o output, or files under -d DIR) is written."""
    value_opts = frozenset({"-p", "-d", "--directory", "-o", "--output", "-i", "--input", "-r",
                            "-B", "-F", "-V", "-z", "-D"})  # fmt: skip
    targets = opt_values(cmd.argv, "-o", "--output", "-d", "--directory")
    return writes(c, cmd, cwd, targets + operands(cmd.argv, value_opts)[:1])


def _sort(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    if opt_values(cmd.argv, "--compress-program"):
        return c.d("command-flag", "sort --compress-program runs another program")
    return writes(c, cmd, cwd, opt_values(cmd.argv, "-o", "--output"))


def _nth_operand_writes(n: int, value_opts: frozenset[str] = frozenset()) -> Handler:
    def handler(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        ops = operands(cmd.argv, value_opts)
        return writes(c, cmd, cwd, ops[n : n + 1])

    return handler


def _xxd(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    ops = operands(cmd.argv, frozenset({"-c", "-g", "-l", "-o", "-s", "-n"}))
    return writes(c, cmd, cwd, ops[1:2])


def _in_place(flag_letter: str, long: str) -> Handler:
    def handler(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        argv = cmd.argv
        if flag_letter in short_flags(argv) or any(a.startswith(long) for a in argv):
            return writes(c, cmd, cwd, operands(argv)[1:])
        return None

    return handler


def _download(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    for i, a in enumerate(argv[:-1]):
        if a in ("-o", "--output", "-O", "--output-document", "-P", "--directory-prefix"):
            target = argv[i + 1]
            if target == "-" or (cmd.name == "curl" and a == "-O"):
                continue
            return c.write(target, cwd, f"{cmd.name} saves to {target}")
    return None


# --------------------------------------------------------------------------- readers with flags


def _rg(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    for a in cmd.argv[1:]:
        if a in ("--pre", "--hostname-bin", "--search-zip") or a.startswith(
            ("--pre=", "--hostname-bin=")
        ):
            return c.d("command-flag", f"rg {a.split('=', 1)[0]} runs other programs")
        if a.startswith("-") and not a.startswith("--"):
            for ch in a[1:]:
                if ch == "z":
                    return c.d("command-flag", "rg -z runs decompression programs")
                if ch in "ABCEefgjMmrTt":  # the rest of the word is this flag's value
                    break
    return None


def _pager_flag(*names: str) -> Handler:
    def handler(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        if opt_values(cmd.argv, *names) or any(a in names for a in cmd.argv):
            return c.d("command-flag", f"{cmd.name} {names[0]} runs another program")
        return None

    return handler


_AWK_CODE = re.compile(r"\bsystem\s*\(|\|\s*getline|\|&|\bprintf?\b[^;{}\n]*(?:>|\|)|@load")


def _awk(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    progs = opt_values(argv, "--source", "-e")
    if opt_values(argv, "-f", "--file"):
        return None  # a program file in the workspace: like running a script
    if not progs:
        ops = operands(argv, frozenset({"-F", "-v", "-f", "--field-separator", "--assign"}))
        progs = ops[:1]
    for p in progs:
        if _AWK_CODE.search(p):
            return c.d(
                "command-flag", "the awk program runs commands (system(), pipes) or writes files"
            )
    return None


_SED_ADDR = re.compile(r"\s*(?:\d+(?:~\d+)?|\$|/(?:\\.|[^/\\])*/[IM]*|\\(.)(?:\\.|(?!\1).)*\1)")


def _sed_script_risk(script: str) -> str | None:
    """Which sed commands of ``script`` run programs or write files: "exec", "write:FILE"."""
    i, n = 0, len(script)
    while i < n:
        ch = script[i]
        if ch in " \t\n;{}!":
            i += 1
            continue
        m = _SED_ADDR.match(script, i)
        if m and m.end() > i:
            i = m.end()
            if i < n and script[i] == ",":
                m2 = _SED_ADDR.match(script, i + 1) or re.compile(r"\s*[+~]\d+").match(
                    script, i + 1
                )
                i = m2.end() if m2 else i + 1
            continue
        if ch == "#":
            j = script.find("\n", i)
            i = n if j < 0 else j + 1
        elif ch in "sy":
            if i + 1 >= n:
                return None
            delim = script[i + 1]
            j = i + 2
            parts = 0
            while j < n and parts < 2:
                if script[j] == "\\":
                    j += 2
                    continue
                if script[j] == delim:
                    parts += 1
                j += 1
            k = j
            while k < n and script[k] not in ";\n}":
                k += 1
            flags = script[j:k]
            if ch == "s" and "e" in flags.split("w", 1)[0]:
                return "exec"
            if ch == "s" and "w" in flags:
                return "write:" + flags.split("w", 1)[1].strip()
            i = k
        elif ch in "aic":
            j = script.find("\n", i)
            i = n if j < 0 else j + 1
        elif ch == "e":
            return "exec"
        elif ch in "wW":
            j = script.find("\n", i)
            return "write:" + script[i + 1 : n if j < 0 else j].strip()
        elif ch in "rR":
            j = script.find("\n", i)
            return "read:" + script[i + 1 : n if j < 0 else j].strip()
        elif ch in "btT:":
            j = i + 1
            while j < n and script[j] not in ";\n":
                j += 1
            i = j
        elif ch in "qQlL":
            i += 1
            while i < n and script[i] in " 0123456789":
                i += 1
        elif ch in "pdDnNgGhHxz=FP":
            i += 1
        else:
            return "unknown"
    return None


def _sed(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    scripts = opt_values(argv, "-e", "--expression")
    value_opts = frozenset({"-e", "-f", "--expression", "--file", "-l", "-s"})
    ops = operands(argv, value_opts)
    if opt_values(argv, "-f", "--file"):
        return c.d("command-flag", "sed -f runs a script file the policy cannot read")
    if not scripts and ops:
        scripts, ops = ops[:1], ops[1:]
    worst: Decision | None = None
    for s in scripts:
        risk = _sed_script_risk(s)
        if risk == "exec":
            return c.d("command-flag", "the sed script runs a command (e)")
        if risk == "unknown":
            worst = strictest(
                worst, c.d("command-flag", "the sed script uses commands the policy cannot follow")
            )
        elif risk is not None and risk.startswith("write:"):
            target = risk[6:]
            if target not in ("/dev/stdout", "/dev/stderr"):
                worst = strictest(worst, c.write(target, cwd, f"sed w writes {target}"))
        elif risk is not None and risk.startswith("read:"):
            worst = strictest(worst, c.read(risk[5:], cwd, f"sed r reads {risk[5:]}"))
    in_place = any(
        a.startswith("--in-place")
        or (a.startswith("-") and not a.startswith("--") and "i" in a and a not in scripts)
        for a in argv[1:]
    )
    if not in_place:
        return worst or c.d("read-only", "sed without -i only reads")
    for t in ops:
        worst = strictest(worst, c.write(t, cwd, f"sed -i edits {t}"))
    return worst or c.d("workspace-command", "sed -i edits files in the workspace")


def _find(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    roots = []
    for a in argv[1:]:
        if a.startswith("-") or a in ("(", "!"):
            break
        roots.append(a)
    worst: Decision | None = None
    if "-delete" in argv:
        for r in roots or ["."]:
            d = c.write(r, cwd, f"find -delete removes files under {r}")
            if d is not None:
                return d
        worst = c.d("workspace-command", "find -delete inside the workspace")
    for opt in ("-fprint", "-fprint0", "-fprintf", "-fls"):
        if opt in argv:
            j = argv.index(opt) + 1
            if j < len(argv):
                worst = strictest(worst, c.write(argv[j], cwd, f"find {opt} writes {argv[j]}"))
    return worst or c.d("read-only", "find only lists files")


# --------------------------------------------------------------------------- the system


def _kill(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    ops = [a for a in cmd.argv[1:] if a != "--"]
    pids = list(ops[1:]) if ops and ops[0].startswith("-") and ops[0] != "-1" else ops
    if "-1" in pids or "1" in pids:
        return c.d("kill-all", "kill -1 signals every process you own (or init)")
    return None


def _init(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    if any(a in ("0", "6") for a in cmd.argv[1:]):
        return c.d("shutdown", f"{cmd.name} {cmd.argv[1]} halts or reboots the machine")
    return c.d("unknown-command", f"{cmd.name} changes the system state")


def _systemctl(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    power = {"poweroff", "reboot", "halt", "kexec", "suspend", "hibernate", "emergency"}
    if any(a in power for a in cmd.argv[1:]):
        return c.d("shutdown", "systemctl would stop or restart the machine")
    if any(a in ("status", "list-units", "is-active", "show", "cat") for a in cmd.argv[1:]):
        return c.d("read-only", "systemctl status only reads")
    return c.d("unknown-command", "systemctl changes services")


def _setter(flags: tuple[str, ...]) -> Handler:
    def handler(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        if any(a in flags or a.startswith(tuple(f + "=" for f in flags)) for a in cmd.argv[1:]):
            return c.d("unknown-command", f"{cmd.name} changes the system settings")
        if cmd.name == "hostname" and operands(cmd.argv):
            return c.d("unknown-command", "hostname NAME renames the machine")
        return None

    return handler


HANDLERS: dict[str, Handler] = {
    **CODE_HANDLERS,
    "git": check_git,
    "rm": _rm,
    "rmdir": _rm,
    "unlink": _rm,
    "shred": _rm,
    "sed": _sed,
    "find": _find,
    "dd": _dd,
    "kill": _kill,
    "killall5": lambda c, cmd, cwd: c.d("kill-all", "killall5 kills every process"),
    "init": _init,
    "telinit": _init,
    "systemctl": _systemctl,
    "chmod": _chmod,
    "chown": _chmod,
    "chgrp": _chmod,
    "cp": _copy,
    "ln": _copy,
    "install": _copy,
    "rsync": _copy,
    "mv": _move,
    "tar": _archive,
    "unzip": _archive,
    "touch": _targets,
    "mkdir": _targets,
    "tee": _targets,
    "truncate": _targets,
    "curl": _download,
    "wget": _download,
    "rg": _rg,
    "ag": _pager_flag("--pager"),
    "ack": _pager_flag("--pager"),
    "man": _pager_flag("-P", "--pager", "-H", "--html"),
    "awk": _awk,
    "gawk": _awk,
    "mawk": _awk,
    "nawk": _awk,
    "sort": _sort,
    "shuf": _output_opts("-o", "--output"),
    "tree": _output_opts("-o"),
    "base64": _output_opts("-o", "--output"),
    "iconv": _output_opts("-o", "--output"),
    "patch": _patch,
    "uniq": _nth_operand_writes(1, frozenset({"-f", "-s", "-w"})),
    "split": _nth_operand_writes(1, frozenset({"-a", "-b", "-C", "-l", "-n", "-t"})),
    "csplit": _output_opts("-f", "--prefix"),
    "xxd": _xxd,
    "yq": _in_place("i", "--inplace"),
    "gzip": _compress,
    "gunzip": _compress,
    "bzip2": _compress,
    "bunzip2": _compress,
    "xz": _compress,
    "unxz": _compress,
    "zstd": _compress,
    "unzstd": _compress,
    "date": _setter(("-s", "--set")),
    "hostname": _setter(("-F", "--file")),
}


def handler_for(name: str) -> Handler | None:
    """The handler for a program name (``python3.12`` is python)."""
    h = HANDLERS.get(name)
    if h is None and name.startswith(("python", "pypy")):
        return check_python
    return h
