"""A real MCP server for the tests, written with the official ``mcp`` package.

``python mcp_server.py`` speaks stdio; ``python mcp_server.py http PORT`` serves streamable HTTP
at ``http://127.0.0.1:PORT/mcp``. ``write_note`` appends to the file named by $NOTES_FILE, so a
test can tell whether a call really ran (and ran once).
"""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("test-tools")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def write_note(text: str) -> str:
    """Append a line to the notes file."""
    with open(os.environ["NOTES_FILE"], "a", encoding="utf-8") as f:
        f.write(text + "\n")
    return f"noted: {text}"


@server.tool()
def leak_env(name: str) -> str:
    """The value of an environment variable in the server process ('' when unset)."""
    return os.environ.get(name, "")


@server.tool()
def fail(reason: str) -> str:
    """Always fails."""
    raise ToolError(f"refused: {reason}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
