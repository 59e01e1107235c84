"""Local emulation server: Responses WebSocket mode, Responses HTTP/SSE and Chat Completions.

Every test, the demo and the benchmark run against it offline. See docs/server.md.
"""

from .app import LocalServer, ServerThread, load_script, run_server, serve, serve_in_thread
from .stats import RequestRecord, ServerStatistics

__all__ = [
    "LocalServer",
    "RequestRecord",
    "ServerStatistics",
    "ServerThread",
    "load_script",
    "run_server",
    "serve",
    "serve_in_thread",
]
