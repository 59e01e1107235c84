"""Function tools and the built-in coding tools."""

from .spec import FreeformInput, Tool, ToolResult, tool

__all__ = ["FreeformInput", "Tool", "ToolResult", "tool"]
