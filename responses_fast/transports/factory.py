"""Choosing and building a transport from a name, the base URL and the model."""

from __future__ import annotations

from ..config import Timeouts
from ..errors import ConfigurationError
from .base import RequestSettings, Transport

__all__ = ["TRANSPORT_NAMES", "make_transport"]

TRANSPORT_NAMES = ("websocket",)


def make_transport(
    kind: str,
    *,
    base_url: str,
    api_key: str | None,
    timeouts: Timeouts,
    settings: RequestSettings,
    warmup: bool,
) -> Transport:
    """Build the transport named ``kind`` (see TRANSPORT_NAMES)."""
    if kind == "websocket":
        from .websocket import WebSocketTransport

        return WebSocketTransport(
            base_url, api_key, timeouts=timeouts, warmup=settings if warmup else None
        )
    names = ", ".join(TRANSPORT_NAMES)
    raise ConfigurationError(f"unknown transport {kind!r}; choose one of {names}")
