"""How bash turns text into words, and what wrapper programs do with the words.

Pure functions used by the syntax-tree walk (:mod:`.shell_walk`): ANSI-C strings (``$'\\x2f'``),
backslash escapes, brace expansion (``{a,b}``, ``x{1..3}``), the script of ``sh -c``, the folder
a ``cd`` leaves, and the wrappers (``sudo``, ``env``, ``timeout``, ``xargs``...) peeled off a
command to find the program that really runs.
"""

from __future__ import annotations

import posixpath
import re

from .paths import expand_user

__all__ = [
    "BRACE",
    "DQ_ESCAPE",
    "KNOWN_VARS",
    "SHELLS",
    "ansi_c",
    "brace_expand",
    "cd_target",
    "peel_wrappers",
    "shell_c_script",
    "shell_reads_stdin",
    "unescape_word",
]

#: Most words one brace expansion may produce before it is left unexpanded.
_MAX_BRACE_WORDS = 64
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash", "fish", "mksh", "csh", "tcsh"})
_SUDO_VALUE_OPTS = frozenset({"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T"})
_TIMEOUT_VALUE_OPTS = frozenset({"-s", "-k", "--signal", "--kill-after"})
_XARGS_VALUE_OPTS = frozenset({"-n", "-I", "-L", "-P", "-d", "-s", "-a", "-E", "-i", "-l"})
_SIMPLE_WRAPPERS = frozenset({"nohup", "setsid", "unbuffer", "chronic", "time", "caffeinate"})
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")

_ANSI_SIMPLE = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}
_ANSI_RE = re.compile(
    r"\\(?:x([0-9A-Fa-f]{1,2})|u([0-9A-Fa-f]{1,4})|U([0-9A-Fa-f]{1,8})|([0-7]{1,3})|c(.)|(.))",
    re.S,
)


def ansi_c(body: str) -> str:
    """Decode the inside of ``$'...'`` as bash does."""

    def sub(m: re.Match[str]) -> str:
        hx, u4, u8, octal, ctrl, other = m.groups()
        if hx is not None:
            return chr(int(hx, 16))
        if u4 is not None or u8 is not None:
            code = int(u4 or u8, 16)
            return chr(code) if code < 0x110000 else "\ufffd"
        if octal is not None:
            return chr(int(octal, 8) & 0xFF)
        if ctrl is not None:
            return chr(ord(ctrl) & 0x1F)
        return _ANSI_SIMPLE.get(other, "\\" + other)

    return _ANSI_RE.sub(sub, body)


_BACKSLASH = re.compile(r"\\(.)", re.S)
DQ_ESCAPE = re.compile(r"\\([\\$`\"\n])")
BRACE = re.compile(r"\{[^{}]*(?:,|\.\.)[^{}]*\}")
_BRACE_INNER = re.compile(r"\{([^{}]*)\}")


def unescape_word(text: str) -> str:
    if "\\" not in text:
        return text
    return _BACKSLASH.sub(lambda m: "" if m.group(1) == "\n" else m.group(1), text)


def brace_expand(word: str) -> list[str]:
    """Bash brace expansion of ``a{b,c}d`` and ``x{1..3}`` (innermost first); capped."""
    out = [word]
    for _ in range(8):
        nxt: list[str] = []
        changed = False
        for w in out:
            m = next(
                (m for m in _BRACE_INNER.finditer(w) if "," in m.group(1) or ".." in m.group(1)),
                None,
            )
            if m is None:
                nxt.append(w)
                continue
            changed = True
            inner = m.group(1)
            if "," in inner:
                alts = inner.split(",")
            else:
                lo, _, hi = inner.partition("..")
                hi = hi.split("..", 1)[0]
                if lo.lstrip("-").isdigit() and hi.lstrip("-").isdigit():
                    a, b = int(lo), int(hi)
                    step = 1 if b >= a else -1
                    alts = [str(i) for i in range(a, b + step, step)][:_MAX_BRACE_WORDS]
                elif len(lo) == 1 and len(hi) == 1:
                    a, b = ord(lo), ord(hi)
                    step = 1 if b >= a else -1
                    alts = [chr(i) for i in range(a, b + step, step)]
                else:
                    alts = [inner]
            nxt.extend(w[: m.start()] + alt + w[m.end() :] for alt in alts)
        out = nxt
        if not changed or len(out) > _MAX_BRACE_WORDS:
            break
    return out if len(out) <= _MAX_BRACE_WORDS else [word]


# Expansions the policy resolves itself (see paths.expand_user): not "parameter" expansions.
KNOWN_VARS = frozenset({"HOME", "PWD"})


def peel_wrappers(argv: list[str], wrappers: list[str], assigns: list[str]) -> list[str]:
    """What runs once wrappers are peeled off ``argv``.

    ``sudo``/``doas``/``su`` (recorded in ``wrappers`` as "sudo"), ``env`` (its ``A=1`` go to
    ``assigns``), ``nohup``, ``setsid``, ``time``, ``command``, ``builtin``, ``exec``, ``nice``,
    ``ionice``, ``stdbuf``, ``chrt``, ``taskset``, ``timeout N``, ``xargs`` (recorded).
    """
    while argv:
        prog = argv[0].rsplit("/", 1)[-1]
        if prog in ("sudo", "doas"):
            wrappers.append("sudo")
            i = 1
            while i < len(argv) and argv[i].startswith("-"):
                if argv[i] == "--":
                    i += 1
                    break
                i += 2 if argv[i] in _SUDO_VALUE_OPTS else 1
            if i >= len(argv):  # "sudo -i", "sudo -s": a root shell
                argv = ["sh"]
                break
            argv = argv[i:]
        elif prog == "su":
            wrappers.append("sudo")
            if "-c" not in argv[1:-1]:
                argv = ["sh"]
            break  # su -c SCRIPT: the walker parses SCRIPT
        elif prog == "env":
            i = 1
            while i < len(argv):
                a = argv[i]
                if a in ("-u", "--unset", "-C", "--chdir"):
                    i += 2
                elif a in ("-S", "--split-string") or a.startswith("-S"):
                    rest = argv[i + 1] if a in ("-S", "--split-string") else a[2:]
                    tail = argv[i + 2 :] if a in ("-S", "--split-string") else argv[i + 1 :]
                    argv = [*rest.split(), *tail]
                    i = 0
                    break
                elif a.startswith("-") or _ASSIGN.match(a):
                    if _ASSIGN.match(a):
                        assigns.append(a)
                    i += 1
                else:
                    break
            if i >= len(argv):
                break  # plain "env": prints the environment
            argv = argv[i:]
        elif prog in _SIMPLE_WRAPPERS:
            if len(argv) == 1:
                break
            argv = argv[1:]
            while argv and argv[0].startswith("-") and prog == "time":
                argv = argv[1:]
        elif prog == "command" or prog == "builtin":
            if len(argv) > 1 and argv[1] in ("-v", "-V"):
                break
            argv = [a for a in argv[1:] if a != "-p"] or argv
            if argv[0] in ("command", "builtin"):
                break
        elif prog == "exec":
            i = 1
            while i < len(argv) and argv[i].startswith("-"):
                i += 2 if argv[i] == "-a" else 1
            if i >= len(argv):
                break
            argv = argv[i:]
        elif prog in ("nice", "ionice", "stdbuf", "chrt", "taskset"):
            i = 1
            while i < len(argv) and argv[i].startswith("-"):
                a = argv[i]
                i += 2 if len(a) == 2 and a[1] in "ncpoei" else 1
            if prog in ("chrt", "taskset") and i < len(argv):
                i += 1  # priority / mask
            if i >= len(argv):
                break
            argv = argv[i:]
        elif prog == "timeout":
            i = 1
            while i < len(argv) and argv[i].startswith("-"):
                i += 2 if argv[i] in _TIMEOUT_VALUE_OPTS else 1
            i += 1  # duration
            if i >= len(argv):
                break
            argv = argv[i:]
        elif prog == "xargs":
            wrappers.append("xargs")
            i = 1
            while i < len(argv) and argv[i].startswith("-"):
                i += 2 if argv[i] in _XARGS_VALUE_OPTS else 1
            argv = argv[i:] or ["echo"]
        else:
            break
    return argv


def cd_target(argv: list[str], cwd: str | None, name: str) -> str | None:
    """The folder ``cd``/``pushd`` leaves (lexically, as bash's default ``cd -L`` does)."""
    if name == "popd":
        return None
    args = [a for a in argv[1:] if not a.startswith("-") or a == "-"]
    if not args:
        return expand_user("~")
    target = expand_user(args[0], cwd)
    if target == "-" or "$" in target or "`" in target or (cwd is None and target[:1] != "/"):
        return None
    return posixpath.normpath(posixpath.join(cwd or ".", target))


def shell_c_script(argv: list[str]) -> str | None:
    """The script of ``bash -c SCRIPT`` (options may come first, e.g. ``-lc``, ``-e -c``)."""
    i = 1
    has_c = False
    while i < len(argv):
        a = argv[i]
        if a == "-o" or a == "+o":
            i += 2
            continue
        if a.startswith("-") and len(a) > 1 and not a.startswith("--"):
            if "c" in a[1:]:
                has_c = True
            i += 1
            continue
        if a.startswith("--"):
            i += 1
            continue
        return a if has_c else None
    return None


def shell_reads_stdin(argv: list[str]) -> bool:
    """``bash``, ``bash -s``, ``bash -`` read their script from stdin; ``bash file`` does not."""
    for a in argv[1:]:
        if a in ("-s", "-"):
            return True
        if a.startswith("-") or a.startswith("+"):
            continue
        return False
    return True
