"""The lane router of the socket (transports/_inbox.py), fed bytes directly: no socket, no loop
beyond what a Future needs."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from responses_fast.errors import ConnectionLost
from responses_fast.transports._inbox import Router
from responses_fast.transports.base import TransportStats

pytestmark = pytest.mark.anyio


def msg(kind: str, lane: str | None = None, **fields: object) -> bytes:
    event: dict[str, object] = {"type": kind, **fields}
    if lane is not None:
        event["stream_id"] = lane
    return orjson.dumps(event)


async def test_deltas_nobody_reads_are_dropped_and_only_actions_wake() -> None:
    router, stats = Router(), TransportStats()
    inbox = router.open(None, stats, want_deltas=False)
    inbox.waiter = waiter = asyncio.get_running_loop().create_future()
    router.on_message(msg("response.output_text.delta", delta="x"))
    router.on_message(msg("response.output_item.added", output_index=0))
    assert not waiter.done()  # nothing to act on yet
    router.on_message(msg("response.output_item.done", output_index=0))
    assert waiter.done()
    assert [orjson.loads(m)["type"] for m in inbox.pending] == [
        "response.output_item.added",
        "response.output_item.done",
    ]
    assert inbox.skipped == 1 and stats.events_received == 3


async def test_a_message_without_the_type_first_is_read_all_the_same() -> None:
    router = Router()
    inbox = router.open(None, TransportStats(), want_deltas=False)
    router.on_message(b'{"delta":"x","type":"response.output_text.delta"}')
    router.on_message(b'{"output_index":0,"type":"response.output_item.done","item":{}}')
    assert len(inbox.pending) == 1 and inbox.skipped == 1


async def test_messages_go_to_their_lane() -> None:
    router = Router()
    a = router.open("a", TransportStats(), want_deltas=True)
    b = router.open("b", TransportStats(), want_deltas=True)
    default = router.open(None, TransportStats(), want_deltas=True)
    router.on_message(msg("response.created", "b"))
    router.on_message(msg("response.created", "a"))
    router.on_message(msg("response.created"))
    router.on_message(msg("response.created", "gone"))  # a lane nobody reads: dropped
    assert [len(x.pending) for x in (a, b, default)] == [1, 1, 1]


async def test_an_abandoned_response_drains_to_its_terminal_event() -> None:
    router = Router()
    a = router.open("a", TransportStats(), want_deltas=True)
    router.open("b", TransportStats(), want_deltas=True)
    router.on_message(msg("response.created", "a"))
    router.release(a, drain=True)
    assert router.busy("b")
    again = router.open("a", TransportStats(), want_deltas=True)  # the next turn, FIFO
    router.on_message(msg("response.output_text.delta", "a", delta="old"))
    router.on_message(msg("response.completed", "a", response={"id": "r1"}))
    assert not again.pending  # the old response's rest was dropped
    router.on_message(msg("response.created", "a", response={"id": "r2"}))
    assert len(again.pending) == 1


async def test_a_closed_connection_fails_every_lane() -> None:
    router = Router()
    inboxes = [router.open(lane, TransportStats(), want_deltas=False) for lane in ("a", "b")]
    router.on_closed(ConnectionLost("gone"))
    assert all(isinstance(i.error, ConnectionLost) for i in inboxes)
    assert not router.busy(None)


async def test_an_error_naming_no_lane_goes_to_the_lane_still_waiting() -> None:
    # A server without lanes refuses the second response with an error that names no lane.
    router = Router()
    a = router.open("a", TransportStats(), want_deltas=True)
    router.on_message(msg("response.created", "a"))
    b = router.open("b", TransportStats(), want_deltas=True)
    router.on_message(msg("error", status=409, error={"code": "response_already_in_flight"}))
    assert len(a.pending) == 1 and len(b.pending) == 1
    assert b"response_already_in_flight" in b.pending[0]
    router.on_message(msg("response.output_text.delta", delta="x"))  # not an error: dropped
    assert len(a.pending) == 1
