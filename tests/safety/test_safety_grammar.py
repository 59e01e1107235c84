"""The tree-sitter walk: decoded words, non-literal constructs, cd without assuming success."""

from __future__ import annotations

import pytest

from responses_fast.safety import ParseError, parse_command
from responses_fast.safety.commands import command_from_argv, parse_script


def test_ansi_c_strings_are_decoded_and_marked() -> None:
    (cmd,) = parse_command(r"rm -rf $'\x2f'etc $'\057usr' $'a\tb' $'\u00e9'")
    assert cmd.argv == ["rm", "-rf", "/etc", "/usr", "a\tb", "\u00e9"]
    assert "ansi-c" in cmd.expansions and not cmd.plain


def test_brace_expansion_is_expanded_and_marked() -> None:
    (cmd,) = parse_command("rm -rf {/etc,/usr} x{1..3} '{a,b}'")
    assert cmd.argv == ["rm", "-rf", "/etc", "/usr", "x1", "x2", "x3", "{a,b}"]
    assert "brace" in cmd.expansions


@pytest.mark.parametrize(
    ("command", "kinds"),
    [
        ("ls -la 'a b' \"c d\"", set()),
        ("echo $X", {"parameter"}),
        ('echo "${X:-y}"', {"parameter"}),
        ("echo $(pwd)", {"command"}),
        ("echo `pwd`", {"command"}),
        ("diff <(ls) b", {"process"}),
        ("echo $((1+2))", {"arithmetic"}),
        ('cat $HOME/x ${HOME}/y "$PWD"', set()),  # resolved by the policy itself
    ],
)
def test_plain_words_only_when_literal(command: str, kinds: set[str]) -> None:
    cmd = parse_command(command)[-1]
    assert set(cmd.expansions) == kinds
    assert cmd.plain == (not kinds)


def test_substitutions_inside_every_word_shape_are_found() -> None:
    command = 'echo "a$(rm -rf z)" ${x[$(rm -rf z)]} $((1+$(rm -rf z))) <(rm -rf z)'
    assert sum(c.argv == ["rm", "-rf", "z"] for c in parse_command(command)) == 4
    heredoc = "cat <<EOF\n$(rm -rf z)\nEOF"
    assert ["rm", "-rf", "z"] in [c.argv for c in parse_command(heredoc)]
    quoted = "cat <<'EOF'\n$(rm -rf z)\nEOF"
    assert ["rm", "-rf", "z"] not in [c.argv for c in parse_command(quoted)]


def _cwds(command: str, name: str) -> set[str | None]:
    return {cwd for c in parse_script(command, "/ws").commands if c.name == name for cwd in c.cwds}


@pytest.mark.parametrize(
    ("command", "cwds"),
    [
        ("cd /x && rm a", {"/x"}),  # only runs if cd succeeded
        ("cd /x; rm a", {"/x", "/ws"}),  # cd may have failed
        ("cd /x || rm a", {"/x", "/ws"}),  # over-approximated: a failed left side may cd first
        ("(cd /x) && rm a", {"/ws"}),  # a subshell's cd does not leak
        ("cd /x | cat; rm a", {"/ws"}),  # nor does a pipeline stage's
        ("echo $(cd /x); rm a", {"/ws"}),
        ("cd a && cd b && rm a", {"/ws/a/b"}),
        ("cd l/.. && rm a", {"/ws"}),  # bash's cd is logical
        ("cd $D && rm a", {None}),
        ("cd - && rm a", {None}),
        ("cd && rm a", {__import__("os").path.expanduser("~")}),
        ("if cd /x; then rm a; fi", {"/x", "/ws"}),
        ("for i in 1 2; do rm a; cd ..; done", {"/ws", "/"}),  # second pass
    ],
)
def test_cd_is_followed_without_assuming_success(command: str, cwds: set[str | None]) -> None:
    assert _cwds(command, "rm") == cwds


def test_redirect_belongs_to_the_last_command() -> None:
    # The grammar hangs `> f` on the whole list; bash gives it to the last command only.
    cmds = parse_script("cd /etc && echo x > hosts", "/ws").commands
    echo = next(c for c in cmds if c.name == "echo")
    assert echo.redirects == [(">", "hosts")] and echo.cwds == ("/etc",)


def test_functions_are_recorded() -> None:
    script = parse_script("f() { ls; }; function g { f & }; .(){ .|.& };.")
    assert [(f.name, f.recursive_bg) for f in script.functions] == [
        ("f", False),
        ("g", False),
        (".", True),
    ]


def test_shell_scripts_from_stdin_are_parsed() -> None:
    assert ["rm", "-rf", "x"] in [c.argv for c in parse_command("bash -s <<EOF\nrm -rf x\nEOF")]
    assert ["rm", "-rf", "x"] in [c.argv for c in parse_command("sh <<< 'rm -rf x'")]


def test_argv_lists() -> None:
    (cmd,) = command_from_argv(["ls", "-la", "a b"]).commands
    assert cmd.argv == ["ls", "-la", "a b"] and cmd.plain
    argvs = [c.argv for c in command_from_argv(["bash", "-lc", "cd x && rm -rf y"]).commands]
    assert ["rm", "-rf", "y"] in argvs


@pytest.mark.parametrize(
    "command",
    [
        "make -f - <<EOF\nall:\nEOF",  # the grammar drops the "-": refuse rather than misjudge
        "echo 'x",
        "echo $(",
        "ls &&",
        "a\x00b",
        "x" * 100_001,
        "{ " * 400 + "ls; " + "} " * 400,  # deeper than the walk follows
        "echo " + "$(echo " * 10 + "x" + ")" * 10,  # substitutions nested past MAX_DEPTH
    ],
)
def test_what_cannot_be_followed_raises(command: str) -> None:
    with pytest.raises(ParseError):
        parse_command(command)


def test_plain_line_shortcut_matches_the_grammar() -> None:
    """Pipelines of plain words skip tree-sitter; the result must be what the grammar gives."""
    import sys
    from pathlib import Path

    from responses_fast.safety import commands as mod

    sys.path.insert(0, str(Path(__file__).parent))
    from corpus import BENIGN, DANGEROUS

    extra = ["grep -rn 'def main' .", 'rg -g"*.py" foo', "a 'b c'\"d\"e | f", "echo '' x", "ls|wc"]
    plain = [c for c, _, _ in BENIGN + DANGEROUS if mod.plain_pipeline(c) is not None] + extra
    assert len(plain) > 300
    for command in plain:
        walker = mod.Walker()
        walker.text(command, ("/ws",), 0, ())
        slow = [(c.argv, c.wrappers, c.assigns, c.cwds, c.stage) for c in walker.out]
        fast = [
            (c.argv, c.wrappers, c.assigns, c.cwds, c.stage)
            for c in parse_script(command, "/ws").commands
        ]
        assert fast == slow, command
        top = [c for c in parse_script(command, "/ws").commands if c.depth == 0]
        assert len({c.pipeline for c in top}) == 1, command


@pytest.mark.parametrize(
    "command", ["ls 'x", "a || b", "a |& b", "| a", "a |", "X=1 a", "[[ -f x ]]", "for x", "a\\ b"]
)
def test_plain_line_shortcut_declines(command: str) -> None:
    from responses_fast.safety.commands import plain_pipeline

    assert plain_pipeline(command) is None


@pytest.mark.parametrize(
    ("script", "risk"),
    [
        ("1,40p", None),
        ("s/foo/bar/g", None),
        ("/^$/d", None),
        ("s|a|b|gI", None),
        ("y/abc/xyz/", None),
        ("$!N;P;D", None),
        ("1e rm -rf ~", "exec"),
        ("e id", "exec"),
        ("s/.*/id/e", "exec"),
        ("s/x/y/w /etc/x", "write:/etc/x"),
        ("1w out.txt", "write:out.txt"),
        ("/re/W log", "write:log"),
        ("1r ~/.ssh/id_rsa", "read:~/.ssh/id_rsa"),
        ("s/e/w/g", None),  # e and w inside the pattern and replacement are text
        ("/w/p", None),
        ("a\\\nappended", None),
        ("k", "unknown"),
    ],
)
def test_sed_scripts_are_read_command_by_command(script: str, risk: str | None) -> None:
    from responses_fast.safety.program_rules import _sed_script_risk

    assert _sed_script_risk(script) == risk


def test_loop_variables_bound_to_one_literal_word() -> None:
    (cmd,) = [c for c in parse_command('for f in src/*.py; do wc -l "$f" $f; done') if c.argv]
    assert cmd.argv == ["wc", "-l", "src/*.py", "src/*.py"] and cmd.plain
    # Several words, a non-literal word, a body that sets f, or after the loop: unknown.
    for command in (
        'for f in a b; do rm "$f"; done',
        'for f in $(ls); do rm "$f"; done',
        'for f in *.py; do f=x; rm "$f"; done',
        'for f in *.py; do read -r f; rm "$f"; done',
        'for f in *.py; do :; done; rm "$f"',
    ):
        rm = next(c for c in parse_command(command) if c.name == "rm")
        assert "parameter" in rm.expansions, command
