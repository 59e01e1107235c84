"""Durable sessions (issue 14): save to a SQLite file, resume in this process and in another one
after a kill -9, atomic saves."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
import pytest

from responses_fast import AgentSession, SessionStore, tool
from responses_fast.cache.render import LoggedItem, log_item
from responses_fast.errors import UsageError
from responses_fast.protocol.items import FunctionCallOutput, user_message
from responses_fast.server import serve

pytestmark = pytest.mark.anyio


def fc(name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "name": name, "arguments": arguments}


def msg(text: str) -> dict[str, Any]:
    return {"type": "message", "text": text}


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


SCRIPT = [[fc("add", a=2, b=3)], [msg("5")], [msg("second answer")]]


@pytest.mark.parametrize("store_on_server", [False, True])
async def test_a_saved_session_resumes_and_goes_on(tmp_path: Path, store_on_server: bool) -> None:
    store = SessionStore(tmp_path / "sessions.db")
    async with serve(script=SCRIPT) as server:
        kw: dict[str, Any] = dict(tools=[add], base_url=server.base_url, api_key="k",
                                  store=store_on_server, warmup=False)  # fmt: skip
        async with AgentSession("scripted", persist=store.session("s1"), **kw) as first:
            r1 = await first.run("what is 2+3?")
            head = first.log.head_response_id
        assert r1.final_text == "5"
        saved = store.load("s1")
        assert saved is not None and len(saved.items) == 4  # prompt, call, output, answer
        assert saved.head_response_id == head and saved.usage["output_tokens"] > 0

        async with AgentSession("scripted", persist=store.session("s1"), **kw) as second:
            assert [type(i).__name__ for i in second.items] == [
                "Message", "FunctionCall", "FunctionCallOutput", "Message"
            ]  # fmt: skip
            assert second.usage.output_tokens == saved.usage["output_tokens"]
            r2 = await second.run("and again?")
        assert r2.final_text == "second answer"
        assert len(store.load("s1").items) == 6  # type: ignore[union-attr]

    resumed = [r for r in server.requests if r.generate is not False][-1]
    if store_on_server:
        # The server kept the response: only the new prompt travels.
        assert resumed.previous_response_id == head and resumed.input_items == 1
    else:
        # A new socket has no cached response: the full context is resent after the miss.
        assert resumed.previous_response_id is None and resumed.input_items == 5


async def test_saves_append_only_new_items_and_rewrite_after_a_trim(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.db")
    entries = [log_item(user_message(f"m{i}")) for i in range(5)]
    store.save("a", entries[:3], model="m", head_response_id="r1", head_index=3, usage={})
    store.save("a", entries, model="m", head_response_id="r2", head_index=5, usage={})
    snap = store.load("a")
    assert snap is not None and snap.items == tuple(e.raw for e in entries)
    trimmed = [entries[0], entries[4]]  # what a context trim does: the saved prefix changed
    store.save("a", trimmed, model="m", head_response_id=None, head_index=0, usage={})
    snap = store.load("a")
    assert snap is not None and snap.items == (entries[0].raw, entries[4].raw)
    assert snap.head_response_id is None
    assert store.ids() == ["a"]


class _Exploding(LoggedItem):
    """An entry whose bytes cannot be read: the save fails in the middle of its transaction."""

    @property  # type: ignore[misc]
    def raw(self) -> bytes:  # type: ignore[override]
        raise OSError("disk vanished mid-save")


async def test_a_failed_save_leaves_the_previous_one_whole(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.db")
    good = [log_item(user_message(f"m{i}")) for i in range(3)]
    store.save("a", good, model="m", head_response_id="r1", head_index=3, usage={"x": 1})
    bad = [*good, log_item(user_message("m3")), _Exploding.__new__(_Exploding)]
    with pytest.raises(OSError, match="mid-save"):
        store.save("a", bad, model="m", head_response_id="r2", head_index=5, usage={"x": 2})
    snap = store.load("a")
    assert snap is not None
    assert snap.items == tuple(e.raw for e in good)
    assert snap.head_response_id == "r1" and snap.usage == {"x": 1}
    # The file is a valid SQLite database another connection reads the same way.
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert conn.execute("SELECT n_items FROM sessions").fetchone() == (3,)


async def test_resume_without_anything_saved_is_a_clear_error(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.db")
    async with (
        serve(script=SCRIPT) as server,
        AgentSession(
            "scripted", base_url=server.base_url, api_key="k", persist=store.session("new")
        ) as session,
    ):
        with pytest.raises(UsageError, match="nothing to resume"):
            await session.resume()


CHILD = textwrap.dedent(
    """
    import os, sys, time
    import anyio
    from responses_fast import AgentSession, SessionStore, tool

    notes = sys.argv[3]

    @tool
    def note(text: str) -> str:
        '''Append a line to the notes file.'''
        with open(notes, "a") as f:
            f.write(text + "\\n")
        return "noted"

    @tool
    def build(target: str) -> str:
        '''A long build.'''
        if os.environ.get("HANG") == "1":
            print("HANGING", flush=True)
            time.sleep(120)
        return f"built {target}"

    async def main() -> None:
        store = SessionStore(sys.argv[2])
        async with AgentSession("scripted", tools=[note, build], base_url=sys.argv[1],
                                api_key="k", persist=store.session("job")) as s:
            if len(s.items):
                result = await s.resume()
            else:
                result = await s.run("note, then build")
        print("FINAL", result.final_text, flush=True)

    anyio.run(main)
    """
)


async def test_kill_9_mid_run_then_resume_in_a_new_process(tmp_path: Path) -> None:
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    db, notes = tmp_path / "sessions.db", tmp_path / "notes.txt"
    script = [[fc("note", text="once")], [fc("build", target="app")], [msg("all done")]]
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    async with serve(script=script) as server:
        args = [sys.executable, str(child), server.base_url, str(db), str(notes)]
        proc = await anyio.open_process(args, env={**env, "HANG": "1"})
        try:
            assert proc.stdout is not None
            with anyio.fail_after(60):
                buf = b""
                async for chunk in proc.stdout:
                    buf += chunk
                    if b"HANGING" in buf:
                        break
            os.kill(proc.pid, signal.SIGKILL)  # no cleanup at all
            await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        saved = SessionStore(db).load("job")
        assert saved is not None
        assert len(saved.items) == 3  # the prompt, the note call and its output: turn 1 only
        with anyio.fail_after(60):
            done = await anyio.run_process(args, env=env)
    assert b"FINAL all done" in done.stdout, done.stderr.decode()[-2000:]
    assert notes.read_text() == "once\n"  # turn 1's side effect ran exactly once
    final = SessionStore(db).load("job")
    assert final is not None
    outputs = [o for o in (FunctionCallOutput.model_validate_json(r) for r in final.items
               if b'"function_call_output"' in r)]  # fmt: skip
    assert [o.output for o in outputs] == ["noted", "built app"]
