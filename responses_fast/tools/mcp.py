"""Tools from MCP servers, through the official ``mcp`` package (optional extra ``mcp``).

An MCP server is a tool source: :class:`MCPStdio` starts a server process and talks to it over
stdin/stdout, :class:`MCPHttp` connects to a streamable-HTTP endpoint. Each is an async context
manager that owns one MCP client session; ``await server.tools()`` lists the server's tools once
(later calls return the cached list) as ordinary :class:`~responses_fast.tools.spec.Tool`
objects, so they go through the session's safety policy, approvals, output filter and hooks like
local tools::

    async with MCPStdio("python", ["my_server.py"]) as server:
        async with AgentSession(model, tools=[*await server.tools(), *local]) as session:
            await session.run("...")

A call's text content becomes the tool output; structured content without text is sent as JSON;
an MCP error result (``isError``) is a tool error, as is a failed call. Calls are never retried
here: a tool call runs at most once (the session's exactly-once rule).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import orjson

from ..errors import ConfigurationError, UsageError
from .spec import Tool, ToolResult

if TYPE_CHECKING:
    from mcp import ClientSession

__all__ = ["MCPHttp", "MCPServerTools", "MCPStdio"]

_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def _import_mcp() -> Any:
    try:
        import mcp
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ConfigurationError(
            "MCP tools need the 'mcp' package: pip install 'responses-fast[mcp]'"
        ) from None
    return mcp


class MCPServerTools:
    """The common part of the MCP tool sources: one client session, tools listed once.

    Args:
        name: a label for logs, events and tool name prefixes.
        prefix: prepended to every tool name (``"github_"`` -> ``github_create_issue``), to keep
            names of several servers apart; default none.
        allowed: only these tool names (before the prefix) are offered; default all.
        timeout: seconds a call may take before it fails (None: the server decides).
    """

    def __init__(
        self,
        name: str,
        *,
        prefix: str = "",
        allowed: Sequence[str] | None = None,
        timeout: float | None = 60.0,
    ) -> None:
        self.name = name
        self.prefix = prefix
        self.allowed = frozenset(allowed) if allowed is not None else None
        self.timeout = timeout
        self._stack: AsyncExitStack | None = None
        self._session: ClientSession | None = None
        self._tools: list[Tool] | None = None
        #: How many times the server was asked for its tool list (1 per connection).
        self.list_calls = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, connected={self._session is not None})"

    async def _open_streams(self, stack: AsyncExitStack) -> tuple[Any, Any]:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise UsageError(f"MCP server {self.name!r} is already connected")
        mcp = _import_mcp()
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            read, write = await self._open_streams(stack)
            session = await stack.enter_async_context(mcp.ClientSession(read, write))
            await session.initialize()
        except BaseException:
            await stack.aclose()
            raise
        self._stack, self._session = stack, session
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client session (and stop the server process for stdio)."""
        stack, self._stack, self._session = self._stack, None, None
        self._tools = None
        if stack is not None:
            await stack.aclose()

    async def tools(self) -> list[Tool]:
        """The server's tools as :class:`Tool` objects, listed once per connection."""
        if self._tools is None:
            session = self._require_session()
            self.list_calls += 1
            types = _import_mcp().types
            listed: list[Any] = []
            params = None
            while True:  # the tool list may be paginated
                page = await session.list_tools(params=params)
                listed.extend(page.tools)
                if not page.next_cursor:
                    break
                params = types.PaginatedRequestParams(cursor=page.next_cursor)
            self._tools = [
                self._wrap(t) for t in listed if self.allowed is None or t.name in self.allowed
            ]
        return list(self._tools)

    def _require_session(self) -> ClientSession:
        if self._session is None:
            raise UsageError(
                f"MCP server {self.name!r} is not connected: use 'async with' around it"
            )
        return self._session

    def _wrap(self, spec: Any) -> Tool:
        remote_name: str = spec.name
        local_name = _BAD_NAME_CHARS.sub("_", f"{self.prefix}{remote_name}")[:64]
        schema = spec.input_schema
        parameters = dict(schema) if isinstance(schema, Mapping) else {}
        parameters.pop("title", None)
        parameters.setdefault("type", "object")
        parameters.setdefault("properties", {})
        source = self

        async def call(**arguments: Any) -> ToolResult:
            return await source.call(remote_name, arguments)

        return Tool(
            name=local_name,
            description=spec.description or remote_name,
            handler=call,
            parameters=parameters,
            kind="mcp",
        )

    async def call(self, name: str, arguments: Mapping[str, Any]) -> ToolResult:
        """Call one tool of the server by its remote name; the result as tool output text."""
        session = self._require_session()
        result = await session.call_tool(name, dict(arguments), self.timeout)
        return _result_text(result)


def _result_text(result: Any) -> ToolResult:
    texts: list[str] = []
    for block in getattr(result, "content", None) or ():
        kind = getattr(block, "type", None)
        if kind == "text":
            texts.append(block.text)
        elif kind == "resource":
            resource = block.resource
            texts.append(getattr(resource, "text", None) or f"[resource {resource.uri}]")
        elif kind in ("image", "audio"):
            texts.append(f"[{kind} content, {getattr(block, 'mime_type', '') or 'binary'}]")
        elif kind == "resource_link":
            texts.append(f"[resource link {block.uri}]")
    structured = result.structured_content
    if not texts and structured is not None:
        texts.append(orjson.dumps(structured).decode())
    is_error = bool(result.is_error)
    return ToolResult("\n".join(texts), is_error=is_error)


class MCPStdio(MCPServerTools):
    """An MCP server started as a subprocess, spoken to over stdin/stdout.

    The process gets the ``mcp`` package's minimal default environment (PATH, HOME, ... but not
    the parent's API keys) plus ``env``; it is stopped when the context exits.
    """

    def __init__(
        self,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        name: str | None = None,
        prefix: str = "",
        allowed: Sequence[str] | None = None,
        timeout: float | None = 60.0,
    ) -> None:
        super().__init__(
            name or os.path.basename(command), prefix=prefix, allowed=allowed, timeout=timeout
        )
        self.command = command
        self.args = list(args)
        self.env = dict(env) if env is not None else None
        self.cwd = os.fspath(cwd) if cwd is not None else None

    async def _open_streams(self, stack: AsyncExitStack) -> tuple[Any, Any]:
        mcp = _import_mcp()
        params = mcp.StdioServerParameters(
            command=self.command, args=self.args, env=self.env, cwd=self.cwd
        )
        streams = await stack.enter_async_context(mcp.stdio_client(params))
        return streams[0], streams[1]


class MCPHttp(MCPServerTools):
    """An MCP server reached over streamable HTTP at ``url`` (e.g. ``http://host:8000/mcp``).

    ``headers`` (an ``Authorization`` header, say) go with every request and are never logged.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        name: str | None = None,
        prefix: str = "",
        allowed: Sequence[str] | None = None,
        timeout: float | None = 60.0,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"MCP URL must start with http:// or https://: {url!r}")
        super().__init__(name or url, prefix=prefix, allowed=allowed, timeout=timeout)
        self.url = url
        self._headers = dict(headers or {})

    async def _open_streams(self, stack: AsyncExitStack) -> tuple[Any, Any]:
        from mcp.client.streamable_http import streamable_http_client

        client = None
        if self._headers:
            from mcp.shared._httpx_utils import create_mcp_http_client

            client = await stack.enter_async_context(create_mcp_http_client(headers=self._headers))
        streams = await stack.enter_async_context(
            streamable_http_client(self.url, http_client=client)
        )
        return streams[0], streams[1]
