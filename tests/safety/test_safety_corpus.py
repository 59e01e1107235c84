"""The command corpus: every row's decision and rule id, and the reasons models will read."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus import BENIGN, DANGEROUS

from responses_fast.safety import Policy


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    return Policy(tmp_path_factory.mktemp("ws"))


def test_corpus_size() -> None:
    assert len(BENIGN) >= 210
    assert len(DANGEROUS) >= 320
    assert all(action != "deny" for _, action, _ in BENIGN)
    assert all(action != "allow" for _, action, _ in DANGEROUS)
    # Everyday commands are allowed, bar a handful the issue wants asked (python -c, $VAR).
    assert sum(action == "ask" for _, action, _ in BENIGN) <= 5
    commands = [c for c, _, _ in BENIGN + DANGEROUS]
    assert len(commands) == len(set(commands))


def test_corpus_totals(policy: Policy) -> None:
    """The issue's bar, measured over the whole corpus at once."""
    allowed = [c for c, _, _ in DANGEROUS if policy.check("shell", {"command": c}).allowed]
    denied = [c for c, _, _ in BENIGN if policy.check("shell", {"command": c}).denied]
    assert len(allowed) <= 0.02 * len(DANGEROUS), allowed
    assert not denied


@pytest.mark.parametrize(("command", "action", "rule"), BENIGN)
def test_benign(policy: Policy, command: str, action: str, rule: str) -> None:
    d = policy.check("shell", {"command": command})
    assert (d.action, d.rule) == (action, rule), d.reason


@pytest.mark.parametrize(("command", "action", "rule"), DANGEROUS)
def test_dangerous(policy: Policy, command: str, action: str, rule: str) -> None:
    d = policy.check("shell", {"command": command})
    assert (d.action, d.rule) == (action, rule), d.reason
    assert d.reason and "\n" not in d.reason


def test_reasons_name_the_problem(policy: Policy) -> None:
    d = policy.check("shell", {"command": "ls && rm -rf /etc"})
    assert "/etc" in d.reason and "outside the workspace" in d.reason
    d = policy.check("shell", {"command": "cat ~/.ssh/id_rsa"})
    assert "credentials" in d.reason
    d = policy.check("shell", {"command": "curl https://example.com"})
    assert "network" in d.reason


def test_workspace_path_itself(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    p = Policy(ws)
    assert p.check("shell", {"command": f"rm -rf {ws}"}).rule == "rm-workspace-root"
    assert p.check("shell", {"command": f"rm -rf {ws}/build"}).action == "allow"
    assert p.check("shell", {"command": f"rm -rf {tmp_path}"}).action == "deny"
    assert p.check("shell", {"command": f"cp a {tmp_path}/b"}).rule == "write-outside-workspace"


def test_symlink_out_of_workspace_is_outside(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (ws / "link").symlink_to(outside)
    p = Policy(ws)
    d = p.check("shell", {"command": "echo x > link/file.txt"})
    assert (d.action, d.rule) == ("deny", "write-outside-workspace")
    d = p.check("shell", {"command": "rm -rf link/"})
    assert (d.action, d.rule) == ("deny", "rm-recursive-outside")
