"""Per-program rules: the flags that make a program allowed by name write, run code or download.

Modelled on Codex's ``is_safe_command``: a program is judged by its arguments, not only its
name (``find -exec/-delete/-fprint``, ``rg --pre``, ``git -c``, ``sort -o``, ``sed e``/``w``,
``awk system()``, ``tar --to-command``, ``python -c``...). Each handler returns the decision its
flags call for, or None when the name-based classification stands.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping

from .commands import SimpleCommand
from .decision import RANK, Decision
from .paths import expand_user
from .vocabulary import SYSTEM_DIRS, is_dynamic, operands, short_flags

__all__ = ["HANDLERS", "Checker", "handler_for"]


class Checker(ABC):
    """What the handlers need from the shell checker."""

    network: bool

    @abstractmethod
    def d(self, rule: str, reason: str) -> Decision: ...

    @abstractmethod
    def net(self, reason: str) -> Decision: ...

    @abstractmethod
    def write(self, target: str, cwd: str | None, what: str) -> Decision | None: ...

    @abstractmethod
    def read(self, target: str, cwd: str | None, what: str) -> Decision | None: ...

    @abstractmethod
    def absolute(self, path: str, cwd: str | None) -> str: ...

    @abstractmethod
    def contains(self, path: str, cwd: str | None) -> bool: ...

    @property
    @abstractmethod
    def root(self) -> str: ...


Handler = Callable[[Checker, SimpleCommand, "str | None"], "Decision | None"]


def _worst(*ds: Decision | None) -> Decision | None:
    best: Decision | None = None
    for d in ds:
        if d is not None and (best is None or RANK[d.action] > RANK[best.action]):
            best = d
    return best


def _opt_values(argv: list[str], *names: str) -> list[str]:
    """Values of ``--name VALUE``, ``--name=VALUE`` and ``-xVALUE`` forms of the given options."""
    out: list[str] = []
    for i, a in enumerate(argv[1:], 1):
        for n in names:
            if a == n and i + 1 < len(argv):
                out.append(argv[i + 1])
            elif n.startswith("--") and a.startswith(n + "="):
                out.append(a[len(n) + 1 :])
            elif len(n) == 2 and not n.startswith("--") and a.startswith(n) and len(a) > 2:
                out.append(a[2:])
    return out


def _writes(c: Checker, cmd: SimpleCommand, cwd: str | None, targets: list[str]) -> Decision | None:
    return _worst(*(c.write(t, cwd, f"{cmd.name} writes {t}") for t in targets))


# --------------------------------------------------------------------------- files


def _targets(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    opts = frozenset({"-m", "--mode", "-s", "--size", "-r", "--reference", "-t", "-S", "-d"})
    return _writes(c, cmd, cwd, operands(cmd.argv, opts))


def _copy(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    name = cmd.name
    if name == "rsync":
        ops = operands(argv, frozenset({"-e", "--rsh"}))
        if any(":" in o.split("/", 1)[0] for o in ops) or _opt_values(argv, "-e", "--rsh"):
            d = c.net("rsync to or from a remote host")
            if d.action != "allow":
                return d
    else:
        ops = operands(argv, frozenset({"-t", "--target-directory", "-S", "-m", "-o", "-g"}))
    tdir = _opt_values(argv, "-t", "--target-directory")
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
    return _worst(d, _targets(c, cmd, cwd))  # the sources disappear too


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
                    worst = _worst(
                        worst, c.d("rm-workspace-root", f"rm -r {t} deletes the whole workspace")
                    )
                    continue
        worst = _worst(worst, c.write(path, cwd, f"{cmd.name} deletes {t}"))
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
        worst = _worst(worst, d)
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
    return _writes(c, cmd, cwd, operands(argv, frozenset({"-S", "--suffix", "-o"})))


def _output_opts(*names: str) -> Handler:
    def handler(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        return _writes(c, cmd, cwd, _opt_values(cmd.argv, *names))

    return handler


def _sort(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    if _opt_values(cmd.argv, "--compress-program"):
        return c.d("command-flag", "sort --compress-program runs another program")
    return _writes(c, cmd, cwd, _opt_values(cmd.argv, "-o", "--output"))


def _nth_operand_writes(n: int, value_opts: frozenset[str] = frozenset()) -> Handler:
    def handler(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        ops = operands(cmd.argv, value_opts)
        return _writes(c, cmd, cwd, ops[n : n + 1])

    return handler


def _xxd(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    ops = operands(cmd.argv, frozenset({"-c", "-g", "-l", "-o", "-s", "-n"}))
    return _writes(c, cmd, cwd, ops[1:2])


def _in_place(flag_letter: str, long: str) -> Handler:
    def handler(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        argv = cmd.argv
        if flag_letter in short_flags(argv) or any(a.startswith(long) for a in argv):
            return _writes(c, cmd, cwd, operands(argv)[1:])
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
        if _opt_values(cmd.argv, *names) or any(a in names for a in cmd.argv):
            return c.d("command-flag", f"{cmd.name} {names[0]} runs another program")
        return None

    return handler


_AWK_CODE = re.compile(r"\bsystem\s*\(|\|\s*getline|\|&|\bprintf?\b[^;{}\n]*(?:>|\|)|@load")


def _awk(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    progs = _opt_values(argv, "--source", "-e")
    if _opt_values(argv, "-f", "--file"):
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
    scripts = _opt_values(argv, "-e", "--expression")
    value_opts = frozenset({"-e", "-f", "--expression", "--file", "-l", "-s"})
    ops = operands(argv, value_opts)
    if _opt_values(argv, "-f", "--file"):
        return c.d("command-flag", "sed -f runs a script file the policy cannot read")
    if not scripts and ops:
        scripts, ops = ops[:1], ops[1:]
    worst: Decision | None = None
    for s in scripts:
        risk = _sed_script_risk(s)
        if risk == "exec":
            return c.d("command-flag", "the sed script runs a command (e)")
        if risk == "unknown":
            worst = _worst(
                worst, c.d("command-flag", "the sed script uses commands the policy cannot follow")
            )
        elif risk is not None and risk.startswith("write:"):
            target = risk[6:]
            if target not in ("/dev/stdout", "/dev/stderr"):
                worst = _worst(worst, c.write(target, cwd, f"sed w writes {target}"))
        elif risk is not None and risk.startswith("read:"):
            worst = _worst(worst, c.read(risk[5:], cwd, f"sed r reads {risk[5:]}"))
    in_place = any(
        a.startswith("--in-place")
        or (a.startswith("-") and not a.startswith("--") and "i" in a and a not in scripts)
        for a in argv[1:]
    )
    if not in_place:
        return worst or c.d("read-only", "sed without -i only reads")
    for t in ops:
        worst = _worst(worst, c.write(t, cwd, f"sed -i edits {t}"))
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
                worst = _worst(worst, c.write(argv[j], cwd, f"find {opt} writes {argv[j]}"))
    return worst or c.d("read-only", "find only lists files")


# --------------------------------------------------------------------------- git

_GIT_READ = frozenset(
    """status diff log show blame grep ls-files ls-tree rev-parse describe shortlog reflog show-ref
    cat-file rev-list version help whatchanged name-rev for-each-ref merge-base count-objects
    check-ignore var diff-tree diff-files diff-index range-diff annotate cherry show-branch
    verify-commit verify-tag fsck""".split()
)
_GIT_WORK = frozenset(
    """add commit checkout switch restore mv rm init merge rebase cherry-pick revert stash apply am
    worktree notes format-patch branch tag remote gc prune mergetool sparse-checkout
    update-index reset bisect archive bundle maintenance repack pack-refs""".split()
)
_GIT_NET = frozenset({"clone", "fetch", "pull", "ls-remote", "send-email", "request-pull"})
_GIT_VALUE_OPTS = frozenset(
    {
        "-C",
        "-c",
        "--git-dir",
        "--work-tree",
        "--namespace",
        "--config-env",
        "--exec-path",
        "--super-prefix",
    }
)
#: git -c settings that cannot make git run anything.
_GIT_SAFE_CONFIG = re.compile(
    r"^(?:user\.\w+|color\.[\w.]+|core\.(?:quotepath|autocrlf|safecrlf|abbrev)|advice\.\w+|"
    r"init\.defaultbranch|log\.\w+|diff\.(?:renames|algorithm|noprefix|mnemonicprefix)|"
    r"merge\.conflictstyle|pull\.(?:rebase|ff)|push\.default|commit\.gpgsign|tag\.gpgsign|"
    r"safe\.directory|column\.ui|pager\.\w+=(?:false|true))=",
    re.I,
)
_LFS_LOCAL = frozenset(
    {
        "ls-files",
        "status",
        "env",
        "version",
        "track",
        "untrack",
        "logs",
        "pointer",
        "migrate",
        "checkout",
        "prune",
        "fsck",
        "locks",
    }
)


def _git(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    i = 1
    git_cwd = cwd
    worst: Decision | None = None
    while i < len(argv) and argv[i].startswith("-"):
        a = argv[i]
        opt, _, inline = a.partition("=")
        value = inline if inline else (argv[i + 1] if i + 1 < len(argv) else "")
        if a == "-c" or (a.startswith("-c") and len(a) > 2):
            setting = value if a == "-c" else a[2:]
            if not _GIT_SAFE_CONFIG.match(setting + ("" if "=" in setting else "=")):
                return c.d(
                    "command-flag",
                    f"git -c {setting.split('=', 1)[0]}: settings can make git run other programs",
                )
        elif opt in ("--config-env", "--exec-path"):
            return c.d("command-flag", f"git {opt} can make git run other programs")
        elif opt in ("--git-dir", "--work-tree"):
            if cwd is None or not c.contains(value, cwd):
                worst = c.d(
                    "write-outside-workspace",
                    f"git {opt}={value} works on a repository outside the workspace",
                )
        elif a == "-C":
            git_cwd = None if is_dynamic(value) or cwd is None else c.absolute(value, cwd)
        i += 2 if a in _GIT_VALUE_OPTS and not inline else 1
    if i >= len(argv):
        return worst or c.d("read-only", "git with options only")
    sub = argv[i]
    rest = argv[i + 1 :]
    outside = git_cwd is not None and not c.contains(git_cwd, None)
    if sub in ("diff", "log", "show", "format-patch", "archive", "bundle", "whatchanged"):
        for o in _opt_values(["git", *rest], "--output", "-o", "--output-directory"):
            worst = _worst(worst, c.write(o, git_cwd, f"git {sub} --output writes {o}"))
    if sub in _GIT_READ:
        if sub == "diff" and "--no-index" in rest:
            for p in operands(["git", *rest]):
                worst = _worst(worst, c.read(p, git_cwd, f"git diff --no-index reads {p}"))
        if sub == "grep" and _opt_values(["git", *rest], "-O", "--open-files-in-pager"):
            return c.d("command-flag", "git grep -O runs a pager program")
        return worst or c.d("read-only", f"git {sub} only reads")
    if worst is not None:
        return worst
    if outside and sub not in ("config", "push") and sub not in _GIT_NET:
        return c.d(
            "write-outside-workspace",
            f"git -C {git_cwd} {sub} changes a repository outside the workspace",
        )
    if sub == "push":
        forced = any(
            a in ("-f", "--force", "--mirror", "--force-if-includes")
            or a.startswith("--force-with-lease")
            or (a.startswith("-") and not a.startswith("--") and "f" in a)
            or (a.startswith("+") and len(a) > 1)
            for a in rest
        )
        if forced:
            return c.d("git-push-force", "git push --force rewrites the remote's history")
        return c.net("git push uses the network")
    if sub == "reset" and "--hard" in rest:
        return c.d("git-reset-hard", "git reset --hard discards uncommitted changes")
    if sub == "clean":
        flags = short_flags(["git", *rest])
        if ("f" in flags or "--force" in rest) and "n" not in flags and "--dry-run" not in rest:
            return c.d("git-clean", "git clean -f deletes untracked files")
        return c.d("read-only", "git clean without -f only lists")
    if sub == "config":
        return _git_config(c, rest)
    if sub == "credential" or sub.startswith("credential-"):
        return c.d("secret-read", "git credential prints stored credentials")
    if sub == "submodule":
        action = next((a for a in rest if not a.startswith("-")), "status")
        if action in ("status", "summary", "init", "absorbgitdirs", "set-branch", "set-url"):
            return c.d(
                "read-only" if action in ("status", "summary") else "workspace-command",
                f"git submodule {action} stays local",
            )
        if action == "foreach":
            return c.d("command-flag", "git submodule foreach runs a command in each submodule")
        return c.net(f"git submodule {action} uses the network")
    if sub == "lfs":
        action = next((a for a in rest if not a.startswith("-")), "")
        if action in _LFS_LOCAL:
            return c.d(
                "read-only"
                if action in ("ls-files", "status", "env", "version", "logs")
                else "workspace-command",
                f"git lfs {action} stays local",
            )
        return c.net(f"git lfs {action} uses the network")
    if sub in ("rebase", "bisect") and (
        _opt_values(["git", *rest], "-x", "--exec") or (sub == "bisect" and "run" in rest)
    ):
        return c.d("command-flag", f"git {sub} runs a command (--exec / run)")
    if sub in _GIT_NET or (sub == "remote" and "update" in rest):
        return c.net(f"git {sub} uses the network")
    if sub == "worktree" and "add" in rest:
        ops = [a for a in operands(["git", *rest]) if a != "add"]
        if ops:
            d = c.write(ops[0], git_cwd, f"git worktree add creates {ops[0]}")
            if d is not None:
                return d
    if sub in ("archive", "bundle"):
        for o in _opt_values(["git", *rest], "--output", "-o"):
            d = c.write(o, git_cwd, f"git {sub} writes {o}")
            if d is not None:
                return d
    if sub in _GIT_WORK:
        if outside:
            return c.d(
                "write-outside-workspace",
                f"git -C {git_cwd} {sub} changes a repository outside the workspace",
            )
        return c.d("workspace-command", f"git {sub} changes the repository")
    return c.d("unknown-command", f"git {sub} is not a known git command")


def _git_config(c: Checker, rest: list[str]) -> Decision:
    read_flags = (
        "--get",
        "--get-all",
        "--get-regexp",
        "--list",
        "-l",
        "--show-origin",
        "--get-urlmatch",
        "--show-scope",
        "get",
        "list",
    )
    if any(a in read_flags for a in rest):
        return c.d("read-only", "git config only reads settings")
    if any(a in ("--global", "--system", "--file", "-f") or a.startswith("--file=") for a in rest):
        return c.d(
            "write-outside-workspace",
            "git config --global/--system/--file changes settings outside the repository",
        )
    ops = [a for a in rest if not a.startswith("-")]
    if ops and ops[0] in ("set", "unset"):
        ops = ops[1:]
    if len(ops) <= 1:
        return c.d("read-only", "git config only reads settings")
    if _GIT_SAFE_CONFIG.match(f"{ops[0]}="):
        return c.d("workspace-command", f"git config {ops[0]} is a harmless setting")
    return c.d("command-flag", f"git config {ops[0]}: settings can make git run other programs")


# --------------------------------------------------------------------------- code runners

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
        files = _opt_values(argv, "-f", "--file", "--makefile")
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
        return None  # the script itself is parsed and checked command by command
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
    worst = _writes(c, cmd, cwd, _opt_values(argv, "-out", "-keyout"))
    inputs: tuple[str, ...] = ("-key", "-inkey", "-passin", "-kfile", "-CAkey")
    if sub not in ("x509", "req", "verify", "crl", "asn1parse"):  # these read certificates
        inputs = ("-in", *inputs)
    for p in _opt_values(argv, *inputs):
        if p.startswith(("file:", "env:", "pass:")):
            p = p.split(":", 1)[1] if p.startswith("file:") else ""
        if p:
            worst = _worst(worst, c.read(p, cwd, f"openssl reads {p}"))
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
    "git": _git,
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
    "patch": _output_opts("-o", "--output"),
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
    "python": _python,
    "python3": _python,
    "python2": _python,
    "pypy": _python,
    "pypy3": _python,
    "node": _inline,
    "nodejs": _inline,
    "bun": _inline,
    "deno": _inline,
    "perl": _inline,
    "ruby": _inline,
    "php": _inline,
    "lua": _inline,
    "Rscript": _inline,
    "julia": _inline,
    "osascript": _inline,
    "pwsh": _inline,
    "make": _inline,
    "sh": _shell,
    "bash": _shell,
    "zsh": _shell,
    "dash": _shell,
    "ksh": _shell,
    "ash": _shell,
    "fish": _shell,
    "mksh": _shell,
    "csh": _shell,
    "tcsh": _shell,
    "source": _source,
    ".": _source,
    "alias": _alias,
    "trap": _trap,
    "openssl": _openssl,
    "uv": _uv,
    "go": _go,
    "docker": _docker,
    "podman": _docker,
    "date": _setter(("-s", "--set")),
    "hostname": _setter(("-F", "--file")),
}


def handler_for(name: str) -> Handler | None:
    """The handler for a program name (``python3.12`` is python)."""
    h = HANDLERS.get(name)
    if h is None and name.startswith(("python", "pypy")):
        return _python
    return h
