"""AgentSession end to end over loopback against the local server (issue 3)."""

from __future__ import annotations

import itertools
import logging
from typing import Any

import anyio
import pytest

from responses_fast.config import RetryPolicy
from responses_fast.errors import UsageError
from responses_fast.protocol.items import FunctionCall, FunctionCallOutput
from responses_fast.server import serve
from responses_fast.session import (
    AgentSession,
    Reconnected,
    SyncAgentSession,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)
from responses_fast.tools import Tool, tool

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=4)


def fc(name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "name": name, "arguments": arguments}


def msg(text: str) -> dict[str, Any]:
    return {"type": "message", "text": text}


class Recorder:
    """Tools that record when they ran (monotonic order, never durations)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.log: list[str] = []

    def tools(self) -> list[Tool]:
        rec = self

        @tool
        async def read_file(path: str) -> str:
            """Read a file of the workspace.

            Args:
                path: path relative to the workspace
            """
            rec.calls.append(("read_file", {"path": path}))
            rec.log.append(f"start {path}")
            await anyio.sleep(0.05)
            rec.log.append(f"end {path}")
            return f"contents of {path}"

        @tool
        def add(a: int, b: int) -> int:
            """Add two integers."""
            rec.calls.append(("add", {"a": a, "b": b}))
            return a + b

        @tool
        async def explode(reason: str) -> str:
            """Always fails."""
            rec.calls.append(("explode", {"reason": reason}))
            raise RuntimeError(f"tool blew up: {reason}")

        return [read_file, add, explode]


SCRIPT = {
    "tokens_per_second": 4000,
    "turns": [
        [msg("Looking at the code."), fc("read_file", path="a.py")],
        [fc("add", a=2, b=3)],
        [msg("Done: the answer is 5.")],
    ],
}


def session_for(server: Any, rec: Recorder, **kw: Any) -> AgentSession:
    kw.setdefault("retry", FAST)
    return AgentSession(
        "scripted",
        tools=rec.tools(),
        instructions="You are a test agent.",
        base_url=server.base_url,
        api_key="sk-test-key-0123456789",
        **kw,
    )


async def test_multi_turn_tool_loop_sends_only_new_items_after_turn_one() -> None:
    rec = Recorder()
    async with serve(script=SCRIPT) as server, session_for(server, rec) as session:
        result = await session.run("What is 2+3?")

    assert result.final_text == "Done: the answer is 5."
    assert result.status == "completed"
    assert rec.calls == [("read_file", {"path": "a.py"}), ("add", {"a": 2, "b": 3})]
    outputs = [i for i in result.items if isinstance(i, FunctionCallOutput)]
    assert [o.output for o in outputs] == ["contents of a.py", "5"]
    assert len(result.turns) == 3
    assert result.usage.output_tokens > 0

    turns = [r for r in server.requests if r.endpoint == "ws" and r.generate is not False]
    assert len({r.connection_id for r in server.requests}) == 1, "one socket for the whole run"
    assert [r.input_items for r in turns] == [1, 1, 1]  # prompt, then one tool output per turn
    # run() followed the session's start at once: no warm-up, so turn 1 starts the chain.
    assert [r.previous_response_id is not None for r in turns] == [False, True, True]
    for earlier, later in itertools.pairwise(turns):
        assert later.previous_response_id == earlier.response_id


async def test_an_idle_session_warms_the_socket_and_turn_one_continues_it() -> None:
    rec = Recorder()
    async with serve(script=SCRIPT) as server, session_for(server, rec) as session:
        with anyio.fail_after(5):
            # The record appears when the warm-up arrives; wait until it has been answered.
            while not any(  # noqa: ASYNC110
                r.generate is False and r.status == "completed" for r in server.requests
            ):
                await anyio.sleep(0.005)  # the server's records are not awaitable: poll
        warm = next(r for r in server.requests if r.generate is False)
        assert warm.input_items == 0 and warm.status == "completed"
        result = await session.run("What is 2+3?")
    assert result.final_text == "Done: the answer is 5."
    first = next(r for r in server.requests if r.generate is not False)
    assert first.previous_response_id == warm.response_id
    assert first.input_items == 1
    assert len({r.connection_id for r in server.requests}) == 1


async def test_parallel_calls_overlap_and_start_before_the_response_completes() -> None:
    script = {
        "tokens_per_second": 2000,
        "turns": [
            [
                fc("read_file", path="a.py"),
                fc("read_file", path="b.py"),
                msg("While those run, here is a long explanation " * 6),
            ],
            [msg("ok")],
        ],
    }
    rec = Recorder()
    order: list[str] = []
    async with serve(script=script) as server, session_for(server, rec) as session:
        async with session.stream("read both") as events:
            async for event in events:
                if isinstance(event, ToolCallStarted):
                    order.append(f"started {event.call_id}")
                elif isinstance(event, TextDelta) and event.turn == 1:
                    order.append("delta")
                elif isinstance(event, TurnFinished) and event.turn == 1:
                    order.append("turn finished")
        assert events.result is not None

    # Both executions overlap: each starts before the other ends.
    assert rec.log.index("start b.py") < rec.log.index("end a.py")
    assert rec.log.index("start a.py") < rec.log.index("end b.py")
    # The calls started while text of the same response was still streaming.
    first_start = order.index(next(o for o in order if o.startswith("started")))
    assert "delta" in order[first_start + 1 :], order
    outputs = [i for i in events.result.items if isinstance(i, FunctionCallOutput)]
    assert [o.output for o in outputs] == ["contents of a.py", "contents of b.py"]


async def test_tool_errors_and_bad_arguments_become_outputs() -> None:
    script = [
        [fc("explode", reason="kaboom"), fc("add", a="not a number", b=1), fc("nope")],
        [msg("recovered")],
    ]
    rec = Recorder()
    async with serve(script=script) as server, session_for(server, rec) as session:
        events = []
        async with session.stream("go") as stream:
            async for event in stream:
                if isinstance(event, ToolCallFinished):
                    events.append(event)
        result = stream.result
    assert result is not None and result.final_text == "recovered"
    by_name = {e.name: e for e in events}
    assert by_name["explode"].is_error and "tool blew up: kaboom" in by_name["explode"].output
    assert by_name["add"].is_error and "invalid arguments" in by_name["add"].output
    assert by_name["nope"].is_error and "unknown tool" in by_name["nope"].output
    assert ("add", {"a": "not a number", "b": 1}) not in rec.calls  # never called
    outputs = {i.call_id: i.output for i in result.items if isinstance(i, FunctionCallOutput)}
    assert len(outputs) == 3


async def test_socket_killed_mid_stream_tools_run_exactly_once() -> None:
    script = {
        "tokens_per_second": 4000,
        "turns": [
            [fc("read_file", path="a.py"), fc("add", a=1, b=2)],
            {
                "output": [fc("add", a=10, b=20), msg("partial text that never completes " * 3)],
                # After the call is complete (and its tool started), the TCP connection dies.
                "fault": {"kind": "close", "after_events": 14, "code": 1006, "times": 1},
            },
            [msg("finished")],
        ],
    }
    rec = Recorder()
    reconnects: list[Reconnected] = []
    async with serve(script=script) as server, session_for(server, rec) as session:
        async with session.stream("go") as stream:
            async for event in stream:
                if isinstance(event, Reconnected):
                    reconnects.append(event)
        result = stream.result
        assert result is not None
        log_items = session.items

    assert result.final_text == "finished"
    assert len(reconnects) == 1
    assert sorted(str(c) for c in rec.calls) == sorted(
        str(c) for c in [("read_file", {"path": "a.py"}), ("add", {"a": 1, "b": 2}),
                         ("add", {"a": 10, "b": 20})]
    )
    calls = [i.call_id for i in log_items if isinstance(i, FunctionCall)]
    outputs = [i.call_id for i in log_items if isinstance(i, FunctionCallOutput)]
    assert len(calls) == len(set(calls)) == 3
    assert sorted(outputs) == sorted(calls), "every call has exactly one output"
    sockets = {r.connection_id for r in server.requests if r.endpoint == "ws"}
    assert len(sockets) == 2
    replay = [r for r in server.requests if r.endpoint == "ws" and r.generate is not False][-1]
    assert replay.previous_response_id is None or replay.input_items > 1  # full context


async def test_cancellation_mid_turn_cancels_tools_and_keeps_log_valid() -> None:
    started = anyio.Event()
    cancelled: list[bool] = []

    @tool
    async def slow(seconds: float) -> str:
        """Sleep."""
        started.set()
        try:
            await anyio.sleep(seconds)
        except anyio.get_cancelled_exc_class():
            cancelled.append(True)
            raise
        return "slept"

    script = [[fc("slow", seconds=30)], [msg("after cancel")], [msg("second run")]]
    async with serve(script=script) as server:
        async with AgentSession(
            "scripted", tools=[slow], base_url=server.base_url, api_key="sk-x"
        ) as session:
            async with anyio.create_task_group() as tg:

                async def runner() -> None:
                    await session.run("sleep please")

                tg.start_soon(runner)
                await started.wait()
                tg.cancel_scope.cancel()
            assert cancelled == [True]
            # The log has an output for the cancelled call, so the conversation can go on.
            items = session.items
            calls = [i for i in items if isinstance(i, FunctionCall)]
            outs = [i for i in items if isinstance(i, FunctionCallOutput)]
            assert [o.call_id for o in outs] == [c.call_id for c in calls]
            assert "cancelled" in str(outs[0].output)
            result = await session.run("continue")
            assert result.final_text == "after cancel"


async def test_second_concurrent_run_is_refused() -> None:
    script = {"tokens_per_second": 200, "turns": [[msg("slow answer " * 10)]] * 3}
    async with serve(script=script) as server:
        async with AgentSession("scripted", base_url=server.base_url, api_key="k") as session:
            async with anyio.create_task_group() as tg:
                tg.start_soon(session.run, "first")
                await anyio.sleep(0.01)
                with pytest.raises(UsageError):
                    await session.run("second")
                tg.cancel_scope.cancel()


async def test_runs_continue_the_same_conversation() -> None:
    async with serve(script=[[msg("one")], [msg("two")]]) as server:
        async with AgentSession("scripted", base_url=server.base_url, api_key="k") as session:
            assert (await session.run("first")).final_text == "one"
            assert (await session.run("second")).final_text == "two"
            assert len(session.items) == 4
    turns = [r for r in server.requests if r.generate is not False]
    assert turns[1].previous_response_id == turns[0].response_id
    assert turns[1].input_items == 1


async def test_api_key_never_logged_or_shown(caplog: pytest.LogCaptureFixture) -> None:
    key = "sk-proj-SECRETSECRETSECRET123456"
    caplog.set_level(logging.DEBUG)
    script = {"turns": [{"output": [msg("x")], "fault": {"kind": "error", "status": 500}}]}
    async with serve(script=script) as server:
        session = AgentSession(
            "scripted", base_url=server.base_url, api_key=key, retry=FAST
        )
        async with session:
            await session.run("hi")
        text = repr(session) + repr(session.transport) + caplog.text
    assert key not in text
    assert "SECRET" not in text


def test_sync_facade_inside_a_running_event_loop() -> None:
    """A notebook cell runs with a loop already running in the thread: the facade still works."""

    async def cell() -> str:
        from responses_fast.server import serve_in_thread

        with serve_in_thread(script=[[fc("add", a=1, b=1)], [msg("two")]]) as server:
            rec = Recorder()
            with SyncAgentSession(
                "scripted", tools=rec.tools(), base_url=server.base_url, api_key="k"
            ) as session:
                kinds = [type(e).__name__ for e in session.stream("1+1?")]
                assert "ToolCallFinished" in kinds
                return session.session.items[-1].model_dump()["content"][0]["text"]  # type: ignore[no-any-return]

    import asyncio

    assert asyncio.run(cell()) == "two"


async def test_context_budget_trims_old_outputs_and_resends_full_context() -> None:
    from responses_fast.cache import BudgetPolicy
    from responses_fast.session import ContextTrimmed

    @tool
    def dump(n: int) -> str:
        """Return a large block of text."""
        return f"block {n}: " + ("lorem ipsum dolor sit amet " * 120)

    # Trimming drops model turns from the context, so the scripted model picks its answer by the
    # latest tool output rather than by the turn index.
    step = {
        "alternatives": [{"match": "block 5:", "output": [msg("summarised")]}]
        + [{"match": f"block {i}:", "output": [fc("dump", n=i + 1)]} for i in range(5)]
        + [{"output": [fc("dump", n=0)]}]
    }
    turns: list[Any] = [step] * 12
    trims: list[ContextTrimmed] = []
    async with serve(script={"tokens_per_second": 0, "turns": turns}) as server:
        async with AgentSession(
            "scripted",
            tools=[dump],
            base_url=server.base_url,
            api_key="k",
            context_window=4000,
            budget_policy=BudgetPolicy(keep_recent_turns=2),
        ) as session:
            async with session.stream("dump everything") as events:
                async for event in events:
                    if isinstance(event, ContextTrimmed):
                        trims.append(event)
            assert events.result is not None
            assert events.result.final_text == "summarised"
            outputs = [i for i in session.items if isinstance(i, FunctionCallOutput)]
    assert trims, "a 4000-token window cannot hold six 700-token outputs"
    report = trims[0].report
    assert report.tokens_after <= report.limit < report.tokens_before
    assert any("omitted" in str(o.output) for o in outputs)
    # The request after a trim cannot extend the server's chain: it carries the full context.
    after_trim = [r for r in server.requests if r.generate is not False]
    assert any(r.previous_response_id is None and r.input_items > 1 for r in after_trim)


async def test_huge_and_binary_tool_outputs_are_truncated_and_marked() -> None:
    @tool
    def big() -> str:
        """Three megabytes of log."""
        return "x" * 3_000_000

    @tool
    def binary() -> bytes:
        """Raw bytes that are not UTF-8."""
        return b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4

    script = [[fc("big"), fc("binary")], [msg("ok")]]
    async with serve(script=script) as server:
        async with AgentSession(
            "scripted", tools=[big, binary], base_url=server.base_url, api_key="k",
            max_tool_output_bytes=10_000,
        ) as session:
            result = await session.run("go")
    outs = [str(i.output) for i in result.items if isinstance(i, FunctionCallOutput)]
    assert len(outs[0]) < 11_000 and "omitted" in outs[0]
    assert "\ufffd" in outs[1] or "binary" in outs[1]
    assert result.final_text == "ok"


async def test_a_partial_answer_without_calls_is_regenerated_not_repeated() -> None:
    # 11 events = created, in_progress, item added, part added, 4 deltas, text done, part done,
    # item done: the whole message arrived, then the socket dies before response.completed.
    script = [
        {"output": [msg("Final answer.")],
         "fault": {"kind": "close", "after_events": 11, "code": 1006, "times": 1}},
    ]
    async with serve(script=script) as server:
        async with AgentSession(
            "scripted", base_url=server.base_url, api_key="k", retry=FAST
        ) as session:
            result = await session.run("answer")
            answers = [
                i for i in session.items if getattr(i, "role", None) == "assistant"
            ]
    assert result.final_text == "Final answer."
    assert len(answers) == 1, "the half-delivered response must not stay in the context"
    assert result.turns[0].attempts == 2


async def test_run_outside_the_context_manager_is_refused() -> None:
    session = AgentSession("scripted", base_url="http://127.0.0.1:9/v1", api_key="k")
    with pytest.raises(UsageError, match="async with"):
        await session.run("hi")
    async with session:
        pass
    with pytest.raises(UsageError, match="closed"):
        await session.run("hi")
