"""HTTP endpoints (placeholder)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

__all__ = ["http_routes"]


async def tcp_warming(request: Request) -> Response:
    return Response(b"", status_code=200)


def http_routes() -> list[BaseRoute]:
    return [Route("/v1/tcp_warming", tcp_warming, methods=["GET"])]
