"""Conversation items of the Responses API: what goes in ``input`` and comes out in ``output``.

Every model keeps unknown fields (``extra="allow"``) so items round-trip unchanged, and an item
whose ``type`` we do not know becomes an :class:`UnknownItem` instead of an error.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    SerializerFunctionWrapHandler,
    Tag,
    TypeAdapter,
    model_serializer,
)

__all__ = [
    "MODEL_ITEM_TYPES",
    "ContentPart",
    "CustomToolCall",
    "CustomToolCallOutput",
    "FunctionCall",
    "FunctionCallOutput",
    "InputText",
    "Item",
    "Message",
    "OutputText",
    "Reasoning",
    "UnknownItem",
    "item_adapter",
    "item_bytes",
    "item_text",
    "items_adapter",
    "user_message",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    @model_serializer(mode="wrap")
    def _with_type(self, handler: SerializerFunctionWrapHandler) -> Any:
        # ``type`` has a default, so a constructed item (``user_message``) would leave it out of
        # ``item_bytes`` (exclude_unset) and the API would reject the item. Done at serialization,
        # not in __init__: a custom __init__ makes pydantic call it on every parse (~2x slower).
        data = handler(self)
        if isinstance(data, dict) and "type" not in data:
            return {"type": self.type, **data}  # type: ignore[attr-defined]
        return data


class InputText(_Wire):
    type: Literal["input_text"] = "input_text"
    text: str


class OutputText(_Wire):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[Any] = []


class _OtherPart(_Wire):
    type: str


def _part_tag(value: Any) -> str:
    t = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return t if isinstance(t, str) and t in ("input_text", "output_text") else "other"


ContentPart = Annotated[
    Annotated[InputText, Tag("input_text")]
    | Annotated[OutputText, Tag("output_text")]
    | Annotated[_OtherPart, Tag("other")],
    Discriminator(_part_tag),
]


class Message(_Wire):
    """A message from the user, developer, system or assistant."""

    type: Literal["message"] = "message"
    role: str
    content: str | list[ContentPart]
    id: str | None = None
    status: str | None = None


class FunctionCall(_Wire):
    """The model asks for a function tool to be called; ``arguments`` is a JSON string."""

    type: Literal["function_call"] = "function_call"
    call_id: str
    name: str
    arguments: str
    id: str | None = None
    status: str | None = None


class FunctionCallOutput(_Wire):
    """The result of a function call, sent back to the model."""

    type: Literal["function_call_output"] = "function_call_output"
    call_id: str
    output: str | list[Any]
    id: str | None = None
    status: str | None = None


class CustomToolCall(_Wire):
    """The model calls a freeform (custom) tool; ``input`` is free text, not JSON (e.g. a patch)."""

    type: Literal["custom_tool_call"] = "custom_tool_call"
    call_id: str
    name: str
    input: str
    id: str | None = None
    status: str | None = None


class CustomToolCallOutput(_Wire):
    """The result of a custom tool call, sent back to the model."""

    type: Literal["custom_tool_call_output"] = "custom_tool_call_output"
    call_id: str
    output: str | list[Any]
    id: str | None = None


class Reasoning(_Wire):
    """Reasoning item; ``encrypted_content`` lets a stateless client replay it."""

    type: Literal["reasoning"] = "reasoning"
    id: str | None = None
    summary: list[Any] = []
    encrypted_content: str | None = None


class UnknownItem(_Wire):
    """An item type this version does not model; all its fields are kept."""

    type: str


_KNOWN_ITEMS = frozenset(
    {
        "message",
        "function_call",
        "function_call_output",
        "custom_tool_call",
        "custom_tool_call_output",
        "reasoning",
    }
)

#: Item types the model produces: each belongs to a model turn (a server counting turns in a
#: request's history, or a client replaying one, must treat them alike).
MODEL_ITEM_TYPES = frozenset({"message", "reasoning", "function_call", "custom_tool_call"})


def _item_tag(value: Any) -> str:
    t = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if isinstance(t, str) and t in _KNOWN_ITEMS:  # a non-str (e.g. a list) is unhashable
        return t
    # A bare {"role": ..., "content": ...} is a message in the Responses API (EasyInputMessage).
    if t is None and isinstance(value, dict) and "role" in value:
        return "message"
    return "unknown"


Item = Annotated[
    Annotated[Message, Tag("message")]
    | Annotated[FunctionCall, Tag("function_call")]
    | Annotated[FunctionCallOutput, Tag("function_call_output")]
    | Annotated[CustomToolCall, Tag("custom_tool_call")]
    | Annotated[CustomToolCallOutput, Tag("custom_tool_call_output")]
    | Annotated[Reasoning, Tag("reasoning")]
    | Annotated[UnknownItem, Tag("unknown")],
    Discriminator(_item_tag),
]

item_adapter: TypeAdapter[Item] = TypeAdapter(Item)
items_adapter: TypeAdapter[list[Item]] = TypeAdapter(list[Item])


def user_message(text: str) -> Message:
    """The input item for a user prompt."""
    return Message(role="user", content=[InputText(text=text)])


def item_bytes(item: BaseModel) -> bytes:
    """Serialize an item once, as the wire form: fields that were set, unknown fields included."""
    return orjson.dumps(item.model_dump(mode="json", exclude_unset=True, exclude_none=False))


def item_text(item: BaseModel) -> str:
    """The text of a message (parts joined); empty for other items."""
    if not isinstance(item, Message):
        return ""
    if isinstance(item.content, str):
        return item.content
    return "".join(getattr(p, "text", "") or "" for p in item.content)
