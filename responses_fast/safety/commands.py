"""Shell command parsing: a command line -> the simple commands it would run.

A small, fast tokenizer for the bash subset agents write: pipelines, ``&&``, ``||``, ``;``, ``&``,
subshells ``( )``, groups ``{ }``, ``$( )``, backticks, process substitution ``<( )``, quoting,
redirections (``>``, ``>>``, ``2>&1``, ``&>``, ``<``, heredocs), env prefixes ``A=1 cmd``, and the
keywords of ``if``/``for``/``while``. Wrappers are peeled off (``sudo``, ``env``, ``nohup``,
``timeout N``, ``nice``, ``xargs``, ``exec``, ``command``), ``sh -c '...'``/``bash -c``/``eval``
strings and heredocs fed to a shell are parsed recursively, and ``find -exec ... ;`` yields the
command it runs. Every command found, however deeply nested, comes back in one flat list.

Constructs it cannot follow (unbalanced quotes, ``case``, nesting deeper than :data:`MAX_DEPTH`)
raise :class:`ParseError`; the policy turns that into "ask". Words that hold expansions
(``$VAR``, ``$(...)``, globs) are kept raw so the policy can tell they are not literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["MAX_DEPTH", "ParseError", "SimpleCommand", "parse_command"]

MAX_DEPTH = 6
MAX_COMMAND_CHARS = 100_000


class ParseError(ValueError):
    """The command line uses something the parser cannot follow safely."""


@dataclass(slots=True)
class SimpleCommand:
    """One program invocation after wrappers are peeled off."""

    argv: list[str]
    #: Redirections as ``(operator, target)``; a heredoc's target is its body.
    redirects: list[tuple[str, str]] = field(default_factory=list)
    assigns: list[str] = field(default_factory=list)
    #: Which pipeline this command belongs to (unique per parse) and its stage in it.
    pipeline: int = 0
    stage: int = 0
    #: Wrappers peeled off, outermost first ("sudo", "xargs", "find-exec", "sh-c", ...).
    wrappers: tuple[str, ...] = ()
    #: Nesting depth: 0 top level; +1 inside $( ), backticks, sh -c, eval.
    depth: int = 0
    #: The text of substitutions ($( ), `...`, <( )) used in this command's words.
    substitutions: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The program's base name ("" for a bare redirection such as ``> file``)."""
        if not self.argv:
            return ""
        prog = self.argv[0]
        return prog.rsplit("/", 1)[-1] if "/" in prog else prog


# --------------------------------------------------------------------------- tokenizer

_W, _OP, _REDIR = 0, 1, 2
_PLAIN = re.compile(r"[^\s\\'\"$`<>|&;()]+")
_SPACE = re.compile(r"[ \t\r]+")
_REDIR_AT = re.compile(r"&>>|&>|>>|>\||>&|<<<|<<-|<<|<>|<&|>|<")
_OPS3 = ("&&", "||", "|&", ";;", ";&")
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")
_VARNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-]")

Token = tuple[int, str]


def _match_close(s: str, i: int, open_c: str = "(", close_c: str = ")") -> int:
    """Index of the bracket closing the one at ``s[i]``, skipping quotes; raises if none."""
    depth = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            j = s.find("'", i + 1)
            if j < 0:
                raise ParseError("unterminated single quote")
            i = j + 1
            continue
        if c == '"':
            i = _skip_dquote(s, i)
            continue
        if c == open_c:
            depth += 1
        elif c == close_c:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ParseError(f"unbalanced {open_c!r}")


def _skip_dquote(s: str, i: int) -> int:
    j = i + 1
    n = len(s)
    while j < n:
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == '"':
            return j + 1
        if c == "$" and s.startswith("$(", j):
            j = _match_close(s, j + 1) + 1
            continue
        j += 1
    raise ParseError("unterminated double quote")


def _backtick_end(s: str, i: int) -> int:
    j = i + 1
    n = len(s)
    while j < n:
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == "`":
            return j
        j += 1
    raise ParseError("unterminated backtick")


def _dollar(s: str, i: int, buf: list[str], subs: list[str]) -> int:
    """Consume an expansion starting at ``s[i] == '$'``; append its raw text to ``buf``."""
    nxt = s[i + 1 : i + 2]
    if nxt == "(":
        j = _match_close(s, i + 1)
        if s.startswith("$((", i):  # arithmetic: not a command
            buf.append(s[i : j + 1])
            return j + 1
        subs.append(s[i + 2 : j])
        buf.append(s[i : j + 1])
        return j + 1
    if nxt == "{":
        j = s.find("}", i)
        if j < 0:
            raise ParseError("unterminated ${")
        buf.append(s[i : j + 1])
        return j + 1
    if nxt == "'":  # ANSI-C quoting $'...'
        j = i + 2
        out: list[str] = []
        while j < len(s) and s[j] != "'":
            if s[j] == "\\" and j + 1 < len(s):
                esc = s[j + 1]
                out.append({"n": "\n", "t": "\t", "\\": "\\", "'": "'"}.get(esc, "\\" + esc))
                j += 2
                continue
            out.append(s[j])
            j += 1
        if j >= len(s):
            raise ParseError("unterminated $'")
        buf.append("".join(out))
        return j + 1
    m = _VARNAME.match(s, i + 1)
    if m:
        buf.append(s[i : m.end()])
        return m.end()
    buf.append("$")
    return i + 1


_SPECIAL = re.compile(r"[\\'\"$`<>|&;()#\n]")


def _tokenize(s: str, subs: list[str]) -> list[Token]:
    if not _SPECIAL.search(s):  # the common simple case: plain words only
        return [(_W, w) for w in s.split()]
    toks: list[Token] = []
    buf: list[str] = []
    in_word = False
    heredocs: list[tuple[int, str, bool]] = []  # (token index, delimiter, strip tabs)
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        m = _PLAIN.match(s, i)
        if m and not (c == "#" and not in_word):
            buf.append(m.group())
            in_word = True
            i = m.end()
            continue
        if c in " \t\r":
            if in_word:
                toks.append((_W, "".join(buf)))
                buf.clear()
                in_word = False
            i = _SPACE.match(s, i).end()  # type: ignore[union-attr]
            continue
        if c == "#":  # comment at a word start
            j = s.find("\n", i)
            i = n if j < 0 else j
            continue
        if c == "\\":
            if i + 1 < n:
                if s[i + 1] != "\n":
                    buf.append(s[i + 1])
                    in_word = True
            i += 2
            continue
        if c == "'":
            j = s.find("'", i + 1)
            if j < 0:
                raise ParseError("unterminated single quote")
            buf.append(s[i + 1 : j])
            in_word = True
            i = j + 1
            continue
        if c == '"':
            end = _skip_dquote(s, i)
            inner = s[i + 1 : end - 1]
            # Expansions inside double quotes stay raw; find nested command substitutions.
            k = 0
            out: list[str] = []
            while k < len(inner):
                ch = inner[k]
                if ch == "\\" and k + 1 < len(inner) and inner[k + 1] in '"\\$`\n':
                    if inner[k + 1] != "\n":
                        out.append(inner[k + 1])
                    k += 2
                elif ch == "$":
                    k = _dollar(inner, k, out, subs)
                elif ch == "`":
                    e = _backtick_end(inner, k)
                    subs.append(inner[k + 1 : e])
                    out.append(inner[k : e + 1])
                    k = e + 1
                else:
                    out.append(ch)
                    k += 1
            buf.append("".join(out))
            in_word = True
            i = end
            continue
        if c == "$":
            i = _dollar(s, i, buf, subs)
            in_word = True
            continue
        if c == "`":
            e = _backtick_end(s, i)
            subs.append(s[i + 1 : e])
            buf.append(s[i : e + 1])
            in_word = True
            i = e + 1
            continue
        if c in "<>" and s.startswith("(", i + 1):  # process substitution
            j = _match_close(s, i + 1)
            subs.append(s[i + 2 : j])
            buf.append(s[i : j + 1])
            in_word = True
            i = j + 1
            continue
        if c in "<>" or (c == "&" and s.startswith(">", i + 1)):
            rm = _REDIR_AT.match(s, i)
            assert rm is not None
            op = rm.group()
            if in_word:
                word = "".join(buf)
                buf.clear()
                in_word = False
                if word.isdigit():
                    op = word + op
                else:
                    toks.append((_W, word))
            toks.append((_REDIR, op))
            if op.endswith(("<<", "<<-")) and not op.endswith("<<<"):
                # The delimiter is the next word; remember to read the body at the newline.
                sm = _SPACE.match(s, rm.end())
                k = sm.end() if sm else rm.end()
                dm = re.compile(r"""(['"]?)([^\s'"<>|&;()]+)\1""").match(s, k)
                if not dm:
                    raise ParseError("heredoc without a delimiter")
                heredocs.append((len(toks), dm.group(2), op.endswith("-")))
                toks.append((_W, ""))
                i = dm.end()
                continue
            i = rm.end()
            continue
        # operators
        if in_word:
            toks.append((_W, "".join(buf)))
            buf.clear()
            in_word = False
        two = s[i : i + 2]
        if two in _OPS3:
            toks.append((_OP, two))
            i += 2
            continue
        if c == "\n" and heredocs:
            i += 1
            for idx, delim, strip in heredocs:
                body: list[str] = []
                while True:
                    if i >= n:
                        raise ParseError(f"heredoc {delim!r} is not terminated")
                    j = s.find("\n", i)
                    line = s[i:] if j < 0 else s[i:j]
                    i = n if j < 0 else j + 1
                    if (line.lstrip("\t") if strip else line) == delim:
                        break
                    body.append(line)
                toks[idx] = (_W, "\n".join(body))
            heredocs.clear()
            toks.append((_OP, "\n"))
            continue
        toks.append((_OP, c))
        i += 1
    if in_word:
        toks.append((_W, "".join(buf)))
    if heredocs:
        # A heredoc on the last line with no body: bash warns and reads nothing.
        pass
    return toks


# --------------------------------------------------------------------------- grammar

_SKIP_KEYWORDS = frozenset(
    {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time"}
)
_SEPARATORS = frozenset({";", "&", "&&", "||", "\n", ";;", ";&", "(", ")"})


class _Ctx:
    __slots__ = ("next_pipeline", "out")

    def __init__(self) -> None:
        self.out: list[SimpleCommand] = []
        self.next_pipeline = 0


def parse_command(command: str) -> list[SimpleCommand]:
    """All simple commands ``command`` would run, wrappers peeled, nested strings parsed.

    Raises :class:`ParseError` for what cannot be followed safely.
    """
    if len(command) > MAX_COMMAND_CHARS:
        raise ParseError("command is too long to check")
    ctx = _Ctx()
    _parse_into(command, ctx, 0, ())
    return ctx.out


def _parse_into(command: str, ctx: _Ctx, depth: int, wrappers: tuple[str, ...]) -> None:
    if depth > MAX_DEPTH:
        raise ParseError("commands nested too deeply")
    subs: list[str] = []
    toks = _tokenize(command, subs)
    pipeline = ctx.next_pipeline
    ctx.next_pipeline += 1
    stage = 0
    cur: SimpleCommand | None = None
    pending_redir: str | None = None
    skip_until_sep = False
    cmds: list[SimpleCommand] = []

    def finish() -> None:
        nonlocal cur
        if cur is not None and (cur.argv or cur.redirects):
            cmds.append(cur)
        cur = None

    for kind, text in toks:
        if kind == _OP:
            if pending_redir is not None:
                raise ParseError(f"redirection {pending_redir!r} has no target")
            if text == "(" and cur is not None and len(cur.argv) == 1 and not cur.redirects:
                cur = None  # function definition "name()": the body follows as commands
                skip_until_sep = True  # skip the ")"
                continue
            skip_until_sep = False
            finish()
            if text in ("|", "|&"):
                stage += 1
            else:
                pipeline = ctx.next_pipeline
                ctx.next_pipeline += 1
                stage = 0
            continue
        if skip_until_sep:
            continue
        if kind == _REDIR:
            if pending_redir is not None:
                raise ParseError(f"redirection {pending_redir!r} has no target")
            pending_redir = text
            if cur is None:
                cur = SimpleCommand([], pipeline=pipeline, stage=stage, depth=depth)
            continue
        if pending_redir is not None:
            assert cur is not None
            cur.redirects.append((pending_redir, text))
            pending_redir = None
            continue
        if cur is None or not cur.argv:
            if text in _SKIP_KEYWORDS:
                continue
            if text in ("for", "select", "function"):
                skip_until_sep = True
                continue
            if text == "case":
                raise ParseError("'case' statements are not checked")
            if _ASSIGN.match(text):
                if cur is None:
                    cur = SimpleCommand([], pipeline=pipeline, stage=stage, depth=depth)
                cur.assigns.append(text)
                continue
            if cur is None:
                cur = SimpleCommand([], pipeline=pipeline, stage=stage, depth=depth)
        cur.argv.append(text)
    if pending_redir is not None:
        raise ParseError(f"redirection {pending_redir!r} has no target")
    finish()

    for cmd in cmds:
        cmd.wrappers = wrappers
        _expand(cmd, ctx, depth)
    for sub in subs:
        _parse_into(sub, ctx, depth + 1, (*wrappers, "subst"))
    if subs:
        for cmd in cmds:
            cmd.substitutions = subs


# --------------------------------------------------------------------------- wrappers

_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash", "fish", "mksh"})
_SUDO_VALUE_OPTS = frozenset({"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T"})
_TIMEOUT_VALUE_OPTS = frozenset({"-s", "-k", "--signal", "--kill-after"})
_XARGS_VALUE_OPTS = frozenset({"-n", "-I", "-L", "-P", "-d", "-s", "-a", "-E", "-i", "-l"})
_SIMPLE_WRAPPERS = frozenset({"nohup", "setsid", "unbuffer", "chronic", "time", "caffeinate"})


def _expand(cmd: SimpleCommand, ctx: _Ctx, depth: int) -> None:
    """Peel wrappers off ``cmd`` and append what actually runs to ``ctx.out``."""
    argv = cmd.argv
    wrappers = list(cmd.wrappers)
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
            if "-c" in argv[1:-1]:
                script = argv[argv.index("-c") + 1]
                _emit(cmd, argv, wrappers, ctx)
                _parse_into(script, ctx, depth + 1, (*wrappers, "sh-c"))
                return
            argv = ["sh"]
            break
        elif prog == "env":
            i = 1
            while i < len(argv):
                a = argv[i]
                if a in ("-u", "--unset", "-C", "--chdir"):
                    i += 2
                elif a in ("-S", "--split-string"):
                    if i + 1 < len(argv):
                        argv = [*argv[i + 1].split(), *argv[i + 2 :]]
                        i = 0
                        break
                    i += 1
                elif a.startswith("-") or _ASSIGN.match(a):
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
                if len(a) == 2 and a[1] in "ncpoei":  # option with a separate value
                    i += 2
                else:
                    i += 1
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
                a = argv[i]
                i += 2 if a in _XARGS_VALUE_OPTS else 1
            argv = argv[i:] or ["echo"]
        elif prog in _SHELLS:
            c_script = _shell_c_script(argv)
            if c_script is None:
                break
            _emit(cmd, argv, wrappers, ctx)
            _parse_into(c_script, ctx, depth + 1, (*wrappers, "sh-c"))
            return
        elif prog == "eval":
            _emit(cmd, argv, wrappers, ctx)
            _parse_into(" ".join(argv[1:]), ctx, depth + 1, (*wrappers, "eval"))
            return
        elif prog == "find":
            _emit(cmd, argv, wrappers, ctx)
            roots = []
            for a in argv[1:]:
                if a.startswith("-") or a in ("(", "!"):
                    break
                roots.append(a)
            root = roots[0] if roots else "."
            i = 1
            while i < len(argv):
                if argv[i] in ("-exec", "-execdir", "-ok", "-okdir"):
                    j = i + 1
                    while j < len(argv) and argv[j] not in (";", "+"):
                        j += 1
                    if j > i + 1:
                        sub = SimpleCommand(
                            [root if a == "{}" else a for a in argv[i + 1 : j]],
                            pipeline=cmd.pipeline,
                            stage=cmd.stage,
                            depth=depth,
                        )
                        sub.wrappers = (*wrappers, "find-exec")
                        _expand(sub, ctx, depth)
                    i = j
                i += 1
            return
        else:
            break
    _emit(cmd, argv, wrappers, ctx)
    # A heredoc fed to a shell is a script.
    if argv and argv[0].rsplit("/", 1)[-1] in _SHELLS and len(argv) == 1:
        for op, body in cmd.redirects:
            if op.endswith(("<<", "<<-", "<<<")):
                _parse_into(body, ctx, depth + 1, (*wrappers, "sh-c"))


def _emit(cmd: SimpleCommand, argv: list[str], wrappers: list[str], ctx: _Ctx) -> None:
    if argv is not cmd.argv:
        cmd = SimpleCommand(
            argv,
            redirects=cmd.redirects,
            assigns=cmd.assigns,
            pipeline=cmd.pipeline,
            stage=cmd.stage,
            depth=cmd.depth,
            substitutions=cmd.substitutions,
        )
    cmd.wrappers = tuple(wrappers)
    ctx.out.append(cmd)


def _shell_c_script(argv: list[str]) -> str | None:
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
