"""Golden screens: bytes from bash, vim, less, top and tmux give the screen tmux shows.

Fixtures live in tests/fixtures/terminal/ (NAME.bin recorded under an 80x24 pty with
TERM=xterm-256color, NAME.json the tmux pane after the same bytes); record.py there
re-creates them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retina_tui.terminal.attrs import Attr
from retina_tui.terminal.emulator import Terminal

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "terminal"
NAMES = ["bash", "vim", "less", "top", "tmux"]


def cells(term: Terminal) -> list[list[tuple[str, Attr]]]:
    term.flush()
    return [list(zip(term.chars[y], term.attrs[y], strict=True)) for y in range(term.rows)]


def expected_screen(golden: dict[str, object]) -> list[list[tuple[str, Attr]]]:
    """tmux's capture (text with SGR, attributes carried across lines) as cells."""
    lines = golden["lines"]
    assert isinstance(lines, list)
    term = Terminal(int(str(golden["cols"])), int(str(golden["rows"])), scrollback=0)
    term.feed("\r\n".join(lines).encode())
    return cells(term)


@pytest.mark.parametrize("chunk", [1 << 20, 7])
@pytest.mark.parametrize("name", NAMES)
def test_recorded_program_gives_the_screen_tmux_shows(name: str, chunk: int) -> None:
    golden = json.loads((FIXTURES / f"{name}.json").read_text())
    data = (FIXTURES / f"{name}.bin").read_bytes()
    term = Terminal(golden["cols"], golden["rows"])
    for i in range(0, len(data), chunk):
        term.feed(data[i : i + chunk])

    ours = cells(term)
    want = expected_screen(golden)
    for y in range(term.rows):
        ours_text = "".join(ch for ch, _ in ours[y])
        want_text = "".join(ch for ch, _ in want[y])
        assert ours_text == want_text, f"row {y}"
        assert ours[y] == want[y], f"attributes of row {y}"
    cursor_x, cursor_y = golden["cursor"]
    assert (term.cursor_x, term.cursor_y) == (min(cursor_x, term.cols - 1), cursor_y)
    assert term.alternate_screen == golden["alternate_screen"]
