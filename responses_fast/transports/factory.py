"""Choosing and building a transport from a name, the base URL and the environment.

The rule (docs/transports.md):

1. An explicit name wins: ``"websocket"``, ``"http"``, ``"chat"`` or ``"cerebras"`` (aliases
   ``"ws"``, ``"sse"``/``"http-sse"``, ``"chat-completions"``).
2. ``"auto"`` looks at the base URL, then the environment:

   - host ``api.cerebras.ai`` (any ``*.cerebras.ai``) -> ``cerebras``;
   - a URL ending in ``/chat/completions``, a known Chat-Completions-only service
     (:data:`CHAT_ONLY_HOSTS`) or Ollama's port 11434 -> ``chat``;
   - no base URL of its own (the OpenAI default) with ``CEREBRAS_API_KEY`` set and
     ``OPENAI_API_KEY`` unset -> ``cerebras``;
   - anything else -> ``websocket`` (the fastest mode of the Responses API).
"""

from __future__ import annotations

import os
import ssl
from urllib.parse import urlsplit

from ..config import Timeouts
from ..errors import ConfigurationError
from .base import RequestSettings, Transport

__all__ = ["CHAT_ONLY_HOSTS", "TRANSPORT_NAMES", "choose_transport", "make_transport"]

TRANSPORT_NAMES = ("websocket", "http", "chat", "cerebras", "auto")

_ALIASES = {
    "ws": "websocket",
    "websockets": "websocket",
    "sse": "http",
    "http-sse": "http",
    "http_sse": "http",
    "chat-completions": "chat",
    "chat_completions": "chat",
}

#: Hosted services that speak Chat Completions but not the Responses API.
CHAT_ONLY_HOSTS = frozenset(
    {
        "api.groq.com",
        "api.together.xyz",
        "api.fireworks.ai",
        "openrouter.ai",
        "api.deepseek.com",
        "api.mistral.ai",
        "generativelanguage.googleapis.com",
    }
)
_OLLAMA_PORT = 11434
_OPENAI_HOST = "api.openai.com"


def _is_cerebras_host(host: str) -> bool:
    return host == "cerebras.ai" or host.endswith(".cerebras.ai")


def choose_transport(kind: str, base_url: str | None) -> str:
    """The transport name ``kind`` resolves to (``"auto"`` applies the rule above)."""
    name = _ALIASES.get(kind, kind)
    if name != "auto":
        if name not in TRANSPORT_NAMES:
            raise ConfigurationError(
                f"unknown transport {kind!r}; choose one of {', '.join(TRANSPORT_NAMES)}"
            )
        return name
    parts = urlsplit(base_url or "")
    host = (parts.hostname or "").lower()
    if _is_cerebras_host(host):
        return "cerebras"
    if parts.path.rstrip("/").endswith("/chat/completions") or host in CHAT_ONLY_HOSTS:
        return "chat"
    if parts.port == _OLLAMA_PORT:
        return "chat"
    if (
        (not host or host == _OPENAI_HOST)
        and os.environ.get("CEREBRAS_API_KEY")
        and not os.environ.get("OPENAI_API_KEY")
    ):
        return "cerebras"
    return "websocket"


def _is_openai(base_url: str) -> bool:
    return (urlsplit(base_url).hostname or "").lower() == _OPENAI_HOST


def make_transport(
    kind: str,
    *,
    base_url: str,
    api_key: str | None,
    timeouts: Timeouts,
    settings: RequestSettings,
    warmup: bool,
    ssl_context: ssl.SSLContext | None = None,
) -> Transport:
    """Build the transport named ``kind`` (one of TRANSPORT_NAMES, an alias, or ``"auto"``).

    For ``cerebras`` the OpenAI defaults the session filled in are not Cerebras's: an OpenAI base
    URL means "the Cerebras default" (``$CEREBRAS_BASE_URL`` or ``https://api.cerebras.ai``) and
    a key that is just ``$OPENAI_API_KEY`` gives way to ``$CEREBRAS_API_KEY``.

    ``ssl_context`` (None: the system CAs) verifies ``https``/``wss`` servers on every transport.
    """
    name = choose_transport(kind, base_url)
    if name != "cerebras" and not api_key and _is_openai(base_url):
        raise ConfigurationError(
            "no API key: set OPENAI_API_KEY or pass api_key= (or point base_url at a local server)"
        )
    if name == "websocket":
        from .websocket import WebSocketTransport

        return WebSocketTransport(
            base_url,
            api_key,
            timeouts=timeouts,
            warmup=settings if warmup else None,
            ssl_context=ssl_context,
        )
    if name == "http":
        from .http_sse import HttpSseTransport

        return HttpSseTransport(base_url, api_key, timeouts=timeouts, ssl_context=ssl_context)
    if name == "chat":
        from .chat_completions import ChatCompletionsTransport

        return ChatCompletionsTransport(
            base_url, api_key, timeouts=timeouts, ssl_context=ssl_context
        )
    from .cerebras import CerebrasTransport

    host = (urlsplit(base_url).hostname or "").lower() if base_url else ""
    cerebras_url = None if (not host or host == _OPENAI_HOST) else base_url
    key = api_key
    if key is None or key == os.environ.get("OPENAI_API_KEY"):
        key = os.environ.get("CEREBRAS_API_KEY") or (None if cerebras_url is None else key)
    return CerebrasTransport(key, cerebras_url, timeouts=timeouts, ssl_context=ssl_context)
