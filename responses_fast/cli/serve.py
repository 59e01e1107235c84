"""``responses-fast serve``: run the local emulation server until interrupted."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["add_serve_parser", "run_serve"]


def add_serve_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``serve`` subcommand on an argparse subparsers object."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the local emulation server (Responses WebSocket + HTTP/SSE + Chat Completions)",
        description=(
            "Run the local emulation server: Responses WebSocket mode at ws://HOST:PORT/v1/responses,"
            " Responses HTTP/SSE at POST /v1/responses, Chat Completions at "
            "POST /v1/chat/completions. Models: 'scripted' (plays --script), 'echo'. "
            "See docs/server.md."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free)")
    p.add_argument("--script", metavar="FILE", default=None,
                   help="JSON script played by model 'scripted' (default: empty script)")
    p.add_argument("--tokens-per-second", type=float, default=1000.0, metavar="R",
                   help="streaming pace in tokens/s; 0 disables pacing (default 1000)")
    p.add_argument("--ttft", type=float, default=0.0, metavar="S",
                   help="time to first token in seconds (default 0)")
    p.add_argument("--api-key-env", metavar="VAR", default=None,
                   help="require 'Authorization: Bearer <value of $VAR>' on every request")
    p.add_argument("--max-connection-age", type=float, default=3600.0, metavar="S",
                   help="WebSocket max age before websocket_connection_limit_reached "
                        "(default 3600)")
    p.add_argument("--cerebras-quirk", action="store_true",
                   help="re-send each tool call's aggregated fragment on chat completions")
    p.add_argument("--any-model", action="store_true",
                   help="serve every model name: other names play the script (or echo without one)")
    p.add_argument("--ssl-certfile", metavar="FILE", default=None,
                   help="PEM certificate (chain): serve https:// and wss:// (needs --ssl-keyfile)")
    p.add_argument("--ssl-keyfile", metavar="FILE", default=None,
                   help="PEM private key of --ssl-certfile")
    p.set_defaults(func=run_serve)
    return p


def run_serve(args: argparse.Namespace) -> int:
    """Run the server described by parsed ``serve`` arguments; returns an exit code."""
    from responses_fast.server import load_script, run_server

    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            print(f"error: environment variable {args.api_key_env} is not set", file=sys.stderr)
            return 2
    if (args.ssl_certfile is None) != (args.ssl_keyfile is None):
        print("error: --ssl-certfile and --ssl-keyfile go together", file=sys.stderr)
        return 2
    script = None
    if args.script:
        try:
            script = load_script(args.script)
        except (OSError, ValueError) as exc:
            print(f"error: cannot load script {args.script}: {exc}", file=sys.stderr)
            return 2
    run_server(
        args.host, args.port, script=script, tokens_per_second=args.tokens_per_second or None,
        ttft=args.ttft, api_key=api_key, max_connection_age=args.max_connection_age,
        cerebras_quirk=args.cerebras_quirk, any_model=args.any_model,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
    )
    return 0
