"""The tool-call policy: ``Policy.check(tool_name, arguments) -> Decision`` before every call.

Pure and synchronous; a check takes microseconds (see benchmarks/bench_safety.py). Built-in tools
are checked by their arguments (``shell``: the parsed command; ``read_file``/``list_files``/
``search_files``: the path; ``apply_patch``: every path in the envelope); other tools get the
action set for their name, or the ``unknown-tool`` rule. Custom checks added with
:meth:`Policy.add_check` run after the built-in ones; the strictest decision wins.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .decision import RANK, Decision
from .patch_text import PatchTextError, header_path, patch_lines
from .paths import DEFAULT_SECRET_PATTERNS, SecretMatcher, Workspace
from .rules import DEFAULT_RULES, Action, Rules
from .shell_rules import ShellChecker

__all__ = ["Check", "Policy"]

#: A custom check: return a Decision to weigh in, or None to abstain.
Check = Callable[[str, Mapping[str, Any]], Decision | None]

# A ".git" folder (the workspace's or a nested repository's) or anything below it; any case, for
# case-insensitive file systems (macOS).
_GIT_DIR = re.compile(r"(?:^|/)\.git(?:/|$)", re.I)
_READ_TOOLS = frozenset({"read_file", "list_files", "search_files"})


class Policy:
    """Decides allow / ask / deny for each tool call.

    Args:
        workspace: the folder tools are confined to (default: the current folder).
        network: whether network tools are allowed (curl, pip install, git fetch, ...).
        rules: a :class:`Rules`, or a path to a rules file (TOML), or None for the defaults.
    """

    def __init__(
        self,
        workspace: str | os.PathLike[str] | None = None,
        *,
        network: bool = False,
        rules: Rules | str | os.PathLike[str] | None = None,
    ) -> None:
        if rules is None:
            rules = Rules()
        elif not isinstance(rules, Rules):
            rules = Rules.from_toml(rules)
        # A private copy: the set_* methods must not change a Rules object the caller shares.
        self._rules = Rules(
            actions=dict(rules.actions),
            commands=dict(rules.commands),
            tools=dict(rules.tools),
            secret_paths=list(rules.secret_paths),
            writable_roots=list(rules.writable_roots),
            network=rules.network,
        )
        self._root = os.fspath(workspace) if workspace is not None else os.getcwd()
        self.network = rules.network if rules.network is not None else network
        self._checks: list[Check] = []
        self._rebuild()

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        workspace: str | os.PathLike[str] | None = None,
        *,
        network: bool = False,
    ) -> Policy:
        """A policy with the settings of a rules file."""
        return cls(workspace, network=network, rules=Rules.from_toml(path))

    # ------------------------------------------------------------------ configuration API

    @property
    def workspace(self) -> Path:
        return Path(self._ws.root)

    @property
    def rules(self) -> Rules:
        return self._rules

    def rule_action(self, rule: str) -> Action:
        """The action a rule id currently maps to."""
        return self._actions[rule]

    def set_rule(self, rule: str, action: Action) -> None:
        """Change the action of a built-in rule (ids in :data:`DEFAULT_RULES`)."""
        self._rules.actions[rule] = action
        self._rules.__post_init__()
        self._rebuild()

    def set_command(self, prefix: str, action: Action) -> None:
        """Classify a command by prefix ("terraform", "git push", "npm publish").

        The longest matching prefix replaces the built-in classification of that command
        (known / unknown / network); the destructive, secret and path rules still apply.
        """
        self._rules.commands[prefix] = action
        self._rules.__post_init__()
        self._rebuild()

    def set_tool(self, name: str, action: Action) -> None:
        """Set the action for a tool name (custom tools; a floor for the built-in tools)."""
        self._rules.tools[name] = action
        self._rules.__post_init__()

    def add_secret_paths(self, *patterns: str) -> None:
        """More secret path globs ("~/.vault-token", "*.secret", "/srv/keys/*")."""
        self._rules.secret_paths.extend(patterns)
        self._rebuild()

    def add_writable_root(self, path: str | os.PathLike[str]) -> None:
        """A folder outside the workspace that shell commands may write to."""
        self._rules.writable_roots.append(os.fspath(path))
        self._rebuild()

    def add_check(self, check: Check) -> None:
        """A custom check called for every tool call after the built-in ones."""
        self._checks.append(check)

    def _rebuild(self) -> None:
        actions: dict[str, Action] = {rule: act for rule, (act, _) in DEFAULT_RULES.items()}
        actions.update(self._rules.actions)
        self._actions = actions
        self._ws = Workspace(self._root, self._rules.writable_roots)
        self._file_ws = Workspace(self._root)
        self._secrets = SecretMatcher((*DEFAULT_SECRET_PATTERNS, *self._rules.secret_paths))
        self._shell = ShellChecker(
            self._ws, self._secrets, actions, self._rules.commands, self.network
        )

    # ------------------------------------------------------------------ checking

    def check(self, tool_name: str, arguments: Mapping[str, Any]) -> Decision:
        """The decision for one tool call; never raises for bad arguments (they ask)."""
        if tool_name == "shell":
            command = arguments.get("command")
            if not isinstance(command, str):
                d = Decision(self._actions["unparseable"], "shell needs a string 'command'",
                             "unparseable")  # fmt: skip
            else:
                d = self._shell.check(command)
        elif tool_name in _READ_TOOLS:
            d = self.check_read_path(arguments.get("path", "."))
        elif tool_name == "apply_patch":
            d = self.check_patch(arguments.get("patch"))
        else:
            act = self._rules.tools.get(tool_name)
            if act is None:
                act = self._actions["unknown-tool"]
                d = Decision(act, f"{tool_name} is a custom tool", "unknown-tool")
            else:
                d = Decision(act, f"{tool_name} is set to {act} by the rules", f"tool:{tool_name}")
            return self._custom(tool_name, arguments, d)
        floor = self._rules.tools.get(tool_name)
        if floor is not None and RANK[floor] > RANK[d.action]:
            d = Decision(floor, f"{tool_name} is set to {floor} by the rules", f"tool:{tool_name}")
        return self._custom(tool_name, arguments, d)

    def _custom(self, tool_name: str, arguments: Mapping[str, Any], d: Decision) -> Decision:
        for check in self._checks:
            extra = check(tool_name, arguments)
            if extra is not None and RANK[extra.action] > RANK[d.action]:
                d = extra
        return d

    def check_command(self, command: str) -> Decision:
        """The decision for a shell command line."""
        return self._shell.check(command)

    def check_read_path(self, path: Any) -> Decision:
        """A path a read tool will open: inside the workspace and not a secret."""
        if path is None:
            path = "."
        if not isinstance(path, str):
            return Decision(self._actions["unparseable"], "path must be a string", "unparseable")
        if self._secrets.is_secret(path, self._ws.root):
            return Decision(self._actions["secret-read"], f"{path} holds credentials",
                            "secret-read")  # fmt: skip
        if not self._file_ws.contains(path):
            return Decision(
                self._actions["path-outside-workspace"],
                f"{path} is outside the workspace {self._ws.root}",
                "path-outside-workspace",
            )
        return Decision(self._actions["read-only"], "reads inside the workspace", "read-only")

    def check_patch(self, patch: Any) -> Decision:
        """Every path an apply_patch envelope adds, updates, deletes or moves to.

        The lines and paths are read with :mod:`.patch_text`, the rule the patch parser uses too,
        so a header the parser would act on is always one the policy saw. Text that rule refuses
        (NUL bytes, line breaks other than ``\\n``/``\\r\\n``, control characters in a path) is
        "unparseable": the parser refuses it as well.
        """
        if not isinstance(patch, str):
            return Decision(self._actions["unparseable"], "patch must be a string", "unparseable")
        best = Decision(self._actions["workspace-command"], "patch edits the workspace",
                        "workspace-command")  # fmt: skip
        try:
            lines = patch_lines(patch)
            headers = [h for h in map(header_path, lines) if h is not None]
        except PatchTextError as exc:
            return Decision(self._actions["unparseable"], f"patch: {exc}", "unparseable")
        for op, path in headers:
            if not self._file_ws.contains(path):
                return Decision(
                    self._actions["path-outside-workspace"],
                    f"{op}: {path} is outside the workspace {self._ws.root}",
                    "path-outside-workspace",
                )
            rel = os.path.relpath(self._file_ws.absolute(path), self._ws.root)
            if _GIT_DIR.search(rel):
                best = Decision(self._actions["git-internals-write"],
                                f"{op}: {path} is inside .git/", "git-internals-write"
                                ).stricter(best)  # fmt: skip
        return best
