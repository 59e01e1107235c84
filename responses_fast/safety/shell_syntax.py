"""What the shell parser returns: simple commands, the functions a script defines, errors."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["MAX_COMMAND_CHARS", "MAX_DEPTH", "FunctionDef", "ParseError", "Script", "SimpleCommand"]

#: Nesting of ``sh -c`` / ``eval`` / substitutions followed before giving up.
MAX_DEPTH = 6
#: Longest command line parsed; longer ones are not checked (the policy asks).
MAX_COMMAND_CHARS = 100_000


class ParseError(ValueError):
    """The command line uses something the parser cannot follow safely."""


@dataclass(slots=True)
class SimpleCommand:
    """One program invocation after wrappers are peeled off."""

    argv: list[str]
    #: Redirections as ``(operator, target)``; a here-document's target is its body.
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
    #: Non-literal constructs in its words: "parameter", "command", "process", "arithmetic",
    #: "ansi-c", "brace". Empty for a plain command.
    expansions: frozenset[str] = frozenset()
    #: The folders it may run in (absolute, or relative to the parse's start); None: unknown.
    cwds: tuple[str | None, ...] = (".",)

    @property
    def name(self) -> str:
        """The program's base name ("" for a bare redirection such as ``> file``)."""
        if not self.argv:
            return ""
        prog = self.argv[0]
        return prog.rsplit("/", 1)[-1] if "/" in prog else prog

    @property
    def plain(self) -> bool:
        """Only literal words (what Codex calls a plain command)."""
        return not self.expansions


@dataclass(slots=True)
class FunctionDef:
    """A shell function the script defines; ``recursive_bg``: it runs itself in a pipe or ``&``."""

    name: str
    recursive_bg: bool


@dataclass(slots=True)
class Script:
    """Everything a command line would run, plus the functions it defines."""

    commands: list[SimpleCommand]
    functions: list[FunctionDef]
