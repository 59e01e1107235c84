"""Per-event parse cost of the protocol layer vs plain JSON decoding of the same bytes.

    python benchmarks/bench_parse.py [--repeats 7] [--number 20000]

Prints the median (over repeats) µs per event for ``parse_server_event``, ``json.loads`` and
``orjson.loads`` on the same bytes, and the ratio to ``json.loads`` (the issue's bar: <= 2x).
Then the ChatStreamAssembler cost per chunk and the SSEDecoder cost per event.
Not a test: figures depend on the machine (see docs/protocol.md for the ones we measured).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from responses_fast.protocol.chat import ChatStreamAssembler
from responses_fast.protocol.server_events import parse_server_event
from responses_fast.protocol.sse import SSEDecoder, encode_sse

EVENTS: dict[str, bytes] = {
    "output_text.delta": (
        b'{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_0123456789abcdef",'
        b'"output_index":0,"content_index":0,"delta":" the","logprobs":[],"obfuscation":"q7Xa9",'
        b'"stream_id":"lane-a"}'
    ),
    "function_call_arguments.delta": (
        b'{"type":"response.function_call_arguments.delta","sequence_number":3,'
        b'"item_id":"fc_0123456789abcdef","output_index":0,"delta":"{\\"path\\":","obfuscation":"x"}'
    ),
    "output_item.done (function_call)": (
        b'{"type":"response.output_item.done","sequence_number":6,"output_index":0,"item":'
        b'{"type":"function_call","id":"fc_0123456789abcdef","call_id":"call_0123456789abcdef",'
        b'"name":"read_file","arguments":"{\\"path\\":\\"src/a.py\\"}","status":"completed"}}'
    ),
    "unknown type": (
        b'{"type":"response.web_search_call.searching","sequence_number":9,'
        b'"item_id":"ws_0123456789abcdef","output_index":1,"stream_id":"lane-a"}'
    ),
}


def per_call_us(fn: Callable[[], object], number: int, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / number * 1e6


def chat_chunks(n: int) -> list[bytes]:
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    out = [orjson.dumps({**head, "choices": [{"index": 0, "delta": {"role": "assistant"}}]})]
    for i in range(n):
        out.append(
            orjson.dumps({**head, "choices": [{"index": 0, "delta": {"content": f" tok{i}"}}]})
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--number", type=int, default=20_000)
    args = ap.parse_args()
    r, n = args.repeats, args.number
    print(f"Python {sys.version.split()[0]}, median of {r} repeats x {n:,} calls, µs per event\n")
    print(
        f"{'event':34} {'bytes':>5} {'parse_server_event':>18} {'json.loads':>10} "
        f"{'orjson.loads':>12} {'ratio':>6}"
    )
    worst = 0.0
    for name, raw in EVENTS.items():
        parse_server_event(raw)  # must parse
        ours = per_call_us(lambda raw=raw: parse_server_event(raw), n, r)
        std = per_call_us(lambda raw=raw: json.loads(raw), n, r)
        orj = per_call_us(lambda raw=raw: orjson.loads(raw), n, r)
        worst = max(worst, ours / std)
        print(f"{name:34} {len(raw):5d} {ours:18.2f} {std:10.2f} {orj:12.2f} {ours / std:5.2f}x")
    verdict = "OK" if worst <= 2.0 else "OVER"
    print(f"\nworst ratio to json.loads: {worst:.2f}x (issue bar <= 2x: {verdict})\n")

    # ChatStreamAssembler: per chunk, SSE framing excluded (feed_bytes = orjson + assemble).
    chunks = chat_chunks(1000)

    def assemble() -> None:
        asm = ChatStreamAssembler()
        for c in chunks:
            asm.feed_bytes(c)
        asm.feed_bytes(b"[DONE]")

    reps = max(1, n // 1000)
    per_chunk = per_call_us(assemble, reps, r) / (len(chunks) + 1)
    per_loads = per_call_us(lambda: [orjson.loads(c) for c in chunks], reps, r) / len(chunks)
    print(
        f"ChatStreamAssembler.feed_bytes, text-delta chunk: {per_chunk:.2f} µs/chunk "
        f"(orjson.loads alone {per_loads:.2f})"
    )

    # SSEDecoder: 1000 text-delta events in 16 KiB network chunks.
    raw = EVENTS["output_text.delta"]
    stream = b"".join(encode_sse(raw, "response.output_text.delta") for _ in range(1000))
    pieces = [stream[i : i + 16384] for i in range(0, len(stream), 16384)]

    def decode() -> None:
        dec = SSEDecoder()
        for p in pieces:
            dec.feed(p)

    per_event = per_call_us(decode, reps, r) / 1000
    print(
        f"SSEDecoder.feed, {len(raw) + 42}-byte events in 16 KiB chunks: {per_event:.2f} µs/event"
    )


if __name__ == "__main__":
    main()
