"""Function tools: the ``@tool`` decorator and :class:`Tool` objects built at run time.

A tool has a name, a description, a JSON schema for its arguments and a handler. ``invoke`` takes
the model's JSON argument string, validates it, calls the handler (sync handlers in a worker
thread) and returns the text the model will see. Invalid arguments and exceptions raised by the
handler become that text too (``ToolResult.is_error``); they never escape and end the run.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, get_type_hints, overload

import anyio
import anyio.to_thread
import orjson
from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from pydantic.fields import FieldInfo

from .context import is_context_annotation

__all__ = ["Tool", "ToolResult", "tool"]

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

Handler = Callable[..., Any]


@dataclass(slots=True, frozen=True)
class ToolResult:
    """What a tool call produced: the output text for the model and whether it is an error."""

    output: str
    is_error: bool = False


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _format_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or "arguments"
        parts.append(f"{loc}: {err['msg']}")
    return "invalid arguments: " + "; ".join(parts)


@dataclass(eq=False)
class Tool:
    """A function tool the model may call.

    Give ``parameters`` (a JSON schema) for tools defined at run time, or ``args_model`` (a pydantic
    model) to get validation too; ``@tool`` fills ``args_model`` from the function's type hints.
    The handler receives the validated arguments as keyword arguments.
    """

    name: str
    description: str
    handler: Handler
    parameters: dict[str, Any] = field(default_factory=dict)
    args_model: type[BaseModel] | None = None
    strict: bool = False
    #: A short label the safety policy and the event stream use ("shell", "read", "write", ...).
    kind: str = "custom"
    #: The handler parameter that receives the call's ``RunContext`` (not part of the schema).
    context_param: str | None = None

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"tool name {self.name!r} must match [A-Za-z0-9_-]{{1,64}}")
        if self.args_model is not None and not self.parameters:
            self.parameters = _schema_of(self.args_model)
        if not self.parameters:
            self.parameters = {"type": "object", "properties": {}}
        self._is_async = inspect.iscoroutinefunction(self.handler)

    def schema(self) -> dict[str, Any]:
        """The Responses API tool definition."""
        out: dict[str, Any] = {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
        }
        if self.strict:
            out["strict"] = True
        return out

    def parse_arguments(self, arguments: str) -> dict[str, Any]:
        """Decode and validate the model's argument string; raises ValueError with a clear text."""
        try:
            data = orjson.loads(arguments or "{}")
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"arguments are not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("arguments must be a JSON object")
        if self.args_model is not None:
            try:
                model = self.args_model.model_validate(data)
            except ValidationError as exc:
                raise ValueError(_format_validation(exc)) from None
            return {name: getattr(model, name) for name in type(model).model_fields}
        missing = [k for k in self.parameters.get("required", ()) if k not in data]
        if missing:
            raise ValueError(f"invalid arguments: missing required {', '.join(missing)}")
        return data

    async def invoke(self, arguments: str, context: Any = None) -> ToolResult:
        """Validate and run; every failure becomes an error result, never an exception.

        ``context`` (a ``RunContext``) is passed to the handler's context parameter, if any.
        """
        try:
            kwargs = self.parse_arguments(arguments)
        except ValueError as exc:
            return ToolResult(str(exc), is_error=True)
        if self.context_param is not None:
            if context is None:
                return ToolResult(f"error: tool {self.name!r} needs a RunContext", is_error=True)
            kwargs[self.context_param] = context
        try:
            if self._is_async:
                value = await self.handler(**kwargs)
            else:
                value = await anyio.to_thread.run_sync(_call_kwargs, self.handler, kwargs)
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:
            return ToolResult(f"error: {_one_line(exc)}", is_error=True)
        if isinstance(value, ToolResult):  # a handler that reports its own errors (MCP tools)
            return value
        return ToolResult(_to_text(value))


def _call_kwargs(fn: Handler, kwargs: Mapping[str, Any]) -> Any:
    return fn(**kwargs)


def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        if isinstance(prop, dict):
            prop.pop("title", None)
    return schema


_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters):\s*$")
_ARG_LINE = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Description (text before the Args section) and per-argument descriptions (Google style)."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    desc: list[str] = []
    args: dict[str, str] = {}
    i = 0
    while i < len(lines) and not _ARGS_HEADER.match(lines[i]):
        desc.append(lines[i])
        i += 1
    current: str | None = None
    for line in lines[i + 1 :]:
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            break  # next section (Returns:, Raises:)
        m = _ARG_LINE.match(line)
        if m and (len(line) - len(line.lstrip())) <= 4:
            current = m.group(1).lstrip("*")
            args[current] = m.group(2).strip()
        elif current and line.strip():
            args[current] = (args[current] + " " + line.strip()).strip()
    return "\n".join(desc).strip(), args


def _model_for(fn: Handler, arg_docs: Mapping[str, str]) -> type[BaseModel]:
    hints = get_type_hints(fn)
    fields: dict[str, Any] = {}
    for pname, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"tool {fn.__name__!r}: *args/**kwargs are not supported")
        annotation = hints.get(pname, Any)
        if is_context_annotation(annotation):
            continue  # filled in by the session (RunContext), never by the model
        default = param.default
        if isinstance(default, FieldInfo):
            info = default
            if info.description is None and pname in arg_docs:
                info.description = arg_docs[pname]
        else:
            info = FieldInfo.from_annotated_attribute(
                annotation, ... if default is param.empty else default
            )
            if pname in arg_docs:
                info.description = arg_docs[pname]
        fields[pname] = (annotation, info)
    return create_model(
        f"{fn.__name__}_args",
        __config__=ConfigDict(extra="forbid"),
        **fields,
    )


def _context_param(fn: Handler) -> str | None:
    """The parameter annotated ``RunContext[...]``, if the function declares one."""
    hints = get_type_hints(fn)
    found = [p for p in inspect.signature(fn).parameters if is_context_annotation(hints.get(p))]
    if len(found) > 1:
        raise TypeError(f"tool {fn.__name__!r}: more than one RunContext parameter")
    return found[0] if found else None


@overload
def tool(fn: Handler, /) -> Tool: ...
@overload
def tool(
    *, name: str | None = None, description: str | None = None, kind: str = "custom"
) -> Callable[[Handler], Tool]: ...


def tool(
    fn: Handler | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    kind: str = "custom",
) -> Tool | Callable[[Handler], Tool]:
    """Turn a typed function (sync or async) into a :class:`Tool`.

    The JSON schema comes from the type hints, the description from the docstring's first part and
    per-argument descriptions from its ``Args:`` section.
    """

    def build(f: Handler) -> Tool:
        desc, arg_docs = _parse_docstring(f.__doc__)
        model = _model_for(f, arg_docs)
        return Tool(
            name=name or f.__name__,
            description=description or desc or f.__name__,
            handler=f,
            args_model=model,
            kind=kind,
            context_param=_context_param(f),
        )

    if fn is not None:
        return build(fn)
    return build
