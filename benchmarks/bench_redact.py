"""Redaction benchmark: ``redact()`` on 200 KB pytest logs, clean and with secrets in them.

Run: python benchmarks/bench_redact.py [--reps N]

Three texts: what ``pytest -v`` prints for a large suite (one PASSED line per test and the
summary); the same with test names holding password, token, key, secret and cookie, plus a few
failures with tracebacks and captured logs (these send lines down the per-line path); and that
log with 40 realistic secrets (API keys, connection strings, a cookie, an AWS key pair, a key
body) spread through it. Each call is timed on its own (thread CPU time, so that other processes
on a shared machine do not count; GC off); the table gives the median and p90, the throughput,
and the ratio to ``str.lower()`` of the same text in the same run (the floor: redact()
lower-cases the text once). Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import base64
import gc
import random
import statistics
import string
import time

from responses_fast.safety import redact

SIZE = 200 * 1024


PLAIN = ["parse", "render", "cache", "retry", "session", "upload", "migrate", "stream",
         "tool_call", "schema", "events", "client", "server", "loop"]  # fmt: skip
TOUCHY = ["login", "password_reset", "token_refresh", "api_key_rotation", "secret_store",
          "cookie_jar", "keyring", "bypass_cache", "pass_through", *PLAIN]  # fmt: skip


def pytest_log(size: int = SIZE, seed: int = 1, words: list[str] = TOUCHY) -> str:
    """``pytest -v`` output; ``words`` make the test names (TOUCHY: with secret-ish words)."""
    r = random.Random(seed)
    lines = ["============================= test session starts ==============================",
             "platform linux -- Python 3.11.7, pytest-8.3.3, pluggy-1.5.0 -- /usr/bin/python",
             "collected 4210 items", ""]  # fmt: skip
    n = 0
    while sum(len(x) + 1 for x in lines) < size - 2000:
        n += 1
        mod = r.choice(words)
        name = f"test_{r.choice(words)}_{r.choice(words)}_{n}"
        status = "PASSED" if n % 97 else "FAILED"
        lines.append(f"tests/test_{mod}.py::{name} {status} [{n * 100 // 4210:3d}%]")
        if n % 400 == 0 and words is TOUCHY:
            lines += [
                f"_____________________________ {name} _____________________________",
                "",
                "    def test_it(client, monkeypatch):",
                "        monkeypatch.setenv('API_URL', 'http://localhost:8000')",
                "        resp = client.post('/login', json={'user': 'bob', 'password': pw})",
                ">       assert resp.status_code == 200",
                "E       assert 401 == 200",
                "E        +  where 401 = <Response [401]>.status_code",
                "",
                "tests/test_login.py:42: AssertionError",
                "----------------------------- Captured log call ------------------------------",
                "WARNING  app.auth:auth.py:88 token expired for user bob; key rotation pending",
            ]
    lines.append(f"====== {n - n // 97} passed, {n // 97} failed in 73.12s (0:01:13) ======")
    return "\n".join(lines) + "\n"


def secrets_sample(seed: int = 2) -> list[str]:
    r = random.Random(seed)
    alnum = string.ascii_letters + string.digits

    def rnd(k: int, alphabet: str = alnum) -> str:
        return "".join(r.choice(alphabet) for _ in range(k))

    akid = "AKIA" + rnd(16, string.ascii_uppercase + string.digits)
    body = base64.b64encode(b"\x30\x82\x04\xa4" + r.randbytes(600)).decode()
    pem = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return [
        f"OPENAI_API_KEY=sk-proj-{rnd(64)}",
        f"GITHUB_TOKEN=ghp_{rnd(36)}",
        f"key {akid} secret {rnd(40, alnum + '+/')}",
        f"DB_PASS={rnd(16)}",
        f"MYSQL_PWD={rnd(12)}",
        f"REDIS_URL=redis://:{rnd(20)}@redis:6379/0",
        f"Server=db;Database=app;User ID=sa;Password={rnd(14)};",
        f"AccountKey={base64.b64encode(r.randbytes(64)).decode()};EndpointSuffix=core.windows.net",
        f"curl -u admin:{rnd(14)} https://api.example.com",
        f"Cookie: sessionid={rnd(32)}",
        f"glpat-{rnd(20)}",
        f"SG.{rnd(22)}.{rnd(43)}",
        f"xapp-1-A0{rnd(9, string.ascii_uppercase)}-{rnd(13, string.digits)}-{rnd(64)}",
        f"https://hooks.slack.com/services/T{rnd(8)}/B{rnd(10)}/{rnd(24)}",
        f"GOCSPX-{rnd(28)}",
        f"ya29.{rnd(120)}",
        f"Authorization: Bearer {rnd(40)}",
        f"password=word{rnd(4, string.digits)}",
        "eyJ" + rnd(30) + ".eyJ" + rnd(60) + "." + rnd(43),
        pem,
    ] * 2


def with_secrets(log: str, secrets: list[str]) -> str:
    lines = log.split("\n")
    step = len(lines) // (len(secrets) + 1)
    for i, s in enumerate(secrets, 1):
        lines[i * step] = lines[i * step] + "\n" + s
    return "\n".join(lines)


def timed(fn: object, text: str, reps: int) -> list[int]:
    call = fn  # a callable taking the text
    assert callable(call)
    for _ in range(3):
        call(text)
    clock = time.thread_time_ns  # CPU time: stable on a shared, loaded machine
    samples: list[int] = []
    gc.disable()
    try:
        for _ in range(reps):
            t0 = clock()
            call(text)
            samples.append(clock() - t0)
    finally:
        gc.enable()
    return sorted(samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--reps", type=int, default=100)
    args = ap.parse_args()
    plain = pytest_log(words=PLAIN)
    log = pytest_log()
    dirty = with_secrets(log, secrets_sample())
    print(f"redact() on 200 KB pytest -v logs; {args.reps} calls each, thread CPU time")
    print(f"{'text':<28} {'median ms':>10} {'p90 ms':>8} {'MB/s':>7} {'x lower()':>10}"
          f" {'found':>6}")  # fmt: skip
    rows = (
        ("pytest log, plain names", plain),
        ("+ secret-ish names, tracebacks", log),
        ("+ 40 secrets", dirty),
    )
    for label, text in rows:
        floor = statistics.median(timed(str.lower, text, args.reps))
        samples = timed(redact, text, args.reps)
        med = statistics.median(samples)
        p90 = samples[int(0.9 * (len(samples) - 1))]
        found = redact(text).count
        print(f"{label:<28} {med / 1e6:>10.2f} {p90 / 1e6:>8.2f} {len(text) / med * 1e3:>7.0f}"
              f" {med / floor:>10.1f} {found:>6}")  # fmt: skip


if __name__ == "__main__":
    main()
