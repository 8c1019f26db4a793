"""The state of a terminal screen: cell buffers (main and alternate), cursor, modes, pen.

Each row is a list of one-cell strings plus a parallel list of interned Attr; the right
half of a wide character is the empty string.
"""

from __future__ import annotations

from dataclasses import dataclass

from retina_tui.terminal.attrs import DEFAULT, Attr, erase_attr
from retina_tui.terminal.history import History


@dataclass(slots=True)
class SavedCursor:
    x: int
    y: int
    pen: Attr
    origin: bool
    wrap_pending: bool
    charsets: tuple[str, str]
    gl: int


class ScreenState:
    """Cell buffers, cursor, modes and the pen: the state the operations act on."""

    def __init__(self, cols: int, rows: int, scrollback: int) -> None:
        self.cols = max(2, cols)
        self.rows = max(1, rows)
        self.history = History(scrollback)
        self._dirty: set[int] = set()
        self._all_dirty = True
        self.title = ""
        self._reset_screen()

    def _reset_screen(self) -> None:
        cols, rows = self.cols, self.rows
        self.pen = DEFAULT
        self.bce = DEFAULT
        self.chars: list[list[str]] = [[" "] * cols for _ in range(rows)]
        self.attrs: list[list[Attr]] = [[DEFAULT] * cols for _ in range(rows)]
        self._main = (self.chars, self.attrs)
        self._alt: tuple[list[list[str]], list[list[Attr]]] | None = None
        self.alternate_screen = False
        self.cx = 0
        self.cy = 0
        self.wrap_pending = False
        self.top = 0
        self.bottom = rows - 1
        self.autowrap = True
        self.origin = False
        self.insert = False
        self.lnm = False
        self.application_cursor = False
        self.application_keypad = False
        self.bracketed_paste = False
        self.mouse_mode = 0
        self.mouse_sgr = False
        self.focus_events = False
        self.cursor_visible = True
        self.tabstops = set(range(8, cols, 8))
        self.charsets = ["B", "B"]
        self.gl = 0
        self.graphics = False
        self._saved: dict[bool, SavedCursor] = {}
        self.last_char = " "
        self._all_dirty = True

    # -- pen and charsets ---------------------------------------------------------------

    def set_pen(self, pen: Attr) -> None:
        self.pen = pen
        self.bce = erase_attr(pen)

    def _update_charset(self) -> None:
        self.graphics = self.charsets[self.gl] == "0"
