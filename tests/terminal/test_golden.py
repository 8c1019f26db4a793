"""Golden screens: bytes from bash, vim, less, top, htop and tmux give the screen tmux shows.

Fixtures live in tests/fixtures/terminal/ (NAME.bin recorded under an 80x24 pty with
TERM=xterm-256color, NAME.json the tmux pane after the same bytes); record.py there
re-creates them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from retina_tui.terminal.attrs import Attr
from retina_tui.terminal.charsets import text_width
from retina_tui.terminal.emulator import Terminal

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "terminal"
NAMES = ["bash", "vim", "less", "top", "htop", "tmux"]
SGR = re.compile(r"\x1b\[[0-9;:]*m")

Cells = list[list[tuple[str, Attr]]]


def cells(term: Terminal) -> Cells:
    term.sync()
    return [list(zip(term.chars[y], term.attrs[y], strict=True)) for y in range(term.rows)]


def expected_screen(golden: dict[str, object]) -> tuple[Cells, list[int]]:
    """tmux's capture (text with SGR, attributes carried across lines) as cells, and
    how many cells of each row the capture describes."""
    lines = golden["lines"]
    assert isinstance(lines, list)
    term = Terminal(int(str(golden["cols"])), int(str(golden["rows"])), scrollback=0)
    term.feed("\r\n".join(lines).encode())
    return cells(term), [text_width(SGR.sub("", line)) for line in lines]


@pytest.mark.parametrize("chunk", [1 << 20, 7])
@pytest.mark.parametrize("name", NAMES)
def test_recorded_program_gives_the_screen_tmux_shows(name: str, chunk: int) -> None:
    golden = json.loads((FIXTURES / f"{name}.json").read_text())
    data = (FIXTURES / f"{name}.bin").read_bytes()
    term = Terminal(golden["cols"], golden["rows"])
    for i in range(0, len(data), chunk):
        term.feed(data[i : i + chunk])

    ours = cells(term)
    want, described = expected_screen(golden)
    for y in range(term.rows):
        ours_text = "".join(ch for ch, _ in ours[y])
        want_text = "".join(ch for ch, _ in want[y])
        assert ours_text == want_text, f"row {y}"
        end = described[y]
        assert ours[y][:end] == want[y][:end], f"attributes of row {y}"
        # capture-pane leaves out cells that were erased (even with a background colour,
        # which tmux shows): past its text they must be erased cells, background only.
        for x in range(end, term.cols):
            ch, attr = ours[y][x]
            assert ch == " " and attr == Attr(bg=attr.bg), f"erased cell {x} of row {y}"
    cursor_x, cursor_y = golden["cursor"]
    assert (term.cursor_x, term.cursor_y) == (min(cursor_x, term.cols - 1), cursor_y)
    assert term.alternate_screen == golden["alternate_screen"]
