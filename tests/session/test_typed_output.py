"""Typed final output (issue 14, feature 1): the schema on the wire, validation, retries."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from responses_fast import AgentSession, OutputValidationError, SyncAgentSession
from responses_fast.protocol.items import Message, item_text
from responses_fast.server import serve_in_thread
from responses_fast.session.output import OutputSpec, strict_schema
from responses_fast.testing import FaultProxy, WireRequest, scripted_server
from responses_fast.transports.cerebras import CerebrasTransport

pytestmark = pytest.mark.anyio

TRANSPORTS = ["websocket", "http", "chat", "cerebras", "cerebras-create"]
CHAT_LIKE = {"chat", "cerebras", "cerebras-create"}


class City(BaseModel):
    name: str
    population: int
    tags: list[str] = []


GOOD = '{"name": "Paris", "population": 2100000, "tags": ["capital"]}'


def session_for(url: str, transport: str, **kw: Any) -> AgentSession:
    if transport == "cerebras-create":  # the SDK's typed create(), response_format as a kwarg
        kw["transport"] = CerebrasTransport(api_key="sk-test", base_url=url, body="create")
    else:
        kw["transport"] = transport
    return AgentSession("scripted", base_url=url, api_key="sk-test", policy=None, **kw)


def generating(proxy: FaultProxy) -> list[dict[str, Any]]:
    """Bodies of the requests that asked the model for an answer (no warm-ups)."""
    bodies = [r.body for r in proxy.requests if isinstance(r, WireRequest) and r.body]
    return [b for b in bodies if b.get("generate") is not False]


def expected_format(transport: str, body: dict[str, Any]) -> dict[str, Any]:
    if transport in CHAT_LIKE:
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema"
        assert "text" not in body
        return dict(fmt["json_schema"])
    assert "response_format" not in body
    fmt = body["text"]["format"]
    assert fmt["type"] == "json_schema"
    return {k: v for k, v in fmt.items() if k != "type"}


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_valid_answer_is_validated_and_the_schema_travels(transport: str) -> None:
    async with scripted_server([[GOOD]]) as server, FaultProxy(server.port) as proxy:
        async with session_for(proxy.base_url, transport) as session:
            result = await session.run("Describe Paris.", output_type=City)

    assert result.output == City(name="Paris", population=2_100_000, tags=["capital"])
    assert result.final_text == GOOD
    (body,) = generating(proxy)
    fmt = expected_format(transport, body)
    assert fmt["name"] == "City" and fmt["strict"] is True
    schema = fmt["schema"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["name", "population", "tags"]  # defaults made required


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_invalid_answer_is_sent_back_and_the_retry_validates(transport: str) -> None:
    script = [
        ["Sure! Paris has about two million people."],  # not JSON
        ['{"name": "Paris", "population": "many"}'],  # JSON, wrong type
        [GOOD],
    ]
    async with scripted_server(script) as server, FaultProxy(server.port) as proxy:
        async with session_for(proxy.base_url, transport) as session:
            result = await session.run("Describe Paris.", output_type=City)

    assert result.output == City(name="Paris", population=2_100_000, tags=["capital"])
    assert len(result.turns) == 3
    corrections = [
        item_text(i) for i in result.items if isinstance(i, Message) and i.role == "user"
    ][1:]
    assert len(corrections) == 2
    assert "not valid JSON" in corrections[0]
    assert "population" in corrections[1] and "integer" in corrections[1]
    # the corrections reached the model, every request carried the schema
    bodies = generating(proxy)
    assert len(bodies) == 3
    for body in bodies:
        assert expected_format(transport, body)["name"] == "City"
    assert "population" in str(bodies[-1])


async def test_retries_are_bounded_and_the_error_says_what_was_wrong() -> None:
    script = [["nope"], ["still no"], ["never"], [GOOD]]
    async with scripted_server(script) as server:
        async with session_for(server.base_url, "websocket") as session:
            with pytest.raises(OutputValidationError) as err:
                await session.run("Describe Paris.", output_type=City, output_retries=1)
            assert "not valid JSON" in err.value.errors
            assert err.value.text == "still no"
            assert len([r for r in server.requests if r.generate is not False]) == 2
            # the log stays valid: the next run continues the conversation
            again = await session.run("Never mind, just say something.")
            assert again.final_text == "never" and again.output is None


async def test_non_object_types_are_wrapped_and_unwrapped() -> None:
    async with scripted_server([['{"response": [3, 1, 2]}']]) as server:
        async with session_for(server.base_url, "http") as session:
            result = await session.run("Three numbers.", output_type=list[int])
    assert result.output == [3, 1, 2]


def test_sync_session_takes_the_same_options() -> None:
    with serve_in_thread([[GOOD]], tokens_per_second=0) as server:
        with SyncAgentSession(
            "scripted", base_url=server.base_url, api_key="sk-test", policy=None
        ) as session:
            result = session.run("Describe Paris.", output_type=City)
    assert isinstance(result.output, City)


class Inner(BaseModel):
    x: int | None = None


class Outer(BaseModel):
    inner: Inner
    items: list[Inner]


def test_strict_schema_closes_every_object_and_requires_every_property() -> None:
    spec = OutputSpec(Outer)
    assert spec.strict
    inner = spec.schema["$defs"]["Inner"]
    assert inner == {
        "type": "object",
        "properties": {"x": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
        "required": ["x"],
        "additionalProperties": False,
    }
    assert spec.schema["required"] == ["inner", "items"]


def test_open_objects_fall_back_to_a_non_strict_schema() -> None:
    with pytest.raises(ValueError, match="additionalProperties"):
        strict_schema(
            {"type": "object", "properties": {}, "additionalProperties": {"type": "integer"}}
        )
    spec = OutputSpec(dict[str, int])
    assert spec.strict is False and not spec.wrapped  # a dict is an object at the root
    assert spec.json_schema_format()["strict"] is False
    assert spec.check('{"a": 1}') is None and spec.value == {"a": 1}


async def test_stream_reports_the_correction_and_the_validated_output() -> None:
    from responses_fast import ItemAdded

    async with scripted_server([["not json"], [GOOD]]) as server:
        async with session_for(server.base_url, "websocket") as session:
            async with session.stream("Describe Paris.", output_type=City) as events:
                added = [e.item async for e in events if isinstance(e, ItemAdded)]
            assert events.result is not None
            assert events.result.output == City(
                name="Paris", population=2_100_000, tags=["capital"]
            )
    roles = [getattr(i, "role", None) for i in added]
    assert roles == ["assistant", "user", "assistant"]  # the correction is an event too
    assert "not valid JSON" in item_text(added[1])


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class Pet(BaseModel):
    pet: Annotated[Cat | Dog, Field(discriminator="kind")]


def test_discriminated_unions_become_strict_any_of() -> None:
    spec = OutputSpec(Pet)
    assert spec.strict
    pet = spec.schema["properties"]["pet"]
    assert "oneOf" not in pet and "discriminator" not in pet
    assert [m["$ref"] for m in pet["anyOf"]] == ["#/$defs/Cat", "#/$defs/Dog"]
    assert spec.check('{"pet": {"kind": "dog", "good": true}}') is None
    assert spec.value == Pet(pet=Dog(kind="dog", good=True))
