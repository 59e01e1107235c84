"""Shell command rules: one parsed command line -> the strictest decision of its parts."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping

from .commands import ParseError, SimpleCommand, parse_command
from .decision import RANK, Decision
from .paths import SecretMatcher, Workspace, expand_user
from .rules import Action

__all__ = ["ShellChecker"]

_FORK_BOMB = re.compile(r"([A-Za-z_:][\w:]*)\s*\(\)\s*\{[^}]*\1\s*\|\s*&?\s*\1\s*&")

READ_ONLY = frozenset(
    """ls ll la cat head tail wc grep egrep fgrep rg ag ack echo printf pwd which whereis type file
    stat du df tree diff cmp comm sort uniq cut tr basename dirname realpath readlink date cal
    printenv uname whoami id groups hostname true false test [ [[ jq yq less more nl tac rev column
    xxd od hexdump strings md5sum sha1sum sha256sum sha512sum b2sum cksum seq sleep ps pgrep uptime
    free nproc lscpu locale tput fold fmt expand unexpand paste join split numfmt bc expr yes
    man info help history cd pushd popd export unset set shopt alias unalias : exit return shift
    read wait trap local declare typeset readonly let getopts hash jobs fg bg umask ulimit mktemp
    tty stty clear reset env look wait4 base64 base32 zcat zless bzcat xzcat gunzip lsof top htop
    iconv sum shasum awk gawk mawk nawk command builtin find""".split()
)
WORKSPACE = frozenset(
    """python python3 python2 py node deno bun ruby perl php java javac kotlinc scala go cargo
    rustc rustup make gmake cmake ninja meson gcc g++ cc c++ clang clang++ ld as tsc pytest py.test
    mypy pyright ruff black isort flake8 pylint bandit coverage tox nox eslint prettier jest vitest
    mocha npm pnpm yarn uv poetry pip pip3 pipx hatch pdm tar zip unzip gzip bzip2 xz zstd gunzip
    sed patch touch mkdir cp mv ln install tee truncate rm rmdir unlink chmod chown chgrp dd kill
    source . ctags gofmt rustfmt clang-format shfmt shellcheck hyperfine time pre-commit
    autopep8 yapf sphinx-build mkdocs jupyter ipython""".split()
)
NETWORK_TOOLS = frozenset(
    """curl wget nc ncat netcat ssh scp sftp ftp telnet socat aria2c http https ping dig nslookup
    host mosh rsync whois traceroute npx bunx""".split()
)
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash", "fish", "mksh", "csh", "tcsh"})
INTERPRETERS = SHELLS | {"python", "python3", "python2", "perl", "ruby", "node", "php", "lua"}
DOWNLOADERS = frozenset({"curl", "wget", "fetch", "aria2c", "http", "https"})
_DOWNLOAD_RE = re.compile(r"\b(?:curl|wget|aria2c|fetch)\b")
DISK_TOOLS = frozenset(
    {"fdisk", "sfdisk", "cfdisk", "sgdisk", "gdisk", "parted", "wipefs", "mkswap"}
)
POWER = frozenset({"shutdown", "reboot", "halt", "poweroff"})
SYSTEM_DIRS = frozenset(
    """/ /bin /boot /dev /etc /home /lib /lib32 /lib64 /media /mnt /opt /proc /root /run /sbin
    /srv /sys /tmp /usr /usr/bin /usr/lib /usr/local /usr/local/bin /usr/sbin /var /var/lib /Users
    /System /Library /Applications /private""".split()
)
# Commands that name secret files without reading them.
_SECRET_NAMERS = frozenset(
    {"echo", "printf", "ls", "touch", "mkdir", "rm", "test", "[", "[[", "git", "stat", "which",
     "file", "cd", "export", "basename", "dirname", "realpath", "readlink", "chmod", "find"}
)  # fmt: skip
_SAFE_DEVICES = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/zero"})
_GIT_READ = frozenset(
    """status diff log show blame grep ls-files ls-tree rev-parse describe shortlog reflog show-ref
    cat-file rev-list version help whatchanged name-rev for-each-ref merge-base count-objects
    check-ignore var diff-tree diff-files diff-index range-diff annotate""".split()
)
_GIT_WORK = frozenset(
    """add commit checkout switch restore mv rm init merge rebase cherry-pick revert stash apply am
    worktree notes bisect format-patch branch tag config remote gc prune fsck mergetool
    sparse-checkout
    update-index""".split()
)
_GIT_NET = frozenset({"clone", "fetch", "pull", "ls-remote", "submodule", "lfs", "send-email"})
_PKG_NET = {
    "pip": {"install", "download", "wheel", "index", "search"},
    "pip3": {"install", "download", "wheel", "index", "search"},
    "uv": {"add", "sync", "lock", "pip", "tool", "venv", "python"},
    "poetry": {"add", "install", "update", "lock", "publish", "self"},
    "npm": {"install", "i", "ci", "add", "update", "upgrade", "publish", "audit", "outdated"},
    "pnpm": {"install", "i", "add", "update", "up", "publish", "dlx"},
    "yarn": {"install", "add", "upgrade", "publish", "dlx"},
    "cargo": {"install", "fetch", "update", "publish", "add", "search", "login"},
    "go": {"get", "install", "mod"},
    "gem": {"install", "update", "fetch", "push"},
    "bundle": {"install", "update"},
    "conda": {"install", "create", "update", "search"},
    "mamba": {"install", "create", "update"},
    "apt": {"install", "update", "upgrade", "full-upgrade", "download", "dist-upgrade"},
    "apt-get": {"install", "update", "upgrade", "dist-upgrade", "download", "source"},
    "yum": {"install", "update", "upgrade"},
    "dnf": {"install", "update", "upgrade"},
    "brew": {"install", "update", "upgrade", "tap", "fetch"},
    "pacman": {"-S", "-Sy", "-Syu", "-Syyu"},
    "apk": {"add", "update", "upgrade", "fetch"},
    "docker": {"pull", "push", "login", "search"},
    "podman": {"pull", "push", "login", "search"},
    "hf": {"download", "upload"},
    "huggingface-cli": {"download", "upload", "login"},
}
_SELF_CLASSIFIED = frozenset({"git", "systemctl", "init", "telinit", "killall5", "sed", "find"})
_CLASSIFY_RULES = frozenset({"network", "unknown-command", "read-only", "workspace-command"})
_OUT_REDIR = re.compile(r"^\d*(?:>|>>|>\||&>|&>>|<>)$")


_HOME = os.path.expanduser("~")


def _is_dynamic(word: str) -> bool:
    return "$" in word or "`" in word


def _glob_base(path: str) -> tuple[str, bool]:
    """The literal folder a glob starts from and whether ``path`` had a glob at all."""
    cut = min((i for i in (path.find("*"), path.find("?"), path.find("[")) if i >= 0), default=-1)
    if cut < 0:
        return path, False
    head = path[:cut]
    base = head if head.endswith("/") else os.path.dirname(head)
    return base or ".", True


def _operands(argv: list[str], value_opts: frozenset[str] = frozenset()) -> list[str]:
    out: list[str] = []
    i = 1
    end_opts = False
    while i < len(argv):
        a = argv[i]
        if not end_opts and a == "--":
            end_opts = True
        elif not end_opts and a.startswith("-") and len(a) > 1:
            if a in value_opts:
                i += 1
        else:
            out.append(a)
        i += 1
    return out


def _short_flags(argv: list[str]) -> str:
    return "".join(a[1:] for a in argv[1:] if a.startswith("-") and not a.startswith("--"))


class ShellChecker:
    """Checks command lines against the rules; built once per Policy, used for every call."""

    def __init__(
        self,
        workspace: Workspace,
        secrets: SecretMatcher,
        actions: Mapping[str, Action],
        commands: Mapping[str, Action],
        network: bool,
    ) -> None:
        self.ws = workspace
        self.secrets = secrets
        self.actions = actions
        self.commands = commands
        self.network = network
        self._handlers: dict[str, Callable[[SimpleCommand, str | None], Decision | None]] = {
            "git": self._git,
            "rm": self._rm,
            "rmdir": self._rm,
            "unlink": self._rm,
            "shred": self._rm,
            "sed": self._sed,
            "find": self._find,
            "dd": self._dd,
            "kill": self._kill,
            "killall5": lambda c, w: self._d("kill-all", "killall5 kills every process"),
            "init": self._init,
            "telinit": self._init,
            "systemctl": self._systemctl,
            "chmod": self._chmod,
            "chown": self._chmod,
            "chgrp": self._chmod,
            "cp": self._copy,
            "ln": self._copy,
            "install": self._copy,
            "rsync": self._copy,
            "mv": self._move,
            "tar": self._archive,
            "unzip": self._archive,
            "touch": self._targets,
            "mkdir": self._targets,
            "tee": self._targets,
            "truncate": self._targets,
            "curl": self._download,
            "wget": self._download,
        }

    def _d(self, rule: str, reason: str) -> Decision:
        return Decision(self.actions[rule], reason, rule)

    # ------------------------------------------------------------------ entry point

    def check(self, command: str) -> Decision:
        if not command.strip():
            return self._d("unparseable", "empty command")
        if "(" in command and _FORK_BOMB.search(command):
            return self._d("fork-bomb", "this is a fork bomb: it would exhaust the machine")
        try:
            cmds = parse_command(command)
        except ParseError as exc:
            return self._d("unparseable", f"cannot check this command safely: {exc}")
        if not cmds:
            return self._d("unparseable", "no command found")
        best: Decision | None = None
        if len(cmds) > 1:
            pipes: dict[int, list[SimpleCommand]] = {}
            for cmd in cmds:
                if cmd.stage or cmd.pipeline in pipes:
                    pipes.setdefault(cmd.pipeline, []).append(cmd)
                else:
                    pipes[cmd.pipeline] = [cmd]
            for stages in pipes.values():
                if len(stages) > 1:
                    d = self._pipeline(stages)
                    if d is not None and (best is None or RANK[d.action] > RANK[best.action]):
                        best = d
                        if RANK[d.action] == 2:
                            return d
        cwd: str | None = self.ws.root
        for cmd in cmds:
            if cmd.name in ("cd", "pushd"):
                cwd = self._cd(cmd, cwd)
            d = self._check_one(cmd, cwd)
            if d is not None and (best is None or RANK[d.action] > RANK[best.action]):
                best = d
                if RANK[d.action] == 2:
                    return d
        if best is None:  # only redirections to harmless targets
            return self._d("read-only", "only redirects output")
        return best

    def _cd(self, cmd: SimpleCommand, cwd: str | None) -> str | None:
        args = [a for a in cmd.argv[1:] if not a.startswith("-") or a == "-"]
        if not args:
            return _HOME
        target = args[0]
        if target == "-" or _is_dynamic(expand_user(target, cwd)):
            return None
        if cwd is None and not os.path.isabs(expand_user(target)):
            return None
        return self.ws.absolute(target, cwd)

    def _pipeline(self, stages: list[SimpleCommand]) -> Decision | None:
        download = None
        for cmd in stages:
            name = cmd.name
            if name in DOWNLOADERS:
                download = name
            elif name in INTERPRETERS and not _operands(cmd.argv, frozenset({"-c", "-m"})):
                if download is not None:
                    return self._d(
                        "download-to-shell",
                        f"pipes a download ({download}) into {name}: running unreviewed code",
                    )
                if cmd.stage > 0 and name in SHELLS:
                    return self._d("shell-stdin", f"pipes text into {name} to run it as a script")
        return None

    # ------------------------------------------------------------------ one simple command

    def _check_one(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        best: Decision | None = None

        def take(d: Decision | None) -> None:
            nonlocal best
            if d is not None and (best is None or RANK[d.action] > RANK[best.action]):
                best = d

        name = cmd.name
        argv = cmd.argv
        if "sudo" in cmd.wrappers:
            take(self._d("sudo", f"runs {name or 'a shell'} with elevated privileges (sudo)"))
        for op, target in cmd.redirects:
            if _OUT_REDIR.match(op):
                take(self._write(target, cwd, f"redirects output to {target}"))
            elif op.endswith(">&") and not target.isdigit() and target != "-":
                take(self._write(target, cwd, f"redirects output to {target}"))
            elif op in ("<", "0<") and self.secrets.is_secret(target, cwd):
                take(self._d("secret-read", f"reads {target}, which holds credentials"))
        if not argv:
            return best
        if cmd.substitutions and (name in INTERPRETERS or _is_dynamic(argv[0]) or name == "eval"):
            for sub in cmd.substitutions:
                if _DOWNLOAD_RE.search(sub):
                    take(self._d("download-to-shell", "runs code downloaded from the network"))
                    return best
        if name not in _SECRET_NAMERS:
            for a in argv[1:]:
                if "=" in a and a.startswith("-"):
                    a = a.split("=", 1)[1]
                elif "=" in a and name == "dd":
                    a = a.split("=", 1)[1]
                if a and not a.startswith("-") and self.secrets.is_secret(a, cwd):
                    take(self._d("secret-read", f"{name} would read {a}, which holds credentials"))
                    return best
        override = self._override(cmd) if self.commands else None
        handler = self._handlers.get(name)
        if handler is not None:
            h = handler(cmd, cwd)
            if h is not None and not (override is not None and h.rule in _CLASSIFY_RULES):
                take(h)
        if "xargs" in cmd.wrappers and name in ("rm", "shred", "chmod", "chown"):
            flags = _short_flags(argv)
            if "r" in flags or "R" in flags:
                take(self._d("dynamic-path", f"xargs supplies the paths {name} -r changes"))
        take(override if override is not None else self._classify(cmd, cwd))
        return best

    def _override(self, cmd: SimpleCommand) -> Decision | None:
        key = cmd.name
        found: tuple[str, Action] | None = None
        if key in self.commands:
            found = (key, self.commands[key])
        for word in cmd.argv[1:3]:
            key = f"{key} {word}"
            if key in self.commands:
                found = (key, self.commands[key])
        if found is None:
            return None
        return Decision(found[1], f"'{found[0]}' is set to {found[1]} by the rules",
                        f"command:{found[0]}")  # fmt: skip

    def _classify(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        name = cmd.name
        argv = cmd.argv
        if _is_dynamic(argv[0]):
            return self._d("unknown-command", f"the program name {argv[0]} is not literal")
        if name in NETWORK_TOOLS:
            return self._net(f"{name} uses the network")
        net = _PKG_NET.get(name)
        if net is None and name.startswith("python") and argv[1:3] == ["-m", "pip"]:
            net, argv, name = _PKG_NET["pip"], argv[2:], "pip"
        if net is not None:
            sub = next((a for a in argv[1:] if not a.startswith("-") or name == "pacman"), "")
            if sub in net and "--no-index" not in argv and "--offline" not in argv:
                return self._net(f"{name} {sub} downloads packages")
        if name in READ_ONLY:
            return self._d("read-only", f"{name} only reads")
        if name in WORKSPACE or name.startswith("python3."):
            return self._d("workspace-command", f"{name} runs in the workspace")
        if name.startswith(("mkfs", "mke2fs")) or name in DISK_TOOLS:
            return self._d("disk-format", f"{name} formats or repartitions a disk")
        if name in POWER:
            return self._d("shutdown", f"{name} would shut down or restart the machine")
        if name in SHELLS:
            return self._d("workspace-command", f"{name} runs a script")
        if name in _SELF_CLASSIFIED:
            return None  # the handler classifies
        return self._d("unknown-command", f"{name} is not a known command; approval needed")

    def _net(self, reason: str) -> Decision:
        if self.network:
            return Decision("allow", reason + " (network is on)", "network")
        return self._d("network", reason + ", and network access is off")

    # ------------------------------------------------------------------ paths

    def _write(self, target: str, cwd: str | None, what: str) -> Decision | None:
        path = expand_user(target, cwd)
        if path.startswith("/dev/"):
            if path in _SAFE_DEVICES or path.startswith("/dev/fd/"):
                return None
            return self._d("write-device", f"{what}: writing to a device can destroy data")
        if _is_dynamic(path):
            return self._d("dynamic-path", f"{what}: the path depends on {target}; cannot check it")
        base, _ = _glob_base(path)
        if cwd is None and not os.path.isabs(base):
            return self._d("dynamic-path", f"{what}: the current folder is unknown after cd")
        if not self.ws.contains(base, cwd):
            return self._d(
                "write-outside-workspace",
                f"{what}: {self.ws.absolute(base, cwd)} is outside the workspace {self.ws.root}",
            )
        return None

    def _targets(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        opts = frozenset({"-m", "--mode", "-s", "--size", "-r", "--reference", "-t", "-S"})
        worst: Decision | None = None
        for t in _operands(cmd.argv, opts):
            d = self._write(t, cwd, f"{cmd.name} writes {t}")
            if d is not None and (worst is None or RANK[d.action] > RANK[worst.action]):
                worst = d
        return worst

    def _move(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        d = self._copy(cmd, cwd)  # -t DIR / the destination
        if d is not None and RANK[d.action] == 2:
            return d
        other = self._targets(cmd, cwd)  # the sources disappear too
        return (
            other if other is not None and (d is None or RANK[other.action] > RANK[d.action]) else d
        )

    def _archive(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        argv = cmd.argv
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
                d = self._write(target, cwd, f"{cmd.name} writes into {target}")
                if d is not None:
                    return d
        return None

    def _copy(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        argv = cmd.argv
        if cmd.name == "rsync":
            ops = _operands(argv, frozenset({"-e", "--rsh"}))
            if any(":" in o.split("/", 1)[0] for o in ops):
                d = self._net("rsync to or from a remote host")
                if d.action != "allow":
                    return d
        else:
            ops = _operands(argv, frozenset({"-t", "--target-directory", "-S", "-m", "-o", "-g"}))
        for i, a in enumerate(argv):
            if a in ("-t", "--target-directory") and i + 1 < len(argv):
                return self._write(argv[i + 1], cwd, f"{cmd.name} writes into {argv[i + 1]}")
            if a.startswith("--target-directory="):
                t = a.split("=", 1)[1]
                return self._write(t, cwd, f"{cmd.name} writes into {t}")
        dest = self._write(ops[-1], cwd, f"{cmd.name} writes {ops[-1]}") if len(ops) > 1 else None
        if dest is not None:
            return dest
        if cmd.name == "ln" and ops and ("s" in _short_flags(argv) or "--symbolic" in argv):
            target = ops[0]
            if not _is_dynamic(target):
                link_dir = os.path.dirname(self.ws.absolute(ops[-1], cwd)) if len(ops) > 1 else cwd
                if (cwd is not None or os.path.isabs(expand_user(target))) and not self.ws.contains(
                    target, link_dir
                ):
                    return self._d(
                        "symlink-outside",
                        f"ln -s {target}: a link pointing outside the workspace lets later"
                        " writes escape it",
                    )
        return None

    def _rm(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        argv = cmd.argv
        flags = _short_flags(argv)
        recursive = "r" in flags or "R" in flags or "--recursive" in argv or cmd.name == "rmdir"
        if "--no-preserve-root" in argv:
            return self._d("rm-recursive-outside", "rm --no-preserve-root can delete everything")
        worst: Decision | None = None
        home = _HOME
        for t in _operands(argv):
            path = expand_user(t, cwd)
            if recursive and not _is_dynamic(path):
                base, globbed = _glob_base(path)
                if cwd is not None or os.path.isabs(base):
                    absolute = self.ws.absolute(base, cwd)
                    if (
                        absolute in SYSTEM_DIRS
                        or absolute == home
                        or not self.ws.contains(base, cwd)
                    ):
                        return self._d(
                            "rm-recursive-outside",
                            f"rm -r {t}: deletes {absolute}, outside the workspace {self.ws.root}",
                        )
                    tail = path.rstrip("/").rsplit("/", 1)[-1]
                    if absolute == self.ws.root and (not globbed or tail in ("*", ".*")):
                        whole = self._d(
                            "rm-workspace-root", f"rm -r {t} deletes the whole workspace"
                        )
                        if worst is None or RANK[whole.action] > RANK[worst.action]:
                            worst = whole
                        continue
            d = self._write(path, cwd, f"{cmd.name} deletes {t}")
            if d is not None and (worst is None or RANK[d.action] > RANK[worst.action]):
                worst = d
        return worst

    # ------------------------------------------------------------------ per program

    def _git(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        argv = cmd.argv
        i = 1
        while i < len(argv) and argv[i].startswith("-"):
            i += 2 if argv[i] in ("-C", "-c", "--git-dir", "--work-tree", "--namespace") else 1
        if i >= len(argv):
            return self._d("read-only", "git with options only")
        sub = argv[i]
        rest = argv[i + 1 :]
        if sub in _GIT_READ:
            return self._d("read-only", f"git {sub} only reads")
        if sub == "push":
            forced = any(
                a in ("-f", "--force", "--mirror", "--force-if-includes")
                or a.startswith("--force-with-lease")
                or (a.startswith("-") and not a.startswith("--") and "f" in a)
                or (a.startswith("+") and len(a) > 1)
                for a in rest
            )
            if forced:
                return self._d("git-push-force", "git push --force rewrites the remote's history")
            return self._net("git push uses the network")
        if sub == "reset" and "--hard" in rest:
            return self._d("git-reset-hard", "git reset --hard discards uncommitted changes")
        if sub == "clean":
            flags = _short_flags(["git", *rest])
            if ("f" in flags or "--force" in rest) and "n" not in flags and "--dry-run" not in rest:
                return self._d("git-clean", "git clean -f deletes untracked files")
            return self._d("read-only", "git clean without -f only lists")
        if sub in _GIT_NET or (sub == "remote" and "update" in rest):
            return self._net(f"git {sub} uses the network")
        if sub in _GIT_WORK or sub == "reset":
            return self._d("workspace-command", f"git {sub} changes the repository")
        return self._d("unknown-command", f"git {sub} is not a known git command")

    def _sed(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        argv = cmd.argv
        in_place = any(
            a.startswith("--in-place")
            or (a.startswith("-") and not a.startswith("--") and "i" in a)
            for a in argv[1:]
        )
        if not in_place:
            return self._d("read-only", "sed without -i only reads")
        ops = _operands(argv, frozenset({"-e", "-f", "--expression", "--file"}))
        if not any(a in ("-e", "-f") or a.startswith(("--expression", "--file")) for a in argv):
            ops = ops[1:]  # the first operand is the script
        worst: Decision | None = None
        for t in ops:
            d = self._write(t, cwd, f"sed -i edits {t}")
            if d is not None and (worst is None or RANK[d.action] > RANK[worst.action]):
                worst = d
        return worst

    def _find(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        argv = cmd.argv
        roots = []
        for a in argv[1:]:
            if a.startswith("-") or a in ("(", "!"):
                break
            roots.append(a)
        if "-delete" in argv:
            for r in roots or ["."]:
                d = self._write(r, cwd, f"find -delete removes files under {r}")
                if d is not None:
                    return d
                if self.ws.absolute(expand_user(r, cwd), cwd) in SYSTEM_DIRS:
                    return self._d("rm-recursive-outside", f"find {r} -delete")
            return self._d("workspace-command", "find -delete inside the workspace")
        for opt in ("-fprint", "-fprint0", "-fprintf", "-fls"):
            if opt in argv:
                j = argv.index(opt) + 1
                if j < len(argv):
                    return self._write(argv[j], cwd, f"find {opt} writes {argv[j]}")
        return self._d("read-only", "find only lists files")

    def _dd(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        for a in cmd.argv[1:]:
            if a.startswith("of="):
                return self._write(a[3:], cwd, f"dd writes {a[3:]}")
        return None

    def _kill(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        ops = [a for a in cmd.argv[1:] if a != "--"]
        pids = [a for a in ops[1:]] if ops and ops[0].startswith("-") and ops[0] != "-1" else ops
        if "-1" in pids or "1" in pids:
            return self._d("kill-all", "kill -1 signals every process you own (or init)")
        return None

    def _init(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        if any(a in ("0", "6") for a in cmd.argv[1:]):
            return self._d("shutdown", f"{cmd.name} {cmd.argv[1]} halts or reboots the machine")
        return self._d("unknown-command", f"{cmd.name} changes the system state")

    def _systemctl(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        power = {"poweroff", "reboot", "halt", "kexec", "suspend", "hibernate", "emergency"}
        if any(a in power for a in cmd.argv[1:]):
            return self._d("shutdown", "systemctl would stop or restart the machine")
        if any(a in ("status", "list-units", "is-active", "show", "cat") for a in cmd.argv[1:]):
            return self._d("read-only", "systemctl status only reads")
        return self._d("unknown-command", "systemctl changes services")

    def _chmod(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        argv = cmd.argv
        recursive = "R" in _short_flags(argv) or "--recursive" in argv
        ops = _operands(argv, frozenset({"--reference"}))[1:]  # skip the mode / owner
        worst: Decision | None = None
        for t in ops:
            d = self._write(t, cwd, f"{cmd.name} changes {t}")
            if d is not None and recursive and d.rule == "write-outside-workspace":
                return self._d(
                    "chmod-recursive-system", f"{cmd.name} -R on {t}, outside the workspace"
                )
            if d is not None and (worst is None or RANK[d.action] > RANK[worst.action]):
                worst = d
        return worst

    def _download(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        argv = cmd.argv
        for i, a in enumerate(argv[:-1]):
            if a in ("-o", "--output", "-O", "--output-document", "-P", "--directory-prefix"):
                target = argv[i + 1]
                if target == "-" or (cmd.name == "curl" and a == "-O"):
                    continue
                return self._write(target, cwd, f"{cmd.name} saves to {target}")
        return None
