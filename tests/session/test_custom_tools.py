"""Freeform (custom) tools in the loop: offered as custom tools where they can be, run with the raw
text, answered with custom_tool_call_output; the function form elsewhere (issue 13 point 2).

The project's scripted server cannot emit ``custom_tool_call`` items yet, so the Responses cases
play fixed event lists from a tiny raw HTTP server over real loopback (raw_responses_server.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from raw_responses_server import raw_server, response_events

from responses_fast.protocol.items import CustomToolCallOutput, FunctionCallOutput
from responses_fast.safety import Policy
from responses_fast.server import serve
from responses_fast.session import AgentSession, ToolCallFlagged
from responses_fast.tools import FreeformInput, Tool, tool
from responses_fast.tools.builtin import coding_tools

pytestmark = pytest.mark.anyio

PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+Hello world\n*** End Patch\n"


def custom_call(cid: str, name: str, text: str) -> dict[str, Any]:
    return {
        "type": "custom_tool_call",
        "id": f"ctc_{cid}",
        "call_id": cid,
        "name": name,
        "input": text,
        "status": "completed",
    }


def answer(text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def tools_by_name(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in request["tools"]}


async def test_codex_model_gets_apply_patch_as_a_lark_custom_tool_and_it_applies(
    tmp_path: Path,
) -> None:
    script = [
        response_events("resp_1", [custom_call("c1", "apply_patch", PATCH)]),
        response_events("resp_2", [answer("Created hello.txt.")]),
    ]
    with raw_server(script) as server:
        async with AgentSession(
            "gpt-5.1-codex",
            tools=coding_tools(tmp_path),
            base_url=server.url,
            transport="http",
            api_key="k",
            policy=Policy(tmp_path),
        ) as session:
            result = await session.run("add hello.txt")

    assert (tmp_path / "hello.txt").read_text() == "Hello world\n"
    assert result.final_text == "Created hello.txt." and result.status == "completed"
    offered = tools_by_name(server.requests[0])
    patch_tool = offered["apply_patch"]
    assert patch_tool["type"] == "custom"
    assert patch_tool["format"]["type"] == "grammar"
    assert patch_tool["format"]["syntax"] == "lark"
    assert "start: begin_patch hunk+ end_patch" in patch_tool["format"]["definition"]
    assert offered["shell"]["type"] == "function"
    outputs = [i for i in result.items if isinstance(i, CustomToolCallOutput)]
    assert [o.call_id for o in outputs] == ["c1"] and "hello.txt" in str(outputs[0].output)
    # The second request carries the call and its custom output back (the API pairs them).
    sent = server.requests[1]["input"]
    kinds = [i["type"] for i in sent]
    assert "custom_tool_call_output" in kinds
    out = next(i for i in sent if i["type"] == "custom_tool_call_output")
    assert out["call_id"] == "c1"


async def test_other_models_get_apply_patch_as_a_function(tmp_path: Path) -> None:
    with raw_server([response_events("resp_1", [answer("ok")])]) as server:
        async with AgentSession(
            "gpt-5.1",
            tools=coding_tools(tmp_path),
            base_url=server.url,
            transport="http",
            api_key="k",
        ) as session:
            await session.run("hi")
    patch_tool = tools_by_name(server.requests[0])["apply_patch"]
    assert patch_tool["type"] == "function"
    assert patch_tool["parameters"]["required"] == ["patch"]


async def test_the_policy_sees_a_custom_patch_as_the_patch_argument(tmp_path: Path) -> None:
    escape = "*** Begin Patch\n*** Add File: ../escaped.txt\n+x\n*** End Patch\n"
    script = [
        response_events("resp_1", [custom_call("c1", "apply_patch", escape)]),
        response_events("resp_2", [answer("gave up")]),
    ]
    flagged: list[ToolCallFlagged] = []
    with raw_server(script) as server:
        async with AgentSession(
            "gpt-5-codex",
            tools=coding_tools(tmp_path),
            base_url=server.url,
            transport="http",
            api_key="k",
            policy=Policy(tmp_path),
        ) as session:
            async with session.stream("escape") as events:
                async for e in events:
                    if isinstance(e, ToolCallFlagged):
                        flagged.append(e)
    assert not (tmp_path.parent / "escaped.txt").exists()
    assert [f.action for f in flagged] == ["deny"]
    out = next(i for i in server.requests[1]["input"] if i["type"] == "custom_tool_call_output")
    assert "denied by the safety policy" in out["output"]


async def test_a_user_custom_tool_with_a_regex_grammar_gets_the_raw_text() -> None:
    seen: list[str] = []

    @tool(freeform=FreeformInput("query", syntax="regex", definition=r"[a-z ]+"))
    def lookup(query: str) -> str:
        """Look something up."""
        seen.append(query)
        return f"found {query!r}"

    script = [
        response_events("resp_1", [custom_call("c1", "lookup", "red apples")]),
        response_events("resp_2", [answer("done")]),
    ]
    with raw_server(script) as server:
        async with AgentSession(
            "gpt-5.1",
            tools=[lookup],
            base_url=server.url,
            transport="http",
            api_key="k",
            policy=None,
        ) as session:
            result = await session.run("find")
    assert seen == ["red apples"]
    offered = tools_by_name(server.requests[0])["lookup"]
    assert offered == {
        "type": "custom",
        "name": "lookup",
        "description": "Look something up.",
        "format": {"type": "grammar", "syntax": "regex", "definition": "[a-z ]+"},
    }
    outputs = [i for i in result.items if isinstance(i, CustomToolCallOutput)]
    assert [o.output for o in outputs] == ["found 'red apples'"]


async def test_chat_completions_offers_a_freeform_tool_as_a_one_string_function() -> None:
    seen: list[str] = []

    @tool(freeform=FreeformInput("text"))
    def shout(text: str) -> str:
        """Upper-case some text."""
        seen.append(text)
        return text.upper()

    script = [
        [{"type": "function_call", "name": "shout", "arguments": {"text": "hey"}}],
        [{"type": "message", "text": "HEY it is."}],
    ]
    async with serve(script=script) as server:
        async with AgentSession(
            "scripted",
            tools=[shout],
            base_url=server.base_url,
            transport="chat",
            api_key="k",
            policy=None,
        ) as session:
            result = await session.run("shout")
            (offered,) = session.request_settings.tools
    assert offered["type"] == "function"
    assert offered["parameters"]["required"] == ["text"]
    assert seen == ["hey"]
    assert [o.output for o in result.items if isinstance(o, FunctionCallOutput)] == ["HEY"]


def test_freeform_input_needs_a_complete_grammar_and_a_matching_parameter() -> None:
    with pytest.raises(ValueError, match="syntax"):
        FreeformInput("x", syntax="lark")
    with pytest.raises(ValueError, match="lark"):
        FreeformInput("x", syntax="peg", definition="a")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="no parameter 'text'"):

        @tool(freeform=FreeformInput("text"))
        def bad(query: str) -> str:
            return query


async def test_a_custom_call_to_a_json_only_tool_is_answered_with_an_error() -> None:
    t = Tool("plain", "d", handler=lambda: "x")
    result = await t.invoke_text("free text")
    assert result.is_error and "JSON arguments" in result.output
