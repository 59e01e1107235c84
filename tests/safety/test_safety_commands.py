"""The shell parser: what runs, after quoting, wrappers and nesting."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from responses_fast.safety import ParseError, Policy, parse_command


def argvs(command: str) -> list[list[str]]:
    return [c.argv for c in parse_command(command)]


def test_operators_split_commands() -> None:
    assert argvs("a 1 && b 2 || c; d & e\nf") == [
        ["a", "1"],
        ["b", "2"],
        ["c"],
        ["d"],
        ["e"],
        ["f"],
    ]


def test_pipeline_stages() -> None:
    cmds = parse_command("cat x | grep y | wc -l; ls")
    assert [(c.name, c.stage) for c in cmds] == [("cat", 0), ("grep", 1), ("wc", 2), ("ls", 0)]
    assert cmds[0].pipeline == cmds[2].pipeline != cmds[3].pipeline


def test_quoting() -> None:
    assert argvs("""echo 'a b' "c d" e\\ f $'g\\nh'""") == [["echo", "a b", "c d", "e f", "g\nh"]]
    assert argvs('echo "a \\"q\\" b"') == [["echo", 'a "q" b']]


def test_redirections() -> None:
    (cmd,) = parse_command("cmd <in.txt >out.txt 2>&1 2>>err.log &>all")
    assert cmd.argv == ["cmd"]
    assert cmd.redirects == [("<", "in.txt"), (">", "out.txt"), ("2>&", "1"),
                             ("2>>", "err.log"), ("&>", "all")]  # fmt: skip


def test_heredoc_body_is_not_a_command() -> None:
    cmds = parse_command("cat <<'EOF' > f.txt\nrm -rf /\nEOF\nls")
    assert [c.argv for c in cmds] == [["cat"], ["ls"]]
    assert cmds[0].redirects == [("<<", "rm -rf /"), (">", "f.txt")]


def test_heredoc_to_a_shell_is_parsed() -> None:
    assert ["rm", "-rf", "x"] in argvs("bash <<EOF\nrm -rf x\nEOF")


def test_env_prefix_and_wrappers() -> None:
    (cmd,) = parse_command("A=1 B=2 sudo -u bob env C=3 nohup timeout -s 9 10 nice -n 5 rm x")
    assert cmd.argv == ["rm", "x"]
    assert cmd.assigns == ["A=1", "B=2", "C=3"]  # env C=3 counts too (LD_PRELOAD=...)
    assert cmd.wrappers == ("sudo",)


def test_xargs_and_find_exec() -> None:
    assert ["rm", "-f"] in argvs("ls | xargs -n 1 rm -f")
    assert ["rm", "-rf", "/x"] in argvs("find /x -name y -exec rm -rf {} +")


@pytest.mark.parametrize(
    "command",
    ["sh -c 'rm -rf z'", "bash -lc \"rm -rf z\"", "bash -e -c 'rm -rf z'", "eval rm -rf z",
     "echo $(rm -rf z)", "echo `rm -rf z`", "diff <(rm -rf z) b", "su -c 'rm -rf z'",
     "sh -c \"sh -c 'rm -rf z'\"", "(rm -rf z)", "{ rm -rf z; }", "if true; then rm -rf z; fi",
     "for i in 1 2; do rm -rf z; done", "f() { rm -rf z; }", "echo \"$(rm -rf z)\""],
)  # fmt: skip
def test_nested_commands_are_found(command: str) -> None:
    assert ["rm", "-rf", "z"] in argvs(command)


@pytest.mark.parametrize(
    "command",
    ["echo 'x", 'echo "x', "echo $(x", "echo `x", "cat <<EOF\nno end",
     "ls >", "a | > |"],
)  # fmt: skip
def test_unparseable(command: str) -> None:
    with pytest.raises(ParseError):
        parse_command(command)


def test_nesting_limit() -> None:
    cmd = "ls"
    for _ in range(10):
        cmd = f"sh -c {cmd!r}"
    with pytest.raises(ParseError):
        parse_command(cmd)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab rm-f/.~$()`'\"|&;<>\\{}*#=\n\t")), max_size=60))
def test_check_never_raises(command: str) -> None:
    d = _POLICY.check("shell", {"command": command})
    assert d.action in ("allow", "ask", "deny") and d.rule and "\n" not in d.reason


# The workspace need not exist for shell checks.
_POLICY = Policy("/nonexistent/rf-fuzz-workspace")
