"""The safety policy inside a real session loop (issue 6): deny, ask + approval, redaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from responses_fast.protocol.items import FunctionCall, FunctionCallOutput
from responses_fast.safety import Policy
from responses_fast.server import serve
from responses_fast.session import AgentSession, ToolCallFinished, ToolCallFlagged
from responses_fast.tools.builtin import coding_tools

pytestmark = pytest.mark.anyio


def shell(command: str) -> dict[str, Any]:
    return {"type": "function_call", "name": "shell", "arguments": {"command": command}}


def msg(text: str) -> dict[str, Any]:
    return {"type": "message", "text": text}


async def _run(
    workspace: Path, script: list[Any], **kw: Any
) -> tuple[list[ToolCallFlagged], list[ToolCallFinished], list[Any]]:
    flagged: list[ToolCallFlagged] = []
    finished: list[ToolCallFinished] = []
    async with serve(script=script) as server:
        async with AgentSession(
            "scripted",
            tools=coding_tools(workspace),
            base_url=server.base_url,
            api_key="k",
            policy=Policy(workspace),
            **kw,
        ) as session:
            async with session.stream("do it") as events:
                async for event in events:
                    if isinstance(event, ToolCallFlagged):
                        flagged.append(event)
                    elif isinstance(event, ToolCallFinished):
                        finished.append(event)
            return flagged, finished, session.items


async def test_denied_call_is_not_run_and_the_model_is_told_why(tmp_path: Path) -> None:
    victim = tmp_path.parent / f"{tmp_path.name}-outside"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    script = [[shell(f"rm -rf {victim}")], [shell("ls")], [msg("adapted")]]
    flagged, finished, items = await _run(tmp_path, script)

    assert (victim / "keep.txt").read_text() == "precious"
    assert [f.action for f in flagged] == ["deny"]
    assert flagged[0].rule == "rm-recursive-outside"
    denied = finished[0]
    assert denied.denied and denied.is_error
    assert "denied by the safety policy" in denied.output
    # The loop went on: the model saw the refusal and its next call ran.
    assert not finished[1].denied
    assert items[-1].model_dump()["content"][0]["text"] == "adapted"


@pytest.mark.parametrize("answer", [True, False])
@pytest.mark.parametrize("asynchronous", [False, True])
async def test_ask_goes_to_the_approval_callback(
    tmp_path: Path, answer: bool, asynchronous: bool
) -> None:
    seen: list[tuple[str, str]] = []

    def approve(call: FunctionCall, decision: Any) -> bool:
        seen.append((call.name, decision.rule))
        return answer

    async def approve_async(call: FunctionCall, decision: Any) -> bool:
        return approve(call, decision)

    (tmp_path / "f.txt").write_text("x")
    script = [[shell("git reset --hard && echo reset-ran")], [msg("ok")]]
    flagged, finished, _ = await _run(
        tmp_path, script, approval=approve_async if asynchronous else approve
    )
    assert seen == [("shell", "git-reset-hard")]
    assert flagged[0].action == "ask" and flagged[0].approved is answer
    assert finished[0].denied is (not answer)
    if not answer:
        assert "not approved" in finished[0].output


async def test_without_an_approval_callback_ask_is_refused(tmp_path: Path) -> None:
    script = [[shell("sudo ls")], [msg("ok")]]
    flagged, finished, _ = await _run(tmp_path, script)
    assert flagged[0].action == "ask" and flagged[0].approved is False
    assert finished[0].denied


async def test_secrets_in_tool_output_are_redacted_before_the_model_sees_them(
    tmp_path: Path,
) -> None:
    key = "sk-proj-" + "A1b2C3d4" * 6
    (tmp_path / "config.py").write_text(f'OPENAI_KEY = "{key}"\n')
    script = [[{"type": "function_call", "name": "read_file",
                "arguments": {"path": "config.py"}}], [msg("ok")]]
    async with serve(script=script) as server:
        async with AgentSession(
            "scripted", tools=coding_tools(tmp_path), base_url=server.base_url,
            api_key="k", policy=Policy(tmp_path),
        ) as session:
            await session.run("read the config")
            outputs = [i for i in session.items if isinstance(i, FunctionCallOutput)]
    assert key not in str(outputs[0].output)
    assert "REDACTED" in str(outputs[0].output)
