"""Safety: the tool-call policy, shell command parsing, workspace confinement and redaction.

Pure and synchronous (the standard library plus tree-sitter's bash grammar); a check takes
microseconds.
"""

from .commands import ParseError, SimpleCommand, parse_command
from .decision import Decision
from .paths import PathEscapeError, SecretMatcher, Workspace
from .policy import Check, Policy
from .redact import Redacted, redact
from .rules import DEFAULT_RULES, Action, Rules, load_rules

__all__ = [
    "DEFAULT_RULES",
    "Action",
    "Check",
    "Decision",
    "ParseError",
    "PathEscapeError",
    "Policy",
    "Redacted",
    "Rules",
    "SecretMatcher",
    "SimpleCommand",
    "Workspace",
    "load_rules",
    "parse_command",
    "redact",
]
