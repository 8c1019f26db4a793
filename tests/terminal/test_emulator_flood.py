"""Floods of coloured lines give exactly the screen and scrollback of plain emulation.

The emulator takes a line-wise shortcut for lines that only pass through to the
scrollback; here random floods, cut into random chunks with reads in between, must leave
the same screen, cursor, pen and scrollback as the same text applied in one piece by the
parser alone.
"""

from __future__ import annotations

from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from retina_tui.terminal import flood
from retina_tui.terminal.emulator import Terminal

PIECES = st.sampled_from(
    [
        "ls",
        "-rw-r--r-- 1 root",
        "x" * 17,
        " ",
        "\x1b[0m",
        "\x1b[m",
        "\x1b[01;34m",
        "\x1b[41m",
        "\x1b[38;5;208m",
        "\x1b[48;2;1;2;3m",
        "\x1b[7;4m",
        "中文",
        "😀",
        "e\u0301",
        "é",
        "─",
        "\t",
        "a\tb",
    ]
)
LINE = st.lists(PIECES, max_size=12).map("".join)


def state(term: Terminal) -> object:
    term.flush()
    return (
        term.display_text(),
        [term.row_runs(y) for y in range(term.rows)],
        (term.cursor_x, term.cursor_y, term.wrap_pending, term.pen, term.last_char),
        [term.history_runs(i) for i in range(term.history_size)],
    )


@settings(max_examples=150, deadline=None)
@given(
    cols=st.integers(4, 30),
    rows=st.integers(1, 4),
    scrollback=st.integers(0, 40),
    prelude=st.sampled_from(
        ["", "prompt$ ", "\x1b[3;5Hmid", "\x1b[44mblue\r\n\x1b[2J", "\x1b[5G\x1bH\r", "\x1b[3g"]
    ),
    lines=st.lists(LINE, min_size=12, max_size=120),
    tail=LINE,
    cuts=st.lists(
        st.tuples(st.one_of(st.integers(1, 64), st.integers(64, 4000)), st.booleans()),
        max_size=8,
    ),
    threshold=st.sampled_from([flood.APPLY_THRESHOLD, 50, 700]),
)
def test_flood_matches_plain_emulation(
    cols: int,
    rows: int,
    scrollback: int,
    prelude: str,
    lines: list[str],
    tail: str,
    cuts: list[tuple[int, bool]],
    threshold: int,
) -> None:
    text = prelude + "".join(line + "\r\n" for line in lines) + tail
    data = text.encode()

    reference = Terminal(cols, rows, scrollback)
    reference.process(text)

    term = Terminal(cols, rows, scrollback)
    pos = 0
    with mock.patch.object(flood, "APPLY_THRESHOLD", threshold):
        for size, read in cuts:
            term.feed(data[pos : pos + size])
            pos += size
            if read:
                term.flush()
        term.feed(data[pos:])

    assert state(term) == state(reference)


def test_flood_of_ten_thousand_lines_keeps_the_newest_in_scrollback() -> None:
    term = Terminal(40, 10, scrollback=1000)
    term.feed(b"".join(b"\x1b[32mline %d\x1b[0m\r\n" % i for i in range(10_000)))
    assert term.history_size == 1000
    assert term.history_runs(999)[0][0] == "line 9990"
    assert term.history_runs(0)[0][0] == "line 8991"
    assert term.display_text()[0].rstrip() == "line 9991"
    assert term.row_runs(0)[0][1].fg == 2
    assert (term.cursor_x, term.cursor_y) == (0, 9)
