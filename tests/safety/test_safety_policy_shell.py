"""Policy.check on hostile input, argv lists, the sandboxed flag, and links already in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from responses_fast.safety import Policy


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    return Policy(tmp_path)


# --------------------------------------------------------------------------- never raises


@pytest.mark.parametrize(
    ("arguments", "action", "rule"),
    [
        ({"command": "ls\x00 -la"}, "deny", "nul-byte"),
        ({"command": ["ls", "a\x00b"]}, "deny", "nul-byte"),
        ({"command": "x" * 200_000}, "ask", "unparseable"),
        ({"command": "echo 'x"}, "ask", "unparseable"),
        ({"command": "ls \udcff"}, "ask", "unparseable"),  # a lone surrogate from bad JSON
        ({"command": None}, "ask", "unparseable"),
        ({"command": 42}, "ask", "unparseable"),
        ({"command": b"ls"}, "ask", "unparseable"),
        ({"command": []}, "ask", "unparseable"),
        ({"command": ["ls", 3]}, "ask", "unparseable"),
        ({"command": {"a": 1}}, "ask", "unparseable"),
        ({}, "ask", "unparseable"),
    ],
)
def test_bad_shell_input_gets_a_decision(
    policy: Policy, arguments: dict[str, Any], action: str, rule: str
) -> None:
    d = policy.check("shell", arguments)
    assert (d.action, d.rule) == (action, rule), d.reason
    assert d.reason and "\n" not in d.reason


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("read_file", {"path": "a\x00b"}),
        ("read_file", {"path": 7}),
        ("shell", "not a mapping"),
        (None, {}),
    ],
)
def test_other_bad_calls_get_a_decision(policy: Policy, tool: Any, arguments: Any) -> None:
    d = policy.check(tool, arguments)
    assert d.action in ("ask", "deny") and d.reason


def test_nul_in_a_path_is_denied(policy: Policy) -> None:
    assert policy.check("read_file", {"path": "a\x00b"}).rule == "nul-byte"


_ALPHABET = [*"ab rm-f/.~$()`'\"|&;<>\\{}*#=\n\t!,[]:0", "\x00", "$'", "<<", "EOF"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_ALPHABET), max_size=40).map("".join))
def test_check_never_raises_on_shell_text(command: str) -> None:
    d = _FUZZ.check("shell", {"command": command})
    assert d.action in ("allow", "ask", "deny") and d.rule and "\n" not in d.reason
    assert d.rule != "unparseable" or "could not check" not in d.reason  # no internal error


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=5))
def test_check_never_raises_on_argv_lists(argv: list[str]) -> None:
    d = _FUZZ.check("shell", {"command": argv})
    assert d.action in ("allow", "ask", "deny") and "could not check" not in d.reason


_FUZZ = Policy("/nonexistent/rf-fuzz-workspace")


# --------------------------------------------------------------------------- argv lists


@pytest.mark.parametrize(
    ("argv", "action", "rule"),
    [
        (["ls", "-la"], "allow", "read-only"),
        (["bash", "-lc", "git status && ls"], "allow", "read-only"),
        (["bash", "-lc", "rm -rf /"], "deny", "rm-recursive-outside"),
        (["zsh", "-lc", "cat ~/.ssh/id_rsa"], "deny", "secret-read"),
        (["rm", "-rf", "/"], "deny", "rm-recursive-outside"),
        # No shell runs an argv list: "$(x)" and "*" are plain characters, not expansions.
        (["echo", "$(rm -rf /)"], "allow", "read-only"),
        (["curl", "https://x"], "deny", "network"),
        (["python3", "-c", "print(1)"], "ask", "inline-code"),
    ],
)
def test_argv_list_commands(policy: Policy, argv: list[str], action: str, rule: str) -> None:
    d = policy.check("shell", {"command": argv})
    assert (d.action, d.rule) == (action, rule), d.reason
    assert policy.check_command(argv) == d


# --------------------------------------------------------------------------- sandboxed


def test_unsandboxed_asks_for_everything_not_read_only(tmp_path: Path) -> None:
    p = Policy(tmp_path, sandboxed=False)
    assert p.sandboxed is False and Policy(tmp_path).sandboxed is True
    assert p.check("shell", {"command": "git status"}).action == "allow"
    assert p.check("shell", {"command": "ls | wc -l"}).action == "allow"
    for command in ("pytest", "./gradlew test", "make test", "touch a", "git commit -m x"):
        d = p.check("shell", {"command": command})
        assert (d.action, d.rule) == ("ask", "unsandboxed"), command
        assert "sandbox" in d.reason
    assert p.check("shell", {"command": "rm -rf /"}).action == "deny"  # stricter rules stay


def test_project_scripts_run_in_the_sandbox(policy: Policy) -> None:
    for command in ("./gradlew test", "./scripts/test.sh", "bin/run --fast"):
        assert policy.check("shell", {"command": command}).rule == "workspace-command"
    assert policy.check("shell", {"command": "/tmp/x.sh"}).rule == "unknown-command"
    assert policy.check("shell", {"command": "../other/run.sh"}).rule == "unknown-command"


# --------------------------------------------------------------------------- real links


@pytest.fixture
def linked(tmp_path: Path) -> Policy:
    """A workspace holding ``l -> ../outside`` (a link made before the agent ran)."""
    ws = tmp_path / "ws"
    (ws / "dir").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "victim").write_text("canary")
    (tmp_path / "dir").mkdir()
    (ws / "l").symlink_to("../outside")
    return Policy(ws)


@pytest.mark.parametrize(
    ("command", "action", "rule"),
    [
        # The kernel resolves l/.. to the parent of l's target, not to the workspace.
        ("echo x > l/../victim", "deny", "write-outside-workspace"),
        ("rm -rf l/../dir", "deny", "rm-recursive-outside"),
        ("cp a l/../victim", "deny", "write-outside-workspace"),
        ("cat l/../victim", "allow", "read-only"),
        ("echo x > l/file", "deny", "write-outside-workspace"),
        ("cd l && touch x", "deny", "write-outside-workspace"),
        ("cd l/.. && touch x", "allow", "workspace-command"),  # cd -L: back in the workspace
        ("echo x > dir/../ok.txt", "allow", "workspace-command"),
        ("rm -rf dir/..", "ask", "rm-workspace-root"),
    ],
)
def test_links_already_in_the_workspace(
    linked: Policy, command: str, action: str, rule: str
) -> None:
    d = linked.check("shell", {"command": command})
    assert (d.action, d.rule) == (action, rule), d.reason


def test_hard_and_symbolic_links_out_ask(policy: Policy) -> None:
    for command in ("ln ~/.bashrc b", "ln -s -t . /etc", "cp -s /etc/hosts h", "cp -l /etc/x y"):
        d = policy.check("shell", {"command": command})
        assert (d.action, d.rule) == ("ask", "symlink-outside"), command
    assert policy.check("shell", {"command": "ln -s src/a.py b.py"}).action == "allow"
