"""The shell command drops clipboard escapes (OSC 52) from remote output, however split."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from retina_tui.commands.shell import ClipboardFilter

TEXT = st.binary(max_size=40).map(lambda b: b.replace(b"\x1b", b"").replace(b"\x07", b""))
SET_CLIPBOARD = b"\x1b]52;c;ZXZpbA==\x07"
READ_CLIPBOARD = b"\x1b]52;c;?\x1b\\"
TITLE = b"\x1b]0;root@web: /\x07"
COLOR = b"\x1b[1;31mred\x1b[0m"


def run(stream: bytes, cuts: list[int]) -> bytes:
    f = ClipboardFilter()
    out = b""
    previous = 0
    for cut in sorted({c % (len(stream) + 1) for c in cuts}):
        out += f.feed(stream[previous:cut])
        previous = cut
    return out + f.feed(stream[previous:])


@given(st.lists(TEXT, min_size=5, max_size=5), st.lists(st.integers(0, 10_000), max_size=8))
def test_clipboard_sequences_are_dropped_and_everything_else_kept(
    texts: list[bytes], cuts: list[int]
) -> None:
    a, b, c, d, e = texts
    stream = a + SET_CLIPBOARD + b + TITLE + c + READ_CLIPBOARD + d + COLOR + e
    assert run(stream, cuts) == a + b + TITLE + c + d + COLOR + e


def test_plain_output_passes_at_once() -> None:
    assert ClipboardFilter().feed(b"root@web:/# ") == b"root@web:/# "


def test_an_unfinished_sequence_waits_for_its_end() -> None:
    f = ClipboardFilter()
    assert f.feed(b"x\x1b]52;c;AAAA") == b"x"
    assert f.feed(b"BBBB\x07y") == b"y"
