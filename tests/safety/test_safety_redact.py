"""Redaction: one case per secret kind, and clean text left alone.

Fake secrets are assembled at run time so secret scanners do not flag this file.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from responses_fast.safety import redact
from responses_fast.safety.redact import KINDS

A = "a1B2c3D4e5F6g7H8i9J0"  # 20 mixed characters
PEM = (
    "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEowIBAAKCAQEA" + A + "\n" + A + "==\n"
    "-----END RSA " + "PRIVATE KEY-----"
)

CASES: list[tuple[str, str, str]] = [
    # (text containing a secret, kind, the secret part that must vanish)
    ("key: " + "sk-" + "proj-" + A + A, "openai_key", "sk-proj-" + A),
    ("OPENAI=" + "sk-" + A + A, "openai_key", "sk-" + A),
    ("x " + "sk-ant-" + "api03-" + A + A + " y", "anthropic_key", "sk-ant-api03-" + A),
    ("CEREBRAS: " + "csk-" + A + A, "cerebras_key", "csk-" + A),
    ("id " + "AKIA" + "IOSFODNN7EXAMPLE" + " end", "aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"),
    ("aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY",
     "aws_secret_key", "wJalrXUtnFEMI/K7MDENG"),
    ("token " + "ghp_" + A + A, "github_token", "ghp_" + A),
    ("gho_" + A + A, "github_token", "gho_" + A),
    ("ghs_" + A + A, "github_token", "ghs_" + A),
    ("github_pat_" + "11ABCDEFG0" + A + "_" + A, "github_token", "github_pat_11ABCDEFG0"),
    ("slack " + "xoxb-" + "123456789012-" + A, "slack_token", "xoxb-123456789012"),
    ("xoxp-" + "1234-5678-" + A, "slack_token", "xoxp-1234-5678"),
    ("google " + "AIza" + "SyA" + A + "abcdefghijkl", "google_api_key", "AIzaSyA" + A),
    ("stripe " + "sk_live_" + A + A, "stripe_key", "sk_live_" + A),
    ("jwt " + "eyJ" + "hbGciOiJIUzI1NiJ9" + "." + "eyJ" + "zdWIiOiIxMjM0NTY3ODkwIn0" + "."
     + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "jwt", "eyJzdWIiOiIxMjM0NTY3ODkwIn0"),
    ("before\n" + PEM + "\nafter", "private_key", "MIIEowIBAAKCAQEA"),
    ("Authorization: Bearer " + "abc.def-" + A, "bearer_token", "abc.def-" + A),
    ("curl -H 'authorization: token " + A + "'", "bearer_token", A),
    ("DB_PASSWORD=hunter2hunter2", "assignment", "hunter2hunter2"),
    ("export API_KEY=" + "zyxwvut98765", "assignment", "zyxwvut98765"),
    ('password: "correct horse battery"', "assignment", "correct horse"),
    ("api_key = 'q1w2e3r4t5y6'", "assignment", "q1w2e3r4t5y6"),
    ("auth_token=t0k3n" + "value", "assignment", "t0k3nvalue"),
    ("postgres://user:" + "s3cretpw" + "@db:5432/x", "url_password", "s3cretpw"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "kind", "secret"), CASES)
def test_each_pattern(text: str, kind: str, secret: str) -> None:
    r = redact(text)
    assert secret not in r.text
    assert f"[REDACTED:{kind}]" in r.text
    assert r.count >= 1
    assert kind in r.kinds


def test_every_kind_has_a_case() -> None:
    assert {k for _, k, _ in CASES} == set(KINDS)


def test_context_is_kept() -> None:
    r = redact("aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY\nnext")
    assert r.text == "aws_secret_access_key = [REDACTED:aws_secret_key]\nnext"
    r = redact("Authorization: Bearer " + A)
    assert r.text == "Authorization: Bearer [REDACTED:bearer_token]"


def test_several_secrets() -> None:
    r = redact(f"a={'sk-' + A} b={'ghp_' + A + A} c={'sk-' + A + 'x'}")
    assert r.count == 3
    assert r.kinds == ("openai_key", "github_token")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain output\nall tests passed (42)\n",
        "def tokenize(text):\n    token = next_token(text)\n    return token\n",
        "password = os.environ['DB_PASSWORD']\nkey = config.key\n",
        "api_key: ${API_KEY}\ntoken = None\npassword=\n",
        "sk-short and AKIA-not-a-key and eyJ.nope",
        "https://example.com/path?x=1",
        "secret_santa = 'bob'",
        "[REDACTED:openai_key] stays as is",
    ],
)
def test_clean_text_unchanged(text: str) -> None:
    r = redact(text)
    assert r.text == text
    assert r.count == 0 and r.kinds == ()


def test_idempotent() -> None:
    once = redact("OPENAI_API_KEY=" + "sk-" + A + A).text
    assert redact(once).text == once


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("sk-proj_AKIAghp=:'\" \nxoxb\u201c0123456789")), max_size=120
    )
)
def test_redact_never_raises_and_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once.text).text == once.text
    assert (once.count == 0) == (once.text == text)
