"""TokenCounter: exact counts against tiktoken, the LRU and memo, the offline story."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
import tiktoken
import tiktoken.registry

from responses_fast.cache import tokens as tokens_module
from responses_fast.cache.render import log_item
from responses_fast.cache.tokens import (
    FALLBACK_ENCODING,
    ITEM_OVERHEAD_TOKENS,
    TokenCounter,
    context_window,
    encoding_available_offline,
    encoding_for_model,
)
from responses_fast.protocol.items import (
    FunctionCall,
    FunctionCallOutput,
    InputText,
    Message,
    OutputText,
    Reasoning,
    UnknownItem,
    user_message,
)

CORPUS = [
    "",
    " ",
    "hello world",
    "Hello, World! How's it going? I'm fine, you're great.",
    "def f(x: int) -> int:\n    return x ** 2  # squares\n\n\nclass A:\n    pass\n",
    "日本語のテキストとemoji 🎉🚀 and accents: café, naïve, Ærøskøbing",
    "<|endoftext|> special tokens are plain text here <|fim_prefix|>",
    "1234567890 3.14159 -42 0x1F 1e-9",
    "\t\n\r\n   trailing spaces   \n",
    "a" * 5000,
    '{"path": "src/app.py", "content": "print(\\"hi\\")"}',
    "مرحبا بالعالم — Привет мир — 你好世界",
    (Path(__file__).read_text(encoding="utf-8")),
]


def _offline_cl100k() -> tiktoken.Encoding:
    return tiktoken.get_encoding(FALLBACK_ENCODING)


def _o200k_loadable_offline() -> bool:
    """Independent of the module under test: plugin, loaded, or a verified cached file."""
    if "o200k_base_offline" in tiktoken.registry.list_encoding_names():
        return True
    if "o200k_base" in tiktoken.registry.ENCODINGS:
        return True
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        cache_dir = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        cache_dir = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not cache_dir:
        return False
    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    path = Path(cache_dir) / hashlib.sha1(url.encode()).hexdigest()
    if not path.exists():
        return False
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest == "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"


@pytest.mark.parametrize("text", CORPUS, ids=range(len(CORPUS)))
def test_count_text_equals_tiktoken(text: str) -> None:
    counter = TokenCounter("gpt-4")
    assert counter.encoding_name == FALLBACK_ENCODING
    assert not counter.is_estimate
    assert counter.count_text(text) == len(_offline_cl100k().encode_ordinary(text))


def test_count_item_is_content_plus_overhead() -> None:
    enc = _offline_cl100k()
    counter = TokenCounter("gpt-4")
    text = CORPUS[4]
    assert counter.count_item(user_message(text)) == len(enc.encode_ordinary(text)) + 4
    assert ITEM_OVERHEAD_TOKENS == 4
    parts = Message(role="assistant", content=[OutputText(text="a b"), OutputText(text="c")])
    assert counter.count_item(parts) == len(enc.encode_ordinary("a b\nc")) + 4
    call = FunctionCall(call_id="c1", name="read_file", arguments='{"path": "x.py"}')
    expected = len(enc.encode_ordinary('read_file\n{"path": "x.py"}')) + 4
    assert counter.count_item(call) == expected
    out = FunctionCallOutput(call_id="c1", output=CORPUS[12])
    assert counter.count_item(out) == len(enc.encode_ordinary(CORPUS[12])) + 4
    listed = FunctionCallOutput(call_id="c2", output=[{"type": "input_text", "text": "ok"}])
    assert counter.count_item(listed) == len(enc.encode_ordinary("ok")) + 4


def test_reasoning_and_unknown_items_are_counted() -> None:
    counter = TokenCounter("gpt-4")
    r = Reasoning(
        summary=[{"type": "summary_text", "text": "thinking"}], encrypted_content="x" * 600
    )
    assert counter.count_item(r) == counter.count_text("thinking") + 4 + 100
    u = UnknownItem.model_validate({"type": "web_search_call", "id": "ws_1", "status": "done"})
    assert counter.count_item(u) > 4


def test_cache_hits_misses_and_memo() -> None:
    counter = TokenCounter("gpt-4", maxsize=8)
    s0 = counter.statistics()
    assert (s0.hits, s0.misses, s0.memo_hits, s0.size, s0.maxsize) == (0, 0, 0, 0, 8)
    logged = log_item(user_message("the same text"))
    assert logged.tokens is None
    n = counter.count_item(logged)
    assert logged.tokens == n
    assert counter.count_item(logged) == n  # attribute read
    s1 = counter.statistics()
    assert (s1.hits, s1.misses, s1.memo_hits, s1.size) == (0, 1, 1, 1)
    # Equal content in a new object: a hit in the content-keyed LRU.
    again = log_item(Message(role="user", content=[InputText(text="the same text")], id="m2"))
    assert counter.count_item(again) == n
    s2 = counter.statistics()
    assert (s2.hits, s2.misses) == (1, 1)
    # Same text in another kind of item is a separate entry.
    counter.count_item(FunctionCallOutput(call_id="x", output="the same text"))
    assert counter.statistics().misses == 2


def test_cache_is_bounded() -> None:
    counter = TokenCounter("gpt-4", maxsize=3)
    for i in range(10):
        counter.count_item(user_message(f"message number {i}"))
    stats = counter.statistics()
    assert stats.size == 3
    assert stats.misses == 10
    counter.count_item(user_message("message number 0"))  # evicted: a miss again
    assert counter.statistics().misses == 11


def test_estimate_flag_matches_o200k_availability() -> None:
    loadable = _o200k_loadable_offline()
    assert encoding_available_offline("o200k_base") == loadable
    for model in ("gpt-5", "gpt-4o", "gpt-4.1-mini", "o3", "gpt-5.3-codex-spark"):
        counter = TokenCounter(model)
        assert counter.requested_encoding == "o200k_base"
        assert counter.is_estimate == (not loadable)
        if not loadable:
            assert counter.encoding_name == FALLBACK_ENCODING
        assert counter.statistics().estimate == counter.is_estimate


def test_non_openai_models_are_estimates() -> None:
    counter = TokenCounter("llama3.1-8b")
    assert counter.requested_encoding is None
    assert counter.is_estimate
    assert counter.count_text("hello world") == 2


def test_encoding_for_model_table() -> None:
    assert encoding_for_model("gpt-4o-mini") == "o200k_base"
    assert encoding_for_model("openai/gpt-5-codex") == "o200k_base"
    assert encoding_for_model("ft:gpt-4o:org::id") == "o200k_base"
    assert encoding_for_model("gpt-4-turbo") == "cl100k_base"
    assert encoding_for_model("gpt-3.5-turbo") == "cl100k_base"
    assert encoding_for_model("gpt-oss-120b") == "o200k_harmony"
    assert encoding_for_model("qwen-3-32b") is None


def test_context_window_table() -> None:
    assert context_window("gpt-5") == 400_000
    assert context_window("gpt-5-mini") == 400_000
    assert context_window("gpt-5.3-codex-spark") == 128_000
    assert context_window("gpt-4.1") == 1_047_576
    assert context_window("gpt-4o") == 128_000
    assert context_window("gpt-oss-120b") == 131_072
    assert context_window("llama3.1-8b") == 32_768
    assert context_window("some-new-model") is None


def test_choice_is_logged_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens_module, "_logged", set())  # as in a fresh process
    caplog.set_level(logging.INFO, logger="responses_fast.cache")
    counter = TokenCounter("gpt-3.5-turbo-unique-for-log-test")
    counter.count_text("a")
    counter.count_text("b")
    TokenCounter("gpt-3.5-turbo-unique-for-log-test").count_text("c")
    lines = [r.getMessage() for r in caplog.records if "unique-for-log-test" in r.getMessage()]
    assert len(lines) == 1
    assert FALLBACK_ENCODING in lines[0]
    assert "exact" in lines[0]


def test_estimate_is_logged_as_such(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens_module, "_logged", set())
    caplog.set_level(logging.INFO, logger="responses_fast.cache")
    TokenCounter("llama3.3-70b").count_text("x")
    (line,) = [r.getMessage() for r in caplog.records]
    assert "ESTIMATE" in line and "llama3.3-70b" in line


def test_import_loads_no_encoding() -> None:
    code = "import sys, responses_fast.cache; print('tiktoken' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


_NO_DOWNLOAD = textwrap.dedent(
    """
    import socket, tiktoken.load
    real_read = tiktoken.load.read_file
    def guarded(path):
        if "://" in path:
            raise AssertionError("download attempted: " + path)
        return real_read(path)
    tiktoken.load.read_file = guarded
    def no_net(*a, **k):
        raise AssertionError("network used")
    socket.socket.connect = no_net
    socket.create_connection = no_net
    from responses_fast.cache.tokens import TokenCounter
    import tiktoken
    for model in ("gpt-5", "gpt-4o", "gpt-4", "gpt-oss-120b", "llama3.1-8b"):
        c = TokenCounter(model)
        n = c.count_text("def main():\\n    return 42\\n")
        ref = len(tiktoken.get_encoding("cl100k_base_offline").encode_ordinary(
            "def main():\\n    return 42\\n"))
        assert n == ref, (model, n, ref)
        print(model, c.encoding_name, c.is_estimate)
    """
)


def test_no_download_with_empty_cache_dir(tmp_path: Path) -> None:
    env = dict(os.environ, TIKTOKEN_CACHE_DIR=str(tmp_path / "empty"))
    env.pop("DATA_GYM_CACHE_DIR", None)
    out = subprocess.run(
        [sys.executable, "-c", _NO_DOWNLOAD], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.strip().splitlines())
    assert lines["gpt-5"] == "cl100k_base_offline True"
    assert lines["gpt-4"] == "cl100k_base_offline False"
    assert lines["llama3.1-8b"] == "cl100k_base_offline True"


def test_cache_disabled_by_empty_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    if "o200k_base" not in tiktoken.registry.ENCODINGS:
        assert not encoding_available_offline("o200k_base")
    assert encoding_available_offline("cl100k_base")  # the offline plugin


def test_bad_maxsize() -> None:
    with pytest.raises(ValueError):
        TokenCounter("gpt-4", maxsize=0)
