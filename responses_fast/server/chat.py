"""Chat Completions (placeholder, filled in below)."""

from __future__ import annotations

from starlette.routing import BaseRoute

__all__ = ["chat_routes"]


def chat_routes() -> list[BaseRoute]:
    return []
