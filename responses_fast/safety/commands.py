"""Shell command parsing on the bash grammar: a command line -> the simple commands it would run.

The syntax tree comes from tree-sitter and its bash grammar (the parser Codex uses); this module
walks it. Every simple command is returned in source order, however deeply it is nested
(pipelines, lists, subshells, groups, ``if``/``while``/``for``/``case``, function bodies,
``$( )``, backticks, ``<( )``, here-doc bodies), with:

* ``argv``: the words' values: quotes removed, ``$'...'`` decoded, ``{a,b}`` expanded; a word
  holding a parameter expansion or substitution keeps its raw text (it contains ``$`` or a
  backtick, so checks can tell it is not literal);
* ``expansions``: which non-literal constructs its words used. Codex accepts as "plain" only bare
  words and quoted strings without expansions; anything else is listed here so the policy can ask;
* ``cwds``: every folder the command may run in. ``cd`` is followed without assuming it
  succeeds (``cd x; rm *`` may run in either folder; only ``cd x && rm *`` is sure to be in ``x``),
  and a ``cd`` inside a subshell, pipeline stage or substitution does not leak out.

Wrappers are peeled (``sudo``, ``env``, ``nohup``, ``timeout N``, ``nice``, ``xargs``, ``exec``,
``command``, ...), ``sh -c``/``bash -lc`` scripts, ``eval`` strings and here-documents or
here-strings fed to a shell are parsed recursively, and ``find -exec ... ;`` yields the command
it runs. What the grammar rejects, or nesting deeper than :data:`MAX_DEPTH`, raises
:class:`ParseError`; the policy turns that into "ask".
"""

from __future__ import annotations

import re

from .shell_syntax import (
    MAX_COMMAND_CHARS,
    MAX_DEPTH,
    FunctionDef,
    ParseError,
    Script,
    SimpleCommand,
)
from .shell_walk import Walker

__all__ = [
    "MAX_COMMAND_CHARS",
    "MAX_DEPTH",
    "FunctionDef",
    "ParseError",
    "Script",
    "SimpleCommand",
    "command_from_argv",
    "parse_command",
    "parse_script",
]


#: Lines of plain words (Codex's term: bare words and quoted strings without expansions) in
#: at most a pipeline: no ``$``, backtick, backslash, operator other than ``|``, brace, glob
#: class, comment or newline. Bash gives such a line exactly the words the quotes delimit, so
#: the grammar is not needed (a test checks both agree on the whole corpus).
_PLAIN_CHARS = re.compile(r"""[^$`\\;&<>(){}\[\]#!\n\r]*""")
_PIECE = re.compile(r"""'([^']*)'|"([^"]*)"|([^\s'"|]+)|(\|)|([ \t]+)""")
_RESERVED = frozenset(
    "if then else elif fi do done case esac while until for in function select time coproc".split()
)


def plain_pipeline(command: str) -> list[list[str]] | None:
    """The argv of each stage of a pipeline of plain words, or None when the grammar is needed."""
    if not _PLAIN_CHARS.fullmatch(command):
        return None
    stages: list[list[str]] = [[]]
    in_word = False
    pos, end = 0, len(command)
    while pos < end:
        m = _PIECE.match(command, pos)
        if m is None:  # an unbalanced quote
            return None
        pos = m.end()
        single, double, bare, pipe, _space = m.groups()
        if pipe is not None:
            if not stages[-1] or command.startswith("|", pos):  # `| x`, `a ||`, `a |& b`
                return None
            stages.append([])
            in_word = False
        elif _space is not None:
            in_word = False
        else:
            piece = single if single is not None else double if double is not None else bare
            assert piece is not None
            if in_word:
                stages[-1][-1] += piece
            else:
                stages[-1].append(piece)
                in_word = True
    for argv in stages:
        if not argv or "=" in argv[0] or argv[0] in _RESERVED:
            return None
    return stages


def plain_argv(command: str) -> list[str] | None:
    """The words of a single plain command (no pipeline), or None."""
    stages = plain_pipeline(command)
    return stages[0] if stages is not None and len(stages) == 1 else None


def parse_script(command: str, cwd: str = ".") -> Script:
    """Parse ``command`` (starting in ``cwd``); raises :class:`ParseError`."""
    if len(command) > MAX_COMMAND_CHARS:
        raise ParseError("command is too long to check")
    if "\x00" in command:
        raise ParseError("command holds a NUL byte")
    walker = Walker()
    stages = plain_pipeline(command)
    if stages is not None:
        if not command.isascii():
            try:
                command.encode("utf-8")
            except UnicodeEncodeError:
                raise ParseError("the command is not valid text (a lone surrogate)") from None
        for i, argv in enumerate(stages):
            walker.finish(SimpleCommand(argv, pipeline=1, stage=i, cwds=(cwd,)), ())
        return Script(walker.out, walker.functions)
    walker.text(command, (cwd,), 0, ())
    return Script(walker.out, walker.functions)


def parse_command(command: str) -> list[SimpleCommand]:
    """All simple commands ``command`` would run, wrappers peeled, nested scripts parsed.

    Raises :class:`ParseError` for what cannot be followed safely.
    """
    return parse_script(command).commands


def command_from_argv(argv: list[str], cwd: str = ".") -> Script:
    """An argv list run without a shell (``["ls", "-la"]``) as a script of one command.

    ``["bash", "-lc", SCRIPT]`` parses SCRIPT, like any ``sh -c`` command line.
    """
    if any("\x00" in a for a in argv):
        raise ParseError("an argument holds a NUL byte")
    if sum(len(a) for a in argv) > MAX_COMMAND_CHARS:
        raise ParseError("command is too long to check")
    walker = Walker()
    if argv:
        walker.finish(SimpleCommand(list(argv), cwds=(cwd,)), ())
    return Script(walker.out, walker.functions)
