"""The rule catalogue, its default actions, and the rules file.

Every decision the policy makes names one rule id from :data:`DEFAULT_RULES`. A rules file (TOML)
or the Python API changes a rule's action, classifies whole commands, sets actions per tool, and
adds secret paths and writable folders. See docs/safety.md for the format.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

__all__ = ["ACTIONS", "DEFAULT_RULES", "Action", "Rules", "load_rules"]

Action = Literal["allow", "ask", "deny"]
ACTIONS: tuple[Action, ...] = ("allow", "ask", "deny")

#: rule id -> (default action, what it covers). The policy's decisions name these ids.
DEFAULT_RULES: dict[str, tuple[Action, str]] = {
    "read-only": ("allow", "known read-only commands (ls, cat, grep, git status, ...)"),
    "workspace-command": ("allow", "known commands whose effects stay in the workspace"),
    "unknown-command": ("ask", "a program the policy does not know"),
    "unparseable": ("ask", "a command line the parser cannot follow"),
    "nul-byte": ("deny", "a NUL byte in a command or argument (the kernel would cut it there)"),
    "unsandboxed": ("ask", "without an OS sandbox: anything that is not read-only"),
    "shell-expansion": ("ask", "words known only when the shell runs: $VAR, $(...), $'..', {a,b}"),
    "shell-function": ("ask", "function and alias definitions (a name then runs other code)"),
    "inline-code": ("ask", "code the policy cannot read: python -c, eval, source, bash -s <<EOF"),
    "command-flag": ("ask", "flags that make a known program run code (git -c, rg --pre, sed e)"),
    "sudo": ("ask", "sudo, doas, su: running with elevated privileges"),
    "fork-bomb": ("deny", "fork bombs such as :(){ :|:& };:"),
    "rm-recursive-outside": ("deny", "recursive delete of /, ~, system folders or outside paths"),
    "rm-workspace-root": ("ask", "recursive delete of the whole workspace (rm -rf . / *)"),
    "write-outside-workspace": ("deny", "shell writes (cp, mv, rm, tee, >, ...) outside"),
    "path-outside-workspace": ("deny", "file tools and patches naming paths outside"),
    "symlink-outside": ("ask", "ln -s to a target outside the workspace (a way out for writes)"),
    "dynamic-path": ("ask", "a written path that depends on $VAR or $(...)"),
    "write-device": ("deny", "writing to a device (> /dev/sda, dd of=/dev/...)"),
    "disk-format": ("deny", "mkfs, fdisk, parted, wipefs, mkswap"),
    "chmod-recursive-system": ("deny", "chmod/chown -R on system paths"),
    "git-push-force": ("deny", "git push --force / -f / --force-with-lease / +refspec"),
    "git-reset-hard": ("ask", "git reset --hard discards uncommitted work"),
    "git-clean": ("ask", "git clean -f deletes untracked files"),
    "download-to-shell": ("deny", 'curl ... | sh, bash <(curl ...), sh -c "$(wget -O- ...)"'),
    "shell-stdin": ("ask", "piping text into a shell interpreter"),
    "shutdown": ("deny", "shutdown, reboot, halt, poweroff, init 0/6"),
    "kill-all": ("deny", "kill -9 -1 and friends: killing every process"),
    "secret-read": ("deny", "reading credentials (~/.ssh, .env, ~/.aws/credentials, ...)"),
    "network": ("deny", "network tools when networking is off (curl, ssh, pip install, ...)"),
    "git-internals-write": ("ask", "patches and shell commands that write inside .git/"),
    "unknown-tool": ("allow", "custom tools without a per-tool setting"),
}


def _action(value: Any, where: str) -> Action:
    if value not in ACTIONS:
        raise ValueError(f"{where}: action must be one of allow, ask, deny (got {value!r})")
    return cast(Action, value)


@dataclass(slots=True)
class Rules:
    """User settings layered over the defaults (all optional)."""

    #: rule id -> action, overriding :data:`DEFAULT_RULES`.
    actions: dict[str, Action] = field(default_factory=dict)
    #: command prefix ("terraform", "git push", "npm publish") -> action.
    commands: dict[str, Action] = field(default_factory=dict)
    #: tool name -> action (custom tools; for built-in tools a floor, never a loosening).
    tools: dict[str, Action] = field(default_factory=dict)
    #: extra secret path globs ("~/.vault-token", "*.secret").
    secret_paths: list[str] = field(default_factory=list)
    #: extra folders shell commands may write to ("/tmp").
    writable_roots: list[str] = field(default_factory=list)
    #: None: leave the Policy's ``network`` argument alone.
    network: bool | None = None

    def __post_init__(self) -> None:
        for rule, act in self.actions.items():
            if rule not in DEFAULT_RULES:
                known = ", ".join(DEFAULT_RULES)
                raise ValueError(f"unknown rule id {rule!r}; known rules: {known}")
            _action(act, f"rule {rule!r}")
        for table in (self.commands, self.tools):
            for key, act in table.items():
                _action(act, repr(key))
        self.commands = {" ".join(k.split()): v for k, v in self.commands.items()}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Rules:
        """Build from the parsed rules file (the ``[safety]`` table or the whole document)."""
        if "safety" in data and isinstance(data["safety"], Mapping):
            data = data["safety"]
        known = {"policy", "rules", "commands", "tools", "secrets"}
        extra = set(data) - known
        if extra:
            raise ValueError(f"unknown table(s) {sorted(extra)} in rules; expected {sorted(known)}")
        pol = dict(data.get("policy", {}))
        network = pol.pop("network", None)
        writable = list(pol.pop("writable_roots", []))
        actions: dict[str, Action] = {}
        # Shorthands in [policy]: unknown_command = "allow", unknown_tool = "ask", sudo = "deny".
        for key, value in pol.items():
            actions[key.replace("_", "-")] = _action(value, f"[policy] {key}")
        for key, value in dict(data.get("rules", {})).items():
            actions[key] = _action(value, f"[rules] {key}")
        secrets = dict(data.get("secrets", {}))
        if network is not None and not isinstance(network, bool):
            raise ValueError("[policy] network must be true or false")
        return cls(
            actions=actions,
            commands={
                k: _action(v, f"[commands] {k}") for k, v in data.get("commands", {}).items()
            },
            tools={k: _action(v, f"[tools] {k}") for k, v in data.get("tools", {}).items()},
            secret_paths=[str(p) for p in secrets.get("paths", [])],
            writable_roots=[str(p) for p in writable],
            network=network,
        )

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Rules:
        """Load a rules file (``responses_fast.toml`` or any TOML file with the tables above)."""
        with open(path, "rb") as f:
            data = tomllib.load(f)
        try:
            return cls.from_mapping(data)
        except ValueError as exc:
            raise ValueError(f"{os.fspath(path)}: {exc}") from None


def load_rules(path: str | os.PathLike[str]) -> Rules:
    """Read a rules file; see :meth:`Rules.from_toml`."""
    return Rules.from_toml(path)
