"""Redaction: one case per secret kind, and clean text left alone.

Fake secrets are assembled at run time so secret scanners do not flag this file.
"""

from __future__ import annotations

import base64
import random
import string

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


# --------------------------------------------------------------------------- realistic set
# Secrets shaped and placed as they appear in real tool output (env dumps, configs, CLI output,
# connection strings, HTTP traces). Bodies come from a seeded generator, so no real or scannable
# secret is in this file and the set is the same on every run.
_R = random.Random(20261202)
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"
HEX = "0123456789abcdef"


def rnd(n: int, alphabet: str = ALNUM) -> str:
    while True:  # generated secrets mix cases and digits; retry the rare one that does not
        s = "".join(_R.choice(alphabet) for _ in range(n))
        if (alphabet is not ALNUM and alphabet is not B64) or (
            any(c.isupper() for c in s) and any(c.islower() for c in s)
            and any(c.isdigit() for c in s)
        ):  # fmt: skip
            return s


def wrap(data: bytes, width: int) -> str:
    b = base64.b64encode(data).decode()
    return "\n".join(b[i : i + width] for i in range(0, len(b), width))


AKID = "AKIA" + rnd(16, string.ascii_uppercase + string.digits)
ASID = "ASIA" + rnd(16, string.ascii_uppercase + string.digits)
AWS_S = [rnd(40, B64) for _ in range(6)]
PW = [rnd(14, ALNUM) + "!x" for _ in range(12)]
RSA_BODY = wrap(b"\x30\x82\x04\xa4\x02\x01\x00\x02\x82\x01\x01" + _R.randbytes(1180), 64)
PKCS8_BODY = wrap(b"\x30\x82\x04\xbd\x02\x01\x00\x30\x0d" + _R.randbytes(1200), 64)
EC_BODY = wrap(b"\x30\x77\x02\x01\x01\x04\x20" + _R.randbytes(114), 64)
OSSH_BODY = wrap(b"openssh-key-v1\x00" + _R.randbytes(380), 70)
JWT = ("eyJ" + rnd(30, URLSAFE) + ".eyJ" + rnd(60, URLSAFE) + "." + rnd(43, URLSAFE))
AZURE_KEY = base64.b64encode(_R.randbytes(64)).decode()
BASIC = base64.b64encode(b"deploy:" + rnd(18).encode()).decode()

REALISTIC: list[tuple[str, str, str]] = [
    # (text, kind, the secret part that must vanish)
    (f"OPENAI_API_KEY=sk-proj-{(k := rnd(64, URLSAFE))}", "openai_key", k),
    (f'client = OpenAI(api_key="sk-{(k := rnd(48))}")', "openai_key", k),
    (f"sk-svcacct-{(k := rnd(60, URLSAFE))}", "openai_key", k),
    (f"x-api-key: sk-ant-api03-{(k := rnd(93, URLSAFE))}AA", "anthropic_key", k),
    (f"CEREBRAS_API_KEY=csk-{(k := rnd(48, HEX))}", "cerebras_key", k),
    (f"git clone https://ghp_{(k := rnd(36))}@github.com/acme/app.git", "github_token", k),
    (f"  - Token: gho_{(k := rnd(36))}", "github_token", k),
    (f"GITHUB_TOKEN=ghs_{(k := rnd(36))}", "github_token", k),
    (f"github_pat_11A{rnd(22)}_{(k := rnd(59))}", "github_token", k),
    (f'stripe.api_key = "sk_live_{(k := rnd(99))}"', "stripe_key", k),
    (f"STRIPE_RESTRICTED=rk_live_{(k := rnd(24))}", "stripe_key", k),
    (f"endpoint secret whsec_{(k := rnd(32))}", "stripe_key", k),
    (f"User name,Password,Access key ID,Secret access key\nci-bot,,{AKID},{AWS_S[0]}",
     "aws_secret_key", AWS_S[0]),
    (f"Access key ID: {AKID}\nSecret access key: {AWS_S[1]}", "aws_secret_key", AWS_S[1]),
    (f'{{"Credentials": {{"AccessKeyId": "{ASID}",\n  "SecretAccessKey": "{AWS_S[2]}",',
     "aws_secret_key", AWS_S[2]),
    (f"export AWS_SECRET_ACCESS_KEY={AWS_S[3]}", "aws_secret_key", AWS_S[3]),
    (f's3 = boto3.client("s3", aws_access_key_id="{AKID}", aws_secret_access_key="{AWS_S[4]}")',
     "aws_secret_key", AWS_S[4]),
    (f"key {AKID} secret {AWS_S[5]} region us-east-1", "aws_secret_key", AWS_S[5]),
    (f"aws_access_key_id = {AKID}", "aws_access_key_id", AKID),
    (f"SLACK_BOT_TOKEN=xoxb-{rnd(12, string.digits)}-{rnd(13, string.digits)}-"
     f"{(k := rnd(24))}", "slack_token", k),
    (f"xoxp-{rnd(12, string.digits)}-{rnd(12, string.digits)}-{rnd(13, string.digits)}-"
     f"{(k := rnd(32, HEX))}", "slack_token", k),
    (f"SLACK_APP_TOKEN=xapp-1-A0{rnd(9, string.ascii_uppercase)}-{rnd(13, string.digits)}-"
     f"{(k := rnd(64, HEX))}", "slack_token", k),
    (f"webhook: https://hooks.slack.com/services/T{rnd(8, string.ascii_uppercase)}/"
     f"B{rnd(10, string.ascii_uppercase)}/{(k := rnd(24))}", "slack_webhook", k),
    (f"https://discord.com/api/webhooks/{rnd(18, string.digits)}/{(k := rnd(68, URLSAFE))}",
     "discord_webhook", k),
    (f'"client_secret": "GOCSPX-{(k := rnd(28, URLSAFE))}",', "google_oauth", k),
    (f"ya29.a0Af{(k := rnd(160, URLSAFE))}", "google_oauth", k),
    (f'"refresh_token": "1//0{(k := rnd(100, URLSAFE))}"', "google_oauth", k),
    (f"key=AIza{(k := rnd(35, URLSAFE))}", "google_api_key", k),
    (f"Before\n{RSA_BODY}\n-----END RSA PRIVATE KEY-----", "private_key", RSA_BODY[64:200]),
    (f"$ tail -n +2 key.pem\n{PKCS8_BODY}\n", "private_key", PKCS8_BODY[:64]),
    (EC_BODY, "private_key", EC_BODY[:64]),
    (f"{OSSH_BODY}\n-----END OPENSSH PRIVATE KEY-----", "private_key", OSSH_BODY[70:140]),
    (f"-----BEGIN OPENSSH PRIVATE KEY-----\n{OSSH_BODY}\n-----END OPENSSH PRIVATE KEY-----",
     "private_key", OSSH_BODY[:70]),
    (f"DB_PASS={PW[0]}", "assignment", PW[0]),
    (f"MYSQL_PWD={PW[1]} mysql -h db -u app", "assignment", PW[1]),
    ("login with user=admin password=letmein", "assignment", "letmein"),
    (f"PGPASSWORD={PW[2]} psql -h db.internal -U app", "assignment", PW[2]),
    (f"REDIS_URL=redis://:{(k := rnd(24))}@redis.internal:6379/0", "url_password", k),
    (f"Server=tcp:db.example.net,1433;Database=app;User ID=sa;Password={PW[3]};Encrypt=True;",
     "assignment", PW[3]),
    (f"DRIVER={{ODBC Driver 18 for SQL Server}};SERVER=db;UID=app;Pwd={PW[4]};",
     "assignment", PW[4]),
    (f"DefaultEndpointsProtocol=https;AccountName=acmeprod;AccountKey={AZURE_KEY};"
     "EndpointSuffix=core.windows.net", "assignment", AZURE_KEY),
    (f"curl -u admin:{PW[5]} https://api.example.com/v1/status", "basic_auth", PW[5]),
    (f"$ curl --user deploy:{PW[6]} -X POST https://ci.example.com/hook", "basic_auth", PW[6]),
    (f"> Cookie: sessionid={(k := rnd(32))}; csrftoken={rnd(32)}", "cookie", k),
    (f"< Set-Cookie: session={(k := rnd(40))}; Path=/; HttpOnly; Secure", "cookie", k),
    (f"curl -H 'Cookie: sid={(k := rnd(26))}' https://app.example.com", "cookie", k),
    (f"GITLAB_TOKEN=glpat-{(k := rnd(20, URLSAFE))}", "gitlab_token", k),
    (f"SENDGRID_API_KEY=SG.{rnd(22, URLSAFE)}.{(k := rnd(43, URLSAFE))}", "sendgrid_key", k),
    (f"token: {JWT}", "jwt", JWT[40:90]),
    (f'curl -H "Authorization: Bearer {(k := rnd(40, URLSAFE))}" https://api.example.com',
     "bearer_token", k),
    (f"Authorization: Basic {BASIC}", "bearer_token", BASIC),
    (f"//registry.npmjs.org/:_authToken=npm_{(k := rnd(36))}", "npm_token", k),
    (f"password = pypi-AgEIcHlwaS5vcmc{(k := rnd(70, URLSAFE))}", "pypi_token", k),
    (f"HF_TOKEN=hf_{(k := rnd(34))}", "huggingface_token", k),
    (f"DATABASE_URL=postgresql://app:{PW[7]}@db:5432/app", "url_password", PW[7]),
    (f"mongodb+srv://svc:{PW[8]}@cluster0.ab1cd.mongodb.net/prod", "url_password", PW[8]),
    (f"  password: {PW[9]}", "assignment", PW[9]),
    (f'  "api_key": "{(k := rnd(32))}",', "assignment", k),
    (f"SECRET_KEY={(k := rnd(50))}", "assignment", k),
    (f"client_secret={(k := rnd(40))}", "assignment", k),
    (f"X-Api-Key: {(k := rnd(32))}", "assignment", k),
    (f"token: {(k := rnd(40))}", "assignment", k),
    ('passphrase = "correct horse battery staple"', "assignment", "correct horse battery"),
    (f"protocol=https\nhost=github.com\nusername=bob\npassword={PW[10]}", "assignment", PW[10]),
    (f"https://bob:{PW[11]}@git.example.com/acme/app.git", "url_password", PW[11]),
    (f"HEROKU_API_KEY=550e8400-e29b-41d4-a716-{(k := rnd(12, HEX))}", "assignment", k),
    (f"TWILIO_AUTH_TOKEN={(k := rnd(32, HEX))}", "assignment", k),
    (f"AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjE{(k := rnd(300, B64))}", "assignment", k),
    (f"  password: {base64.b64encode(PW[0].encode()).decode()}", "assignment",
     base64.b64encode(PW[0].encode()).decode()),
    (f"Proxy-Authorization: Basic {(k := base64.b64encode(PW[5].encode()).decode())}",
     "bearer_token", k),
]  # fmt: skip

# Look-alikes: output that resembles a secret by shape or context and must stay untouched.
INNOCENT: list[str] = [
    "tests/test_auth.py::test_password_reset PASSED                          [ 12%]",
    "tests/test_tokens.py::test_token_refresh_expired PASSED                 [ 13%]",
    "tests/test_keys.py::test_api_key_rotation FAILED                         [ 14%]",
    "======= 412 passed, 3 skipped, 1 xfailed in 12.31s =======",
    "commit 3f9c2a7e1b4d5c6e7f8091a2b3c4d5e6f7a8b9c0\nAuthor: Dev <dev@example.com>",
    "Merge: 1a2b3c4 5d6e7f8",
    "\n".join(rnd(64, HEX) for _ in range(4)),
    "  --hash=sha256:" + rnd(64, HEX) + " \\",
    "Digest: sha256:" + rnd(64, HEX),
    "request 550e8400-e29b-41d4-a716-446655440000 took 12ms",
    "trace_id=123e4567-e89b-12d3-a456-426614174000 span_id=00f067aa0ba902b7",
    base64.b64encode(b"Hello, world! This is a plain message, nothing secret.").decode(),
    wrap(b"The quick brown fox jumps over the lazy dog. " * 6, 64),
    "password = getpass.getpass()",
    "token = tokenizer.encode(text)",
    "def check_password(password: str) -> bool:",
    "if not api_key:",
    'api_key = os.environ["OPENAI_API_KEY"]',
    "secret_key = settings.SECRET_KEY",
    "client.login(username=user, password=pw)",
    "conn = connect(host, password=db_password)",
    "self.password = password",
    "PASSWORD_MIN_LENGTH = 12",
    "token_count: 1532",
    "max_tokens=4096",
    "E   KeyError: 'token'",
    "E   AssertionError: assert 'secret' == 'hunter2'",
    "task-runner-v2-a8f3e9d1c7b2c4d5e6f7a8b9 finished",
    "disk-usage-report-20240101-summary-final.csv",
    "ghost_process_identifier_abcdef123456789",
    "eyJhbGciOiJIUzI1NiJ9 is the header of every HS256 token",
    "https://user@example.com/path and http://localhost:8080/api?x=1",
    "postgres://localhost:5432/app",
    "password: changeme",
    "Cookie consent banner shown; cookies: 3",
    "curl -u $CI_USER:$CI_TOKEN https://ci.example.com",
    "docker run -u 1000:1000 --rm http-echo",
    "git push -u origin main",
    "Bearer token expired, please re-authenticate",
    "password_hash = bcrypt.hashpw(pw, bcrypt.gensalt())",
    "npm WARN deprecated har-validator@5.1.5",
    "hf_hub_download(repo_id=repo, filename=name)",
    "mysql> SELECT password FROM users WHERE id = 1;",
    "aws_secret_access_key = ${AWS_SECRET}",
    'File "/usr/lib/python3.11/site-packages/requests/auth.py", line 12, in __call__',
    "Token: [REDACTED:github_token]",
    "password: Optional[str] = None",
    "password: SecretStr",
    "auth_token: str = Field(description='the token')",
    '{"token": null, "secret": false}',
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH" + rnd(40) + " dev@laptop",
    "-----BEGIN CERTIFICATE-----\n" + RSA_BODY[:64 * 4] + "\n-----END CERTIFICATE-----",
    "msg.content = response.text  # SG.Module stays",
    "bypass=1 compass=north",
    "sk-learn and scikit-learn are different names",
]


@pytest.mark.parametrize(("text", "kind", "secret"), REALISTIC)
def test_realistic_secrets(text: str, kind: str, secret: str) -> None:
    assert secret in text
    r = redact(text)
    assert secret not in r.text, r.text
    assert kind in r.kinds, (r.kinds, r.text)


def test_realistic_set_is_large_enough() -> None:
    assert len(REALISTIC) >= 60 and len(INNOCENT) >= 40
    assert len({s for _, _, s in REALISTIC}) == len(REALISTIC)


@pytest.mark.parametrize("text", INNOCENT)
def test_innocent_look_alikes_are_left_alone(text: str) -> None:
    r = redact(text)
    assert r.text == text
    assert r.count == 0


def test_realistic_secrets_inside_a_long_pytest_log() -> None:
    log = "".join(
        f"tests/test_mod{i % 40}.py::test_case_{i} PASSED [{i % 100:3d}%]\n" for i in range(3000)
    )
    text = log + "\n".join(t for t, _, _ in REALISTIC) + "\n" + log
    out = redact(text).text
    for _, _, secret in REALISTIC:
        assert secret not in out
    assert out.startswith(log) and out.endswith(log)


@pytest.mark.parametrize(("text", "kind", "secret"), CASES)
def test_each_pattern(text: str, kind: str, secret: str) -> None:
    r = redact(text)
    assert secret not in r.text
    assert f"[REDACTED:{kind}]" in r.text
    assert r.count >= 1
    assert kind in r.kinds


def test_every_kind_has_a_case() -> None:
    assert {k for _, k, _ in CASES} | {k for _, k, _ in REALISTIC} == set(KINDS)


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
