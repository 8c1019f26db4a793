"""Property tests of the clipboard filter against an independent reference parser.

Random mixtures of text, harmless OSCs, clipboard OSCs in every number form and with
every ending, stray controls and random bytes, fed in random splits: no clipboard write
survives (by `clipboard_reference`), the output does not depend on the splits, and a
stream without clipboard sequences passes unchanged.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from retina_tui.terminal.clipboard import ClipboardFilter
from tests.terminal.clipboard_reference import clipboard_writes

INTRODUCERS = st.sampled_from([b"\x1b]", b"\xc2\x9d"])
ENDINGS = [b"\x07", b"\x1b\\", b"\xc2\x9c", b"\x18", b"\x1a", b"\x1b[m", b"\xc2\x85", b"\x1b]"]
CLIPBOARD_HEADS = st.sampled_from(
    [
        b"52;c;",
        b"052;p;",
        b"0052;c;",
        b"00000000000052;c;",
        b"4294967348;c;",
        b"5\x012;c;",
        b" +52;c;",
        b"-4294967244;c;",
        b"52\x013;c;",
        b"52x;c;",
        b"5522;type=write:",
        b"5113;ac=send:",
        b"1337;Copy=:",
        b"1337;File=inline=1:",
        b"01337;copy=",
        b"1337;CopyToClipboard=",
        b"1337;MultipartFile=",
        b"1337;Fi\x02le=",
    ]
)
PAYLOAD = st.binary(max_size=12).map(lambda b: b.translate(None, b"\x07\x18\x1a\x1b\xc2"))
# Pieces that, next to a dropped sequence, would form a new one if it were just removed.
FRAGMENTS = st.sampled_from(
    [
        b"\x1b",
        b"\x1b]",
        b"\x1b]5",
        b"\x1b]1337;",
        b"\x1bPtmux;\x1b",
        b"\x1b[1;",
        b"\xc2",
        b"\x9d",
        b"]52;c;QQ==\x07",
        b"2;c;QQ==\x07",
        b"52;c;QQ==",
        b"Copy=:QQ==\x07",
        b"\x18",
        b"\x1a",
        b"\x07",
    ]
)


@st.composite
def clipboard_oscs(draw: st.DrawFn) -> bytes:
    ending = draw(st.sampled_from([*ENDINGS, b""]))
    return draw(INTRODUCERS) + draw(CLIPBOARD_HEADS) + draw(PAYLOAD) + ending


HARMLESS_HEADS = st.sampled_from(
    [b"0;", b"2;", b"00;", b"8;;", b"8;id=1;", b"133;", b"7;", b"10;", b"5;", b"520;", b"4;1;"]
)
# Only bytes that stay inside an OSC body: no BEL, CAN, SUB, ESC, C2.
BODY = st.binary(max_size=20).map(lambda b: b.translate(None, b"\x07\x18\x1a\x1b\xc2"))
TEXT = BODY


@st.composite
def harmless_oscs(draw: st.DrawFn) -> bytes:
    head = draw(HARMLESS_HEADS) + draw(BODY)
    head = draw(
        st.sampled_from([head, b"1337;SetMark", b"1337;CurrentDir=/tmp", b"1337;RemoteHost=a@b"])
    )
    # No ending: the OSC goes on into what follows, or is cut short by it.
    ending = draw(st.sampled_from([b"\x07", b"\x1b\\", b"\xc2\x9c", b"\x18", b"\x1a", b""]))
    return draw(INTRODUCERS) + head + ending


HARMLESS_OTHERS = st.sampled_from(
    [
        b"\x1b[1;31m",
        b"\x1b[0m",
        b"\x1b[?25h",
        b"\x1b(B",
        b"\x1b7",
        b"\x1b\\",
        b"\x1bP1$r0m\x1b\\",
        b"\x1b_Gf=100\x1b\\",
        b"\x18",
        b"\x1a",
        b"\xc2\xa9",
        b"\xc2\x85",
        "Ý52;c;QQ==\x07".encode(),
        b"\x9d52;c;QQ==\x9c",
    ]
)
HARMLESS = st.lists(st.one_of(TEXT, harmless_oscs(), HARMLESS_OTHERS), max_size=12).map(b"".join)
ANYTHING = st.lists(
    st.one_of(
        st.binary(max_size=16),
        harmless_oscs(),
        clipboard_oscs(),
        HARMLESS_OTHERS,
        FRAGMENTS,
    ),
    max_size=14,
).map(b"".join)
CUTS = st.lists(st.integers(0, 10_000), max_size=10)


def run(stream: bytes, cuts: list[int]) -> bytes:
    """Feed `stream` cut at `cuts` (taken modulo its length), then flush."""
    f = ClipboardFilter()
    out = []
    previous = 0
    for cut in sorted({c % (len(stream) + 1) for c in cuts}):
        out.append(f.feed(stream[previous:cut]))
        previous = cut
    out.append(f.feed(stream[previous:]))
    out.append(f.flush())
    return b"".join(out)


@given(clipboard_oscs())
def test_the_reference_sees_every_generated_clipboard_sequence(osc: bytes) -> None:
    assert clipboard_writes(osc)


@given(ANYTHING, CUTS)
def test_no_clipboard_write_survives(stream: bytes, cuts: list[int]) -> None:
    assert clipboard_writes(run(stream, cuts)) == []


@given(ANYTHING, CUTS, CUTS)
def test_the_output_does_not_depend_on_the_splits(
    stream: bytes, cuts: list[int], other: list[int]
) -> None:
    assert run(stream, cuts) == run(stream, other) == run(stream, [])


@given(ANYTHING)
def test_one_byte_at_a_time_is_the_same(stream: bytes) -> None:
    assert run(stream, list(range(len(stream)))) == run(stream, [])


@given(HARMLESS, CUTS)
def test_a_stream_without_clipboard_sequences_passes_unchanged(
    stream: bytes, cuts: list[int]
) -> None:
    assert clipboard_writes(stream) == []
    assert run(stream, cuts) == stream
