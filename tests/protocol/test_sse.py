"""SSE framing: chunk boundaries, CRLF, comments, multi-line data, bounds, encoder round trip."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from responses_fast.errors import LocalProtocolError, RemoteProtocolError
from responses_fast.protocol.sse import SSEDecoder, SSEMessage, encode_sse

STREAM = (
    b": keep-alive comment\n"
    b"event: response.created\n"
    b'data: {"type":"response.created"}\n'
    b"\n"
    b"id: 7\n"
    b"retry: 100\n"
    b"event: response.output_text.delta\r\n"
    b'data: {"type":"response.output_text.delta",\r\n'
    b'data: "delta":"x"}\r\n'
    b"\r\n"
    b"event: orphan-without-data\n"
    b"\n"
    b"data\n"
    b"\n"
    b"data:no-space\n"
    b"\n"
    b"data: [DONE]\n"
    b"\n"
)
EXPECTED = [
    SSEMessage("response.created", b'{"type":"response.created"}'),
    SSEMessage(
        "response.output_text.delta", b'{"type":"response.output_text.delta",\n"delta":"x"}'
    ),
    SSEMessage(None, b""),
    SSEMessage(None, b"no-space"),
    SSEMessage(None, b"[DONE]"),
]


def _decode(chunks: list[bytes], **kw: int) -> list[SSEMessage]:
    dec = SSEDecoder(**kw)
    out: list[SSEMessage] = []
    for chunk in chunks:
        out.extend(dec.feed(chunk))
    out.extend(dec.flush())
    return out


def test_whole_stream() -> None:
    assert _decode([STREAM]) == EXPECTED


def test_split_at_every_byte_boundary() -> None:
    for i in range(len(STREAM) + 1):
        assert _decode([STREAM[:i], STREAM[i:]]) == EXPECTED, i


def test_one_byte_at_a_time() -> None:
    assert _decode([STREAM[i : i + 1] for i in range(len(STREAM))]) == EXPECTED


def test_three_way_splits() -> None:
    n = len(STREAM)
    for i in range(0, n, 7):
        for j in range(i, n, 5):
            assert _decode([STREAM[:i], STREAM[i:j], STREAM[j:]]) == EXPECTED


def test_flush_emits_unterminated_last_event() -> None:
    assert _decode([b"data: a\n"]) == [SSEMessage(None, b"a")]
    assert _decode([b"data: a"]) == [SSEMessage(None, b"a")]
    assert _decode([b"event: x\n"]) == []


def test_leading_bom_is_skipped() -> None:
    stream = b"\xef\xbb\xbfdata: a\n\n"
    for i in range(len(stream) + 1):
        assert _decode([stream[:i], stream[i:]]) == [SSEMessage(None, b"a")]


def test_size_bound_on_an_unterminated_line() -> None:
    dec = SSEDecoder(max_event_bytes=100)
    dec.feed(b"data: " + b"x" * 90)
    with pytest.raises(RemoteProtocolError) as info:
        dec.feed(b"x" * 20)
    assert info.value.raw is not None and len(info.value.raw) <= 200


def test_size_bound_on_many_data_lines() -> None:
    dec = SSEDecoder(max_event_bytes=100)
    with pytest.raises(RemoteProtocolError):
        for _ in range(20):
            dec.feed(b"data: 0123456789\n")


def test_size_bound_resets_per_event() -> None:
    dec = SSEDecoder(max_event_bytes=100)
    for _ in range(50):
        assert dec.feed(b"data: " + b"y" * 80 + b"\n\n") == [SSEMessage(None, b"y" * 80)]


def test_encode_round_trip() -> None:
    wire = encode_sse(b'{"a":1}', "response.created") + encode_sse(b"[DONE]")
    assert wire == b'event: response.created\ndata: {"a":1}\n\ndata: [DONE]\n\n'
    assert _decode([wire]) == [
        SSEMessage("response.created", b'{"a":1}'),
        SSEMessage(None, b"[DONE]"),
    ]


def test_encode_multiline_data_cannot_forge_fields() -> None:
    wire = encode_sse(b"line1\nevent: forged\r\nline3")
    assert _decode([wire]) == [SSEMessage(None, b"line1\nevent: forged\nline3")]
    with pytest.raises(LocalProtocolError):
        encode_sse(b"x", "a\nb")


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(st.lists(st.binary(max_size=64), max_size=12))
def test_fuzz_random_chunks(chunks: list[bytes]) -> None:
    try:
        _decode(chunks, max_event_bytes=256)
    except RemoteProtocolError:
        pass


@FUZZ
@given(
    st.lists(st.tuples(st.none() | st.sampled_from(["a", "b.c"]), st.binary(max_size=40))),
    st.data(),
)
def test_fuzz_encode_then_decode_any_split(
    messages: list[tuple[str | None, bytes]], data: st.DataObject
) -> None:
    wire = b"".join(encode_sse(d, e) for e, d in messages)
    cut = data.draw(st.integers(0, len(wire)))
    expected = [SSEMessage(e, d.replace(b"\r\n", b"\n").replace(b"\r", b"\n")) for e, d in messages]
    assert _decode([wire[:cut], wire[cut:]]) == expected


def test_lf_only_stream_takes_the_block_path_at_every_split() -> None:
    # Without CR the decoder cuts whole blocks at once; the result must not depend on that.
    stream = STREAM.replace(b"\r\n", b"\n") + b"event: a.delta\ndata: {}\n\n\n\ndata: z\n\n"
    expected = [*EXPECTED, SSEMessage("a.delta", b"{}"), SSEMessage(None, b"z")]
    for i in range(len(stream) + 1):
        assert _decode([stream[:i], stream[i:]]) == expected, i
    assert _decode([stream]) == expected


def test_block_path_size_bound() -> None:
    dec = SSEDecoder(max_event_bytes=100)
    with pytest.raises(RemoteProtocolError):
        dec.feed(b"data: " + b"x" * 200 + b"\n\ndata: y\n\n")
