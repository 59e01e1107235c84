"""Shell command rules: one parsed command line -> the strictest decision of its parts.

The generic checks live here (redirections, secret reads, non-literal words, where writes land,
the classification of programs by name); the per-program flag rules live in
:mod:`.program_rules`.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence

from .commands import (
    MAX_COMMAND_CHARS,
    ParseError,
    Script,
    SimpleCommand,
    command_from_argv,
    parse_script,
)
from .decision import RANK, Decision
from .paths import SecretMatcher, Workspace, expand_user
from .program_rules import Checker, handler_for
from .rules import Action
from .vocabulary import (
    DOWNLOADERS,
    INTERPRETERS,
    NETWORK_TOOLS,
    PKG_NET,
    READ_ONLY,
    SAFE_DEVICES,
    SECRET_NAMERS,
    SELF_CLASSIFIED,
    SHELLS,
    WORKSPACE,
    is_dynamic,
    operands,
    short_flags,
)

__all__ = ["ShellChecker"]

_DOWNLOAD_RE = re.compile(r"\b(?:curl|wget|aria2c|fetch)\b")
_CLASSIFY_RULES = frozenset({"network", "unknown-command", "read-only", "workspace-command"})
_OUT_REDIR = re.compile(r"^\d*(?:>|>>|>\||&>|&>>|<>)$")
_IN_REDIR = re.compile(r"^\d*(?:<|<>)$")
#: Programs whose words may hold expansions without changing what they can do.
_EXPANSION_OK = frozenset(
    """echo printf test [ true false : export local declare typeset readonly unset cd pushd popd
    set shift exit return sleep""".split()
)
#: Environment variables that make an ordinary program load or run other code.
_CODE_VARS = re.compile(
    r"^(?:LD_\w+|DYLD_\w+|BASH_ENV|ENV|PROMPT_COMMAND|PS[0-4]|SHELLOPTS|BASHOPTS|IFS|"
    r"GIT_(?:SSH|SSH_COMMAND|EXTERNAL_DIFF|PAGER|EDITOR|SEQUENCE_EDITOR|ASKPASS|PROXY_COMMAND|"
    r"EXEC_PATH|CONFIG\w*|DIR|WORK_TREE|TEMPLATE_DIR)|PAGER|MANPAGER|EDITOR|VISUAL|LESSOPEN|"
    r"LESSCLOSE|PYTHONSTARTUP|PYTHONHOME|NODE_OPTIONS|PERL5OPT|PERL5LIB|RUBYOPT|SSH_ASKPASS|"
    r"SUDO_ASKPASS|BROWSER)\+?="
)
_GLOB = re.compile(r"[*?\[]")
_FOLDER_READERS = frozenset({"tar", "zip", "7z", "rsync", "scp", "rg", "ag", "ack"})
_DECODED = frozenset({"ansi-c", "brace"})
_ONLY_PROCESS = frozenset({"process"})
_DECLARERS = frozenset({"export", "declare", "typeset", "local", "readonly"})
_GLOB_CHARS = re.compile(r"[*?\[\]]")


class ShellChecker(Checker):
    """Checks command lines against the rules; built once per Policy, used for every call."""

    def __init__(
        self,
        workspace: Workspace,
        secrets: SecretMatcher,
        actions: Mapping[str, Action],
        commands: Mapping[str, Action],
        network: bool,
        *,
        secret_patterns: Iterable[str] = (),
        sandboxed: bool = True,
    ) -> None:
        self.ws = workspace
        self.secrets = secrets
        self.actions = actions
        self.commands = commands
        self.network = network
        self.sandboxed = sandboxed
        self._secret_probes = _secret_probes(secret_patterns)
        # Every folder above a credentials location: reading one recursively reads secrets.
        self._secret_folders = frozenset(
            p.rsplit("/", k)[0] or "/"
            for p in self._secret_probes
            if p.startswith("/")
            for k in range(1, p.count("/") + 1)
        )
        root = self.ws.root.rstrip("/") + "/"
        self._ws_holds_secrets = any(
            p.startswith(root) for p in self._secret_probes if p.startswith("/")
        )

    def d(self, rule: str, reason: str) -> Decision:
        return Decision(self.actions[rule], reason, rule)

    @property
    def root(self) -> str:
        return self.ws.root

    # ------------------------------------------------------------------ entry point

    def check(self, command: str | Sequence[str]) -> Decision:
        """The decision for a command line, or for an argv list run without a shell."""
        if isinstance(command, str):
            if "\x00" in command:
                return self.d("nul-byte", "the command holds a NUL byte; the shell would cut it")
            if not command.strip():
                return self.d("unparseable", "empty command")
            if len(command) > MAX_COMMAND_CHARS:
                return self.d("unparseable", "command is too long to check")
            try:
                script = parse_script(command, self.ws.root)
            except ParseError as exc:
                return self.d("unparseable", f"cannot check this command safely: {exc}")
        else:
            if not command:
                return self.d("unparseable", "empty command")
            if any("\x00" in a for a in command):
                return self.d("nul-byte", "an argument holds a NUL byte; exec would cut it")
            try:
                script = command_from_argv(list(command), self.ws.root)
            except ParseError as exc:
                return self.d("unparseable", f"cannot check this command safely: {exc}")
        d = self._check_script(script)
        if not self.sandboxed and d.action == "allow" and d.rule != "read-only":
            return self.d(
                "unsandboxed",
                f"no OS sandbox: approval needed for what is not read-only ({d.reason})",
            )
        return d

    def _check_script(self, script: Script) -> Decision:
        cmds = script.commands
        best: Decision | None = None

        def take(d: Decision | None) -> bool:
            nonlocal best
            if _stricter(d, best):
                best = d
            return best is not None and RANK[best.action] == 2

        for fn in script.functions:
            if fn.recursive_bg:
                return self.d(
                    "fork-bomb",
                    f"{fn.name}() runs itself in a pipe or in the"
                    " background: a fork bomb that would exhaust the machine",
                )
        if not cmds and not script.functions:
            return self.d("unparseable", "no command found")
        if len(cmds) > 1:
            pipes: dict[int, list[SimpleCommand]] = {}
            for cmd in cmds:
                pipes.setdefault(cmd.pipeline, []).append(cmd)
            for stages in pipes.values():
                if len(stages) > 1 and take(self._pipeline(stages)):
                    return best  # type: ignore[return-value]
        for cmd in cmds:
            if cmd.substitutions and (
                cmd.name in INTERPRETERS
                or cmd.name == "eval"
                or (cmd.argv and is_dynamic(cmd.argv[0]))
            ):
                if any(_DOWNLOAD_RE.search(sub) for sub in cmd.substitutions):
                    return self.d(
                        "download-to-shell",
                        f"{cmd.name or cmd.argv[0]} runs code downloaded from the network",
                    )
        for cmd in cmds:
            for cwd in cmd.cwds:
                if take(self._check_one(cmd, cwd)):
                    return best  # type: ignore[return-value]
        if script.functions:
            names = ", ".join(f.name for f in script.functions)
            take(
                self.d(
                    "shell-function",
                    f"defines the shell function {names}: calls to that"
                    " name run its body, not the program it shadows",
                )
            )
        if best is None:  # only redirections to harmless targets
            return self.d("read-only", "only redirects output")
        return best

    def _pipeline(self, stages: list[SimpleCommand]) -> Decision | None:
        download = None
        for cmd in sorted(stages, key=lambda c: c.stage):
            name = cmd.name
            if name in DOWNLOADERS:
                download = name
            elif name in INTERPRETERS and cmd.stage > 0 and _reads_stdin_code(cmd):
                if download is not None:
                    return self.d(
                        "download-to-shell",
                        f"pipes a download ({download}) into {name}: running unreviewed code",
                    )
                if name in SHELLS:
                    return self.d("shell-stdin", f"pipes text into {name} to run it as a script")
                return self.d("inline-code", f"pipes text into {name} to run it as code")
        return None

    # ------------------------------------------------------------------ one simple command

    def _check_one(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        best: Decision | None = None

        def take(d: Decision | None) -> None:
            nonlocal best
            if _stricter(d, best):
                best = d

        name = cmd.name
        argv = cmd.argv
        wrappers = cmd.wrappers
        if wrappers and "sudo" in wrappers:
            take(self.d("sudo", f"runs {name or 'a shell'} with elevated privileges (sudo)"))
        for op, target in cmd.redirects:
            if _OUT_REDIR.match(op) or (
                op.endswith(">&") and not target.isdigit() and target != "-"
            ):
                w = self.write(target, cwd, f"redirects output to {target}")
                if w is None and target not in SAFE_DEVICES:
                    w = self.d("workspace-command", f"writes {target} in the workspace")
                take(w)
            if _IN_REDIR.match(op) or (
                op.endswith("<&") and not target.isdigit() and target != "-"
            ):
                take(self.read(target, cwd, f"reads {target}"))
        if cmd.assigns or name in _DECLARERS:
            take(self._code_vars(cmd))
        if not argv:
            return best
        if is_dynamic(argv[0]):
            take(self.d("unknown-command", f"the program name {argv[0]} is not literal"))
            return best
        if name not in SECRET_NAMERS:
            take(self._secret_args(cmd, cwd))
            if best is not None and best.rule == "secret-read":
                return best
        override = self._override(cmd) if self.commands else None
        handler = handler_for(name)
        h = handler(self, cmd, cwd) if handler is not None else None
        if h is not None and not (override is not None and h.rule in _CLASSIFY_RULES):
            take(h)
        if cmd.expansions:
            take(self._expansions(cmd))
        if (wrappers and "eval" in wrappers) or name == "eval":
            take(self.d("inline-code", "eval runs a string as shell code"))
        if override is not None:
            cls: Decision | None = override
        elif h is not None and h.rule in _CLASSIFY_RULES:
            cls = h  # the handler classified it from its arguments (uv pip list: read-only)
        else:
            cls = self._classify(cmd, cwd)
        if (
            wrappers
            and "xargs" in wrappers
            and name not in ("echo", "printf")
            and (cls is None or cls.rule != "read-only")
        ):
            take(
                self.d(
                    "dynamic-path",
                    f"xargs supplies the arguments of {name}, which"
                    " changes things; approval needed",
                )
            )
        take(cls)
        return best

    def _code_vars(self, cmd: SimpleCommand) -> Decision | None:
        exported = cmd.argv[1:] if cmd.name in _DECLARERS else ()
        for a in (*cmd.assigns, *exported):
            if _CODE_VARS.match(a):
                var = a.split("=", 1)[0].rstrip("+")
                return self.d(
                    "command-flag", f"sets {var}, which makes programs load or run other code"
                )
        return None

    def _expansions(self, cmd: SimpleCommand) -> Decision | None:
        kinds = cmd.expansions
        name = cmd.name
        if not kinds.isdisjoint(_DECODED):
            how = "$'...' quoting" if "ansi-c" in kinds else "brace expansion"
            return self.d(
                "shell-expansion",
                f"{name} gets words built by {how}; they were checked decoded, but approval"
                " is needed",
            )
        if kinds != _ONLY_PROCESS and name not in _EXPANSION_OK:
            return self.d(
                "shell-expansion",
                f"{name} gets words known only when the shell runs ($VAR, $(...), <(...));"
                " approval needed",
            )
        return None

    def _secret_args(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        name = cmd.name
        argv = cmd.argv
        args: Sequence[str] = argv[1:]
        flags = short_flags(argv)
        recursive = (
            name in _FOLDER_READERS or "r" in flags or "R" in flags or ("--recursive" in argv)
        )
        if name in ("cp", "mv", "ln", "install", "rsync", "scp"):
            ops = operands(argv, frozenset({"-t", "--target-directory", "-S", "-m", "-o", "-g"}))
            if not any(
                a in ("-t", "--target-directory") or a.startswith("--target-directory=")
                for a in argv
            ):
                ops = ops[:-1]  # the destination is written, not read
            args = ops
        elif name in SHELLS:  # `bash -c SCRIPT`: SCRIPT is parsed and checked, not a path
            args = [a for i, a in enumerate(argv[1:], 1) if not _is_c_flag(argv[i - 1])]
        elif name == "tar":  # -C DIR is where it extracts, not what it reads
            args = [
                a
                for i, a in enumerate(argv[1:], 1)
                if argv[i - 1] not in ("-C", "--directory") and not a.startswith("--directory=")
            ]
        for a in args:
            if "=" in a and (a.startswith("-") or name == "dd"):
                a = a.split("=", 1)[1]
            if "@" in a:  # curl -d @file, -F f=@file
                a = a.rsplit("@", 1)[1] or a
            if a and not a.startswith("-"):
                d = self.read(a, cwd, f"{name} would read {a}", recursive)
                if d is not None:
                    return d
        return None

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
        return Decision(
            found[1], f"'{found[0]}' is set to {found[1]} by the rules", f"command:{found[0]}"
        )

    def _classify(self, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
        name = cmd.name
        argv = cmd.argv
        if is_dynamic(argv[0]):
            return self.d("unknown-command", f"the program name {argv[0]} is not literal")
        if name in NETWORK_TOOLS:
            return self.net(f"{name} uses the network")
        net = PKG_NET.get(name)
        if net is not None:
            sub = next((a for a in argv[1:] if not a.startswith("-") or name == "pacman"), "")
            if sub in net and "--no-index" not in argv and "--offline" not in argv:
                return self.net(f"{name} {sub} downloads packages")
        if name in SELF_CLASSIFIED or name in SHELLS:
            return None  # the handler classifies
        if name in READ_ONLY:
            return self.d("read-only", f"{name} only reads")
        if name in WORKSPACE or name.startswith(("python3.", "python2.", "pypy")):
            return self.d("workspace-command", f"{name} runs in the workspace")
        if ("/" in argv[0] and not argv[0].startswith(("/", "~"))) or (
            argv[0].startswith("/") and self.ws.contains(argv[0])
        ):
            if cwd is None:
                return self.d("dynamic-path", f"runs {argv[0]} from an unknown folder")
            if self.contains(argv[0], cwd):
                return self.d("workspace-command", f"runs the project's {argv[0]}")
        if name.startswith(("mkfs", "mke2fs")) or name in _DISK_TOOLS:
            return self.d("disk-format", f"{name} formats or repartitions a disk")
        if name in _POWER:
            return self.d("shutdown", f"{name} would shut down or restart the machine")
        return self.d("unknown-command", f"{name} is not a known command; approval needed")

    def net(self, reason: str) -> Decision:
        if self.network:
            return Decision("allow", reason + " (network is on)", "network")
        return self.d("network", reason + ", and network access is off")

    # ------------------------------------------------------------------ paths

    def absolute(self, path: str, cwd: str | None) -> str:
        """``path`` made absolute; a ``..`` after a symlink is resolved as the kernel does."""
        path = expand_user(path, cwd)
        if not path.startswith("/"):
            path = posixpath.join(cwd or self.ws.root, path)
        if "/.." in path:
            # l/../x where l is a link: the kernel goes to the parent of the link's target.
            return os.path.realpath(path)
        return posixpath.normpath(path)

    def contains(self, path: str, cwd: str | None) -> bool:
        return self.ws.contains(self.absolute(path, cwd))

    def write(self, target: str, cwd: str | None, what: str) -> Decision | None:
        """The decision for writing ``target`` (None: fine)."""
        raw = expand_user(target, cwd)
        if is_dynamic(raw):
            return self.d("dynamic-path", f"{what}: the path depends on {target}; cannot check it")
        if raw.startswith("/dev/"):
            path = posixpath.normpath(raw)
            if path.startswith(("/dev/tcp/", "/dev/udp/")):
                return self.net(f"{what}: bash opens a network connection")
            if path in SAFE_DEVICES or re.fullmatch(r"/dev/fd/[0-2]", path):
                return None
            return self.d("write-device", f"{what}: writing to a device can destroy data")
        base, _ = glob_base(raw)
        if cwd is None and not base.startswith("/"):
            return self.d("dynamic-path", f"{what}: the current folder is unknown after cd")
        absolute = self.absolute(base, cwd)
        if absolute.startswith("/dev/"):
            return self.write(absolute, cwd, what)
        if not self.ws.contains(absolute):
            return self.d(
                "write-outside-workspace",
                f"{what}: {absolute} is outside the workspace {self.ws.root}",
            )
        rel = absolute[len(self.ws.root) + 1 :]
        if rel == ".git" or rel.startswith(".git/"):
            return self.d(
                "git-internals-write",
                f"{what}: writes inside .git/ (hooks and config run code later)",
            )
        return None

    def read(
        self, target: str, cwd: str | None, what: str, recursive: bool = False
    ) -> Decision | None:
        """The decision for reading ``target``: a secret, a network pseudo-device, or fine.

        ``recursive``: the program reads whole folders (tar, zip, cp -r, grep -r), so a folder
        that holds credentials counts as a secret too.
        """
        if target.startswith(("/dev/tcp/", "/dev/udp/")):
            return self.net(f"{what}: bash opens a network connection")
        if self.secrets.is_secret(target, cwd) or (
            _GLOB.search(target) and self._glob_secret(target, cwd)
        ):
            return self.d("secret-read", f"{what}, which holds credentials")
        if recursive and self._holds_secrets(target, cwd):
            return self.d("secret-read", f"{what}, a folder that holds credentials")
        if "/.." in target and not is_dynamic(target):
            real = self.absolute(target, cwd)
            if real != target and self.secrets.is_secret(real, cwd):
                return self.d("secret-read", f"{what}, which holds credentials")
        return None

    def _glob_secret(self, pattern: str, cwd: str | None) -> bool:
        """Whether a glob such as ``~/.aws/cred*`` or ``.en?`` can match a secret file."""
        path = expand_user(pattern, cwd)
        absolute = path if path.startswith("/") else posixpath.join(cwd or self.ws.root, path)
        base = absolute.rsplit("/", 1)[-1]
        # `*` alone matches any name: only globs with some literal text are compared by name,
        # and (as in bash) only a glob starting with "." matches a dot file.
        literal = len(_GLOB_CHARS.sub("", base)) >= 2
        for probe in self._secret_probes:
            if "/" in probe:
                if fnmatch.fnmatchcase(probe, absolute):
                    return True
            elif (
                literal
                and (base[:1] == "." or probe[:1] != ".")
                and (fnmatch.fnmatchcase(probe, base))
            ):
                return True
        folder, _ = glob_base(absolute)
        return self.secrets.is_secret(folder.rstrip("/") + "/x", cwd)

    def _holds_secrets(self, target: str, cwd: str | None) -> bool:
        """Whether the folder ``target`` holds a known credentials location (``~/.aws``, ``~``)."""
        if is_dynamic(target):
            return False
        if (
            cwd == self.ws.root
            and not self._ws_holds_secrets
            and target[:1] not in ("/", "~")
            and ".." not in target
        ):
            return False  # under the workspace, which holds no credentials location
        return self.absolute(target, cwd).rstrip("/") in self._secret_folders or target == "/"


def _is_c_flag(word: str) -> bool:
    return word.startswith("-") and not word.startswith("--") and "c" in word


def _stricter(d: Decision | None, best: Decision | None) -> bool:
    """Whether ``d`` replaces ``best``: a stricter action, or an allow that is not read-only.

    Among allows, one that changes something (``workspace-command``, ``network``) outranks
    ``read-only``, so the reason names it and ``sandboxed=False`` can ask about it.
    """
    if d is None:
        return False
    if best is None or RANK[d.action] > RANK[best.action]:
        return True
    return d.action == best.action == "allow" and best.rule == "read-only" != d.rule


def glob_base(path: str) -> tuple[str, bool]:
    """The literal folder a glob starts from and whether ``path`` had a glob at all."""
    m = _GLOB.search(path)
    if m is None:
        return path, False
    head = path[: m.start()]
    base = head if head.endswith("/") else posixpath.dirname(head)
    return base or ".", True


def _secret_probes(patterns: Iterable[str]) -> tuple[str, ...]:
    """Example names for each secret pattern, for matching globs against them."""
    out: list[str] = []
    for p in patterns:
        p = expand_user(p)
        out.append(p.replace("*", "x").replace("?", "x"))
    return tuple(out)


def _reads_stdin_code(cmd: SimpleCommand) -> bool:
    """An interpreter with no script operand (or ``-``) runs what comes on stdin."""
    value_opts = frozenset({"-c", "-m", "-e", "-E", "-W", "-X", "-o", "-O", "-r"})
    ops = operands(cmd.argv, value_opts)
    if any(a in ("-c", "-e", "-E", "-m", "-r") for a in cmd.argv[1:]):
        return False
    return not ops or ops[0] in ("-", "/dev/stdin")


_DISK_TOOLS = frozenset(
    {"fdisk", "sfdisk", "cfdisk", "sgdisk", "gdisk", "parted", "wipefs", "mkswap", "blkdiscard"}
)
_POWER = frozenset({"shutdown", "reboot", "halt", "poweroff"})
