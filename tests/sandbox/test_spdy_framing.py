"""SPDY/3.1 framing: frames survive any split of the byte stream; garbage is a ProtocolError."""

from __future__ import annotations

import struct
import zlib

from hypothesis import given
from hypothesis import strategies as st

from retina_tui.sessions import spdy

names = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
values = st.lists(st.text(chars, max_size=20), min_size=1)


def test_the_dictionary_is_spdy3s() -> None:
    assert len(spdy.DICTIONARY) == 1423
    assert zlib.adler32(spdy.DICTIONARY) == 0xE3C6A7C2


@given(
    st.lists(st.dictionaries(names, values, max_size=5), min_size=1, max_size=6),
    st.binary(max_size=3000),
    st.lists(st.integers(1, 200), min_size=1, max_size=30),
)
def test_frames_round_trip_through_any_split(
    blocks: list[spdy.Headers], payload: bytes, cuts: list[int]
) -> None:
    writer = spdy.FrameWriter()
    wire = b"".join(writer.syn_stream(2 * i + 1, headers) for i, headers in enumerate(blocks))
    wire += writer.ping(7) + spdy.FrameWriter.data(3, payload, fin=True)
    reader, frames, offset = spdy.FrameReader(), [], 0
    for cut in cuts * (len(wire) // sum(cuts) + 1):
        frames += reader.feed(wire[offset : offset + cut])
        offset += cut
    assert [f.headers for f in frames[: len(blocks)] if isinstance(f, spdy.ControlFrame)] == blocks
    ping, data = frames[len(blocks) :]
    assert isinstance(ping, spdy.ControlFrame) and (ping.kind, ping.value) == (spdy.PING, 7)
    assert isinstance(data, spdy.DataFrame)
    assert (data.stream_id, data.data, data.fin) == (3, payload, True)


@given(st.integers(0, 20), st.integers(0, 255), st.binary(max_size=80))
def test_garbage_control_frames_are_protocol_errors(kind: int, flags: int, body: bytes) -> None:
    frame = struct.pack(">HHI", 0x8003, kind, (flags << 24) | len(body)) + body
    try:
        parsed = spdy.FrameReader().feed(frame)
    except spdy.ProtocolError:
        return
    assert len(parsed) == 1 and isinstance(parsed[0], spdy.ControlFrame)
    assert parsed[0].kind == kind
