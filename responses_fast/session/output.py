"""Typed final output: ``run(prompt, output_type=Model)``.

The JSON schema of ``output_type`` goes to the model as a structured-output format (``text.format``
on the Responses API, ``response_format`` on Chat Completions), and the final answer is validated
with pydantic. An invalid answer is sent back with what was wrong, at most ``retries`` times.

Strict structured outputs accept a subset of JSON schema: every object closed
(``additionalProperties: false``) with all its properties required, and an object at the root.
:func:`strict_schema` rewrites pydantic's schema into that form; a type that cannot be expressed
(a ``dict[str, X]``, which needs open objects) is sent with ``strict: false``. A root that is not
an object (``list[int]``, ``int``, a union) is wrapped as ``{"response": ...}`` and unwrapped
after validation.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Any

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import ResponsesFastError
from ..transports.base import RequestSettings

__all__ = ["OutputSpec", "OutputValidationError", "strict_schema"]

_WRAP_KEY = "response"
_CHAT_TRANSPORTS = frozenset({"chat", "cerebras"})


class OutputValidationError(ResponsesFastError):
    """The model's final answer did not validate against ``output_type``, retries included.

    ``text`` is the last answer and ``errors`` what was wrong with it.
    """

    def __init__(self, message: str, *, text: str, errors: str) -> None:
        super().__init__(message)
        self.text = text
        self.errors = errors


class _NotStrict(Exception):
    """The schema uses something strict mode cannot express."""


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` in the form strict structured outputs require.

    Raises ValueError when that is impossible (an object with open ``additionalProperties``).
    """
    out = copy.deepcopy(schema)
    try:
        _make_strict(out)
    except _NotStrict as exc:
        raise ValueError(str(exc)) from None
    return out


def _make_strict(node: Any) -> None:
    if isinstance(node, list):
        for child in node:
            _make_strict(child)
        return
    if not isinstance(node, dict):
        return
    node.pop("title", None)
    if "oneOf" in node:
        # strict mode takes anyOf only; a discriminated union's members exclude each other anyway
        node["anyOf"] = node.pop("oneOf")
        node.pop("discriminator", None)
    if "$ref" in node and len(node) > 1:
        # strict mode rejects siblings of $ref (pydantic puts descriptions/defaults there)
        for key in [k for k in node if k != "$ref"]:
            del node[key]
    if node.get("type") == "object" or "properties" in node:
        extra = node.get("additionalProperties")
        if extra not in (None, False):
            raise _NotStrict("an object with additionalProperties (e.g. a dict) is not strict")
        node["additionalProperties"] = False
        props = node.setdefault("properties", {})
        node["required"] = list(props)
        for prop in props.values():
            if isinstance(prop, dict):
                # a default cannot be expressed: every property is required
                prop.pop("default", None)
    for key in ("properties", "$defs", "definitions"):
        sub = node.get(key)
        if isinstance(sub, dict):
            for child in sub.values():
                _make_strict(child)
    for key in ("items", "anyOf", "allOf", "prefixItems"):
        if key in node:
            _make_strict(node[key])


def _schema_name(output_type: Any) -> str:
    raw = getattr(output_type, "__name__", None) or "output"
    name = re.sub(r"[^A-Za-z0-9_-]", "_", str(raw))[:64]
    return name or "output"


class OutputSpec:
    """What one run needs to ask for and check a typed answer."""

    def __init__(self, output_type: Any, *, retries: int = 2, name: str | None = None) -> None:
        if retries < 0:
            raise ValueError("output_retries must be >= 0")
        self.output_type = output_type
        self.retries = retries
        self.name = name or _schema_name(output_type)
        self._adapter: TypeAdapter[Any] = TypeAdapter(output_type)
        schema = self._adapter.json_schema()
        self.wrapped = schema.get("type") != "object"
        if self.wrapped:
            defs = schema.pop("$defs", None)
            schema = {
                "type": "object",
                "properties": {_WRAP_KEY: schema},
                "required": [_WRAP_KEY],
            }
            if defs:
                schema["$defs"] = defs
        try:
            self.schema = strict_schema(schema)
            self.strict = True
        except ValueError:
            schema.pop("title", None)
            self.schema = schema
            self.strict = False
        self.attempts = 0
        self.value: Any = None
        self.valid = False
        self.last_errors = ""

    # -- the request side

    def json_schema_format(self) -> dict[str, Any]:
        """The Responses API ``text.format`` object."""
        return {
            "type": "json_schema",
            "name": self.name,
            "schema": self.schema,
            "strict": self.strict,
        }

    def settings_for(self, settings: RequestSettings, transport_name: str) -> RequestSettings:
        """``settings`` plus the output format, in the field the transport's API reads."""
        extra = [(k, v) for k, v in settings.extra if k not in ("text", "response_format")]
        if transport_name in _CHAT_TRANSPORTS:
            fmt = {
                "type": "json_schema",
                "json_schema": {"name": self.name, "schema": self.schema, "strict": self.strict},
            }
            extra.append(("response_format", fmt))
        else:
            text = dict(next((v for k, v in settings.extra if k == "text"), None) or {})
            text["format"] = self.json_schema_format()
            extra.append(("text", text))
        return dataclasses.replace(settings, extra=tuple(extra))

    # -- the answer side

    def check(self, text: str) -> str | None:
        """Validate a final answer: None when valid (``value`` holds it), else a correction
        message for the model, or raises OutputValidationError once the retries are spent."""
        self.attempts += 1
        try:
            data = orjson.loads(text)
            value = self._adapter.validate_python(data[_WRAP_KEY] if self.wrapped else data)
        except orjson.JSONDecodeError as exc:
            errors = f"the answer is not valid JSON ({exc})"
        except (KeyError, TypeError):
            errors = f"the answer must be a JSON object with the key {_WRAP_KEY!r}"
        except ValidationError as exc:
            errors = _describe(exc)
        else:
            self.value, self.valid = value, True
            return None
        self.last_errors = errors
        if self.attempts > self.retries:
            raise OutputValidationError(
                f"the final answer did not match {self.name} after {self.attempts} attempts: "
                f"{errors}",
                text=text,
                errors=errors,
            )
        return (
            f"Your answer does not match the required JSON schema: {errors}. "
            "Answer again with only a JSON value that matches the schema."
        )


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"] if p != _WRAP_KEY) or "the answer"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def output_text(value: Any) -> str:
    """A validated output as text for another model (a sub-agent's tool result)."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return TypeAdapter(type(value)).dump_json(value).decode()
