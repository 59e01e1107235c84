"""The macOS Seatbelt profile, checked as text (sandbox-exec cannot run here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from responses_fast.sandbox import seatbelt_profile
from responses_fast.sandbox.layout import Layout
from responses_fast.sandbox.seatbelt import seatbelt_argv

WS = Path("/Users/me/project")
LAYOUT = Layout(
    WS,
    writable=(WS,),
    read_only=(WS / ".git",),
    hidden_dirs=(Path("/Users/me/.ssh"), Path("/Users/me/.aws")),
    hidden_files=(Path("/Users/me/.netrc"),),
)


def test_profile_denies_by_default_and_allows_reads() -> None:
    p = seatbelt_profile(LAYOUT, network=False, private_tmp=Path("/private/tmp/rf-x"))
    lines = p.splitlines()
    assert lines[:2] == ["(version 1)", "(deny default)"]
    assert "(allow file-read*)" in lines
    assert "(allow signal (target same-sandbox))" in lines


def test_writes_only_in_workspace_and_private_tmp_except_git() -> None:
    p = seatbelt_profile(LAYOUT, network=False, private_tmp=Path("/private/tmp/rf-x"))
    (write,) = [ln for ln in p.splitlines() if ln.startswith("(allow file-write*")]
    assert '(subpath "/Users/me/project")' in write
    assert '(subpath "/private/tmp/rf-x")' in write
    assert '(literal "/dev/null")' in write
    assert '(require-not (require-any (subpath "/Users/me/project/.git")))' in write
    assert '/Users/me"' not in write and '(subpath "/")' not in p


def test_secrets_are_denied_for_read_and_write() -> None:
    p = seatbelt_profile(LAYOUT, network=False, private_tmp=Path("/tmp/x"))
    (deny,) = [ln for ln in p.splitlines() if ln.startswith("(deny file-read*")]
    assert '(subpath "/Users/me/.ssh")' in deny and '(subpath "/Users/me/.aws")' in deny
    assert '(literal "/Users/me/.netrc")' in deny
    # The deny comes after the broad read allow: in SBPL the last matching rule wins.
    assert p.index("(deny file-read*") > p.index("(allow file-read*)")


def test_network_rules() -> None:
    off = seatbelt_profile(LAYOUT, network=False, private_tmp=Path("/tmp/x"))
    on = seatbelt_profile(LAYOUT, network=True, private_tmp=Path("/tmp/x"))
    assert "network" not in off  # nothing, not even unix sockets (docker.sock)
    assert "(allow network*)" in on
    assert '(deny network-outbound (remote unix-socket (path-literal "/Users/me/.netrc")))' in on


def test_read_only_layout_has_no_workspace_write() -> None:
    ro = Layout(WS, writable=(), read_only=(), hidden_dirs=(), hidden_files=())
    p = seatbelt_profile(ro, network=False, private_tmp=Path("/tmp/x"))
    assert "/Users/me/project" not in p


def test_quoting_and_bad_paths() -> None:
    odd = Layout(Path('/w/a"b\\c'), (Path('/w/a"b\\c'),), (), (), ())
    p = seatbelt_profile(odd, network=False, private_tmp=Path("/tmp/x"))
    assert '(subpath "/w/a\\"b\\\\c")' in p
    with pytest.raises(ValueError):
        seatbelt_profile(Layout(WS, (Path("/w/a\nb"),), (), (), ()), network=False,
                         private_tmp=Path("/tmp/x"))  # fmt: skip


def test_argv() -> None:
    assert seatbelt_argv("(version 1)", ["ls"]) == [
        "/usr/bin/sandbox-exec", "-p", "(version 1)", "--", "ls"
    ]  # fmt: skip
