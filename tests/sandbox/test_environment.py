"""The scrubbed environment and redaction by value, through real commands where it matters."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import orjson
import pytest

from responses_fast.safety.environment import (
    EnvironmentPolicy,
    ValueRedactor,
    is_secret_name,
    scrub_environment,
    secret_values,
    value_redactor,
)
from responses_fast.tools import Tool
from responses_fast.tools.builtin import coding_tools

SECRET = "sk-live-9f8e7d6c5b4a3210FEDCBA"
PARENT = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/u",
    "LANG": "C.UTF-8",
    "LC_ALL": "C",
    "TERM": "xterm",
    "OPENAI_API_KEY": SECRET,
    "GITHUB_TOKEN": "ghp_abcdefghijklmnop1234",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCY",
    "DB_PASSWORD": "correct horse battery",
    "MYSQL_PWD": "hunter2hunter2",
    "GITLAB_PAT": "glpat-xxxxxxxxxxxxxxxxxxxx",
    "SOME_RANDOM": "harmless-value-123",
    "PWD": "/work",
    "OLDPWD": "/",
}


@pytest.mark.parametrize(
    "name",
    ["OPENAI_API_KEY", "github_token", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "MYSQL_PWD",
     "GITLAB_PAT", "npm_config__authToken", "SENTRY_DSN", "DATABASE_URL", "PGPASSWORD",
     "GOOGLE_APPLICATION_CREDENTIALS", "SSH_PRIVATE_KEY", "SESSION_COOKIE", "REDIS_PASS"],
)  # fmt: skip
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["PATH", "HOME", "PWD", "OLDPWD", "LANG", "TERM", "USER", "SHELL"])
def test_ordinary_names(name: str) -> None:
    assert not is_secret_name(name)


def test_core_inherit_keeps_only_the_allow_list() -> None:
    env = scrub_environment(PARENT)
    assert env == {
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/u",
        "LANG": "C.UTF-8",
        "LC_ALL": "C",
        "TERM": "xterm",
        "PWD": "/work",
    }


def test_inherit_all_still_drops_secret_names() -> None:
    env = EnvironmentPolicy(inherit="all").apply(PARENT)
    assert "SOME_RANDOM" in env and "OLDPWD" in env
    assert not any(is_secret_name(k) for k in env)
    assert SECRET not in env.values()


def test_none_exclude_include_only_set() -> None:
    assert EnvironmentPolicy(inherit="none", set={"A": "1"}).apply(PARENT) == {"A": "1"}
    env = EnvironmentPolicy(exclude=("lc_*",)).apply(PARENT)
    assert "LC_ALL" not in env and "LANG" in env
    env = EnvironmentPolicy(inherit="all", include_only=("PATH", "SOME_*")).apply(PARENT)
    assert env == {"PATH": "/usr/bin:/bin", "SOME_RANDOM": "harmless-value-123"}
    # Opting out of the default excludes is explicit.
    env = EnvironmentPolicy(inherit="all", ignore_default_excludes=True).apply(PARENT)
    assert env["OPENAI_API_KEY"] == SECRET


def test_bad_policies_are_refused_and_repr_hides_values() -> None:
    with pytest.raises(ValueError, match="inherit"):
        EnvironmentPolicy(inherit="some")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        EnvironmentPolicy(set={"A=B": "x"})
    assert SECRET not in repr(EnvironmentPolicy(set={"TOKEN": SECRET}))


def test_secret_values_skip_short_ones() -> None:
    values = secret_values({"API_KEY": "short", "OPENAI_API_KEY": SECRET, "PATH": "/bin"})
    assert values == (SECRET,)


def _redactor() -> ValueRedactor:
    return value_redactor(PARENT)


@pytest.mark.parametrize("prefix", ["", "x", "xy", "OPENAI_API_KEY=", "some text; "])
def test_base64_forms_at_any_alignment_are_redacted(prefix: str) -> None:
    r = _redactor()
    blob = (prefix + SECRET + "\ntrailing").encode()
    for enc in (base64.b64encode(blob), base64.urlsafe_b64encode(blob)):
        out = r.redact(enc.decode())
        assert "[REDACTED:env]" in out
        assert base64.b64encode(SECRET.encode())[4:-4].decode() not in out


def test_line_wrapped_base64_like_the_base64_tool() -> None:
    # `env | base64` wraps at 76 columns: a secret may straddle a line break.
    r = _redactor()
    blob = base64.b64encode(("X" * 50 + SECRET + "Y" * 50).encode()).decode()
    wrapped = "\n".join(blob[i : i + 76] for i in range(0, len(blob), 76))
    out = r.redact(wrapped)
    assert "[REDACTED:env]" in out
    flat = out.replace("\n", "")
    assert base64.b64decode(flat + "==", validate=False).find(SECRET.encode()) == -1


def test_raw_and_hex_forms() -> None:
    r = _redactor()
    assert r.redact(f"key is {SECRET}.") == "key is [REDACTED:env]."
    assert "[REDACTED:env]" in r.redact(SECRET.encode().hex())
    assert r.redact("nothing to see\n" * 3) == "nothing to see\n" * 3
    assert "correct horse battery" not in r.redact("pw: correct horse battery")


def test_empty_redactor_is_a_no_op() -> None:
    r = ValueRedactor([])
    assert not r and r.redact("abc") == "abc"
    assert SECRET not in repr(value_redactor(PARENT))


def test_a_clean_200kb_log_takes_the_fast_path() -> None:
    # The cost itself is measured in benchmarks/bench_sandbox.py; here: no regex pass and the
    # very same string back when nothing matches.
    r = _redactor()
    log = "".join(f"tests/test_mod.py::test_{i} PASSED [{i % 100:3d}%]\n" for i in range(5000))
    assert len(log) > 200_000
    assert not r.might_contain(log)
    assert r.redact(log) is log


# -- through the shell tool: the environment the command really gets


def shell(ws: Path) -> Tool:
    return {t.name: t for t in coding_tools(ws)}["shell"]


@pytest.mark.anyio
async def test_commands_do_not_see_secret_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-0123456789abcdef")
    monkeypatch.setenv("HARMLESS_BUT_NOT_CORE", "visible-only-with-inherit-all")
    tool = shell(tmp_path)
    out = (await tool.invoke(orjson.dumps({"command": "env"}).decode())).output
    assert "OPENAI_API_KEY" not in out and SECRET not in out
    assert "MY_SERVICE_TOKEN" not in out and "HARMLESS_BUT_NOT_CORE" not in out
    assert "PATH=" in out
    out = (await tool.invoke(orjson.dumps({"command": "env | base64"}).decode())).output
    decoded = base64.b64decode("".join(out.splitlines()[1:]) + "==")
    assert SECRET.encode() not in decoded and b"OPENAI_API_KEY" not in decoded


@pytest.mark.anyio
async def test_secret_values_in_files_are_redacted_from_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The variable is scrubbed, but its value can still sit in a file the command prints.
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    (tmp_path / "config.txt").write_text(f"api_key_in_file: {SECRET}\n")
    tool = shell(tmp_path)
    for command in ("cat config.txt", "base64 config.txt", "base64 -w 7 config.txt",
                    "xxd -p config.txt", "basenc --base64url config.txt",
                    ["bash", "-lc", "tail -c +3 config.txt | base64"]):  # fmt: skip
        out = (await tool.invoke(orjson.dumps({"command": command}).decode())).output
        assert "[REDACTED" in out, (command, out)
        assert SECRET not in out
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            for shift in range(3):
                core = enc(b"\0" * shift + SECRET.encode()).decode()[4:-4]
                assert core not in out.replace("\n", ""), (command, out)


@pytest.mark.anyio
async def test_session_output_filter_redacts_values(monkeypatch: pytest.MonkeyPatch) -> None:
    from responses_fast.session.session import _redact_text

    monkeypatch.setenv("MY_DB_PASSWORD", "p4ss-w0rd-canary-77")
    text = "x " + base64.b64encode(b"prefix p4ss-w0rd-canary-77 suffix").decode()
    assert "p4ss-w0rd-canary-77" not in _redact_text("pw p4ss-w0rd-canary-77")
    assert "[REDACTED:env]" in _redact_text(text)
    assert os.environ["MY_DB_PASSWORD"] == "p4ss-w0rd-canary-77"
