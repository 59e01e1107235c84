"""Function tools and the built-in coding tools."""

from .context import RunContext
from .spec import Tool, ToolResult, tool

__all__ = ["RunContext", "Tool", "ToolResult", "tool"]
