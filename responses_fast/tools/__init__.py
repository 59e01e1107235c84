"""Function tools and the built-in coding tools."""

from .context import RunContext
from .spec import FreeformInput, Tool, ToolResult, tool

__all__ = ["FreeformInput", "RunContext", "Tool", "ToolResult", "tool"]
