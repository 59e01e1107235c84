"""A tiny raw Responses server over real loopback HTTP: plays fixed event lists, one per request.

For wire shapes the project's scripted server cannot produce yet (custom tool calls, incomplete
responses with cut calls, the compact endpoint); each POST to ``/v1/responses`` answers the next
scripted event list as SSE, and ``/v1/responses/compact`` answers ``compact`` (if set). Every
request body is recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


class RawServer:
    def __init__(self, responses: list[list[dict[str, Any]]]) -> None:
        self.responses = list(responses)
        self.requests: list[dict[str, Any]] = []
        self.compact_requests: list[dict[str, Any]] = []
        self.compact: dict[str, Any] | None = None
        self.url = ""


def _handler(state: RawServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = orjson.dumps(body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = orjson.loads(self.rfile.read(length)) if length else {}
            if self.path.endswith("/responses/compact"):
                state.compact_requests.append(body)
                if state.compact is None:
                    self._json(404, {"error": {"message": "no compact", "type": "not_found"}})
                else:
                    self._json(200, state.compact)
                return
            state.requests.append(body)
            if not state.responses:
                self._json(500, {"error": {"message": "script exhausted", "type": "server"}})
                return
            events = state.responses.pop(0)
            data = b"".join(
                b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n"
                for e in events
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def raw_server(responses: list[list[dict[str, Any]]]) -> Iterator[RawServer]:
    state = RawServer(responses)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def response_events(
    rid: str, items: list[dict[str, Any]], *, status: str = "completed", reason: str | None = None
) -> list[dict[str, Any]]:
    """created, one output_item.done per item, then the terminal event for ``status``."""
    out: list[dict[str, Any]] = [
        {"type": "response.created", "response": {"id": rid, "status": "in_progress"}}
    ]
    for i, item in enumerate(items):
        if item.get("type") == "message":
            text = "".join(p.get("text", "") for p in item.get("content", []))
            out.append(
                {
                    "type": "response.output_text.delta",
                    "item_id": f"m{i}",
                    "output_index": i,
                    "content_index": 0,
                    "delta": text,
                }
            )
        out.append({"type": "response.output_item.done", "output_index": i, "item": item})
    terminal = "response.completed" if status == "completed" else "response.incomplete"
    resp: dict[str, Any] = {
        "id": rid,
        "status": status,
        "output": items,
        "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
    }
    if reason is not None:
        resp["incomplete_details"] = {"reason": reason}
    out.append({"type": terminal, "response": resp})
    return out
