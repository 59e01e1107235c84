"""Tools from an MCP server: a real server process over stdio, its tools in an agent loop.

    python examples/mcp_tools.py

The server is a few lines written with the official ``mcp`` package (``pip install
'responses-fast[mcp]'``); this script starts it as a subprocess with ``MCPStdio``, lists its tools
once and hands them to the session, where they go through the same safety policy, approvals and
output redaction as local tools. Without OPENAI_API_KEY a scripted model on the local server
calls the MCP tool.
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
from pathlib import Path

import anyio

from responses_fast import AgentSession
from responses_fast.protocol.items import FunctionCallOutput
from responses_fast.server import serve
from responses_fast.tools.mcp import MCPStdio

SERVER_CODE = textwrap.dedent(
    '''
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("weather")

    @server.tool()
    def forecast(city: str) -> str:
        """Tomorrow's forecast for a city."""
        return f"{city}: sunny, 21 C"

    server.run()  # stdio
    '''
)

SCRIPT = [
    [{"type": "function_call", "name": "weather_forecast", "arguments": {"city": "Lyon"}}],
    ["Tomorrow in Lyon: sunny, 21 C."],
]


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server_file = Path(tmp) / "weather_server.py"
        server_file.write_text(SERVER_CODE)
        async with MCPStdio(sys.executable, [str(server_file)], prefix="weather_") as mcp:
            tools = await mcp.tools()
            print("MCP tools:", ", ".join(t.name for t in tools))
            if os.environ.get("OPENAI_API_KEY"):
                async with AgentSession(os.environ.get("MODEL", "gpt-5.5"), tools=tools) as s:
                    print((await s.run("What is the weather in Lyon tomorrow?")).final_text)
                return
            async with serve(SCRIPT) as server:
                print(f"no OPENAI_API_KEY: scripted model on the local server {server.base_url}")
                async with AgentSession("scripted", tools=tools, base_url=server.base_url) as s:
                    result = await s.run("What is the weather in Lyon tomorrow?")
                for item in result.items:
                    if isinstance(item, FunctionCallOutput):
                        print("the MCP tool answered:", item.output)
                print(result.final_text)


if __name__ == "__main__":
    anyio.run(main)
