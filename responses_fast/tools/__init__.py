"""Function tools and the built-in coding tools."""

from .spec import Tool, ToolResult, tool

__all__ = ["Tool", "ToolResult", "tool"]
