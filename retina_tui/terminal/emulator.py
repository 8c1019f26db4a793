"""The public terminal emulator: bytes from a remote program in, a screen model out.

``Terminal.feed`` decodes UTF-8 incrementally (invalid bytes become U+FFFD) and applies
the stream to an xterm-compatible screen; the widget reads rows as attribute runs and
asks which rows changed. Nothing received is ever written anywhere but to this model.
"""

from __future__ import annotations

from collections.abc import Callable

from retina_tui.terminal.attrs import DEFAULT, Attr
from retina_tui.terminal.charsets import char_width
from retina_tui.terminal.flood import Flood
from retina_tui.terminal.history import row_runs
from retina_tui.terminal.lines import cells_from_runs

__all__ = ["DEFAULT", "Attr", "Terminal"]


class Terminal(Flood):
    """An xterm-like screen of ``cols`` x ``rows`` cells with a bounded scrollback."""

    def __init__(
        self,
        cols: int = 80,
        rows: int = 24,
        scrollback: int = 10_000,
        on_reply: Callable[[bytes], None] | None = None,
        on_title: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(cols, rows, scrollback, on_reply, on_title)

    # -- input (feed and flush come from Flood) ------------------------------------------

    def resize(self, cols: int, rows: int) -> None:
        """Change the screen size; shrinking pushes top lines into the scrollback."""
        cols = max(2, cols)
        rows = max(1, rows)
        if (cols, rows) == (self.cols, self.rows):
            return
        self.sync()
        self._raw_screen = None
        self._raw_line = None
        self._sync_buffer()
        main_c, main_a = self._main
        self._main = self._resize_buffer(main_c, main_a, cols, rows, keep_history=True)
        if self._alt is not None:
            self._alt = self._resize_buffer(*self._alt, cols, rows, keep_history=False)
        self.chars, self.attrs = self._alt if self.alternate_screen and self._alt else self._main
        if cols > self.cols:
            # New columns get the default stops, every 8 from the first multiple of 8.
            self.tabstops.update(range(-(-self.cols // 8) * 8, cols, 8))
        self.tabstops = {t for t in self.tabstops if t < cols}
        self.cols, self.rows = cols, rows
        self.cx = min(self.cx, cols - 1)
        self.cy = max(0, min(self.cy, rows - 1))
        self.top, self.bottom = 0, rows - 1
        self.wrap_pending = False
        self._all_dirty = True

    def _resize_buffer(
        self,
        chars: list[list[str]],
        attrs: list[list[Attr]],
        cols: int,
        rows: int,
        keep_history: bool,
    ) -> tuple[list[list[str]], list[list[Attr]]]:
        old_rows = len(chars)
        if cols != self.cols:
            for row, arow in zip(chars, attrs, strict=True):
                if cols > len(row):
                    row.extend([" "] * (cols - len(row)))
                    arow.extend([DEFAULT] * (cols - len(arow)))
                else:
                    del row[cols:], arow[cols:]
                    if row[-1] != " " and char_width(row[-1]) == 2:
                        row[-1] = " "
        on_this = chars is self.chars
        if rows < old_rows:
            needed = old_rows - rows
            below = old_rows - 1 - self.cy if on_this else needed
            drop = min(max(below, 0), needed)
            if drop:
                del chars[old_rows - drop :], attrs[old_rows - drop :]
            needed -= drop
            for _ in range(needed):
                rc, ra = chars.pop(0), attrs.pop(0)
                if keep_history:
                    self.history.push_row(rc, ra)
            if on_this:
                self.cy -= needed
        elif rows > old_rows:
            # Growing shows scrolled-off lines again, as xterm and tmux do.
            pulled = 0
            while keep_history and not self.alternate_screen and pulled < rows - old_rows:
                runs = self.history.pop_newest()
                if runs is None:
                    break
                c, a = cells_from_runs(runs, cols)
                chars.insert(0, c)
                attrs.insert(0, a)
                pulled += 1
            if on_this:
                self.cy += pulled
            for _ in range(rows - old_rows - pulled):
                chars.append([" "] * cols)
                attrs.append([DEFAULT] * cols)
        return chars, attrs

    # -- output --------------------------------------------------------------------------

    @property
    def cursor_x(self) -> int:
        self.flush()
        return self.cx

    @property
    def cursor_y(self) -> int:
        self.flush()
        return self.cy

    @property
    def history_size(self) -> int:
        self.flush()
        return len(self.history)

    def take_dirty(self) -> set[int]:
        """Screen rows changed since the last call (all of them after a full change)."""
        self.flush()
        if self._all_dirty:
            self._all_dirty = False
            self._dirty = set()
            return set(range(self.rows))
        dirty = self._dirty
        self._dirty = set()
        return {y for y in dirty if y < self.rows}

    def row_runs(self, y: int) -> list[tuple[str, Attr]]:
        """Row ``y`` as runs of text with one attribute (wide characters take two cells)."""
        self.sync()
        return row_runs(self.chars[y], self.attrs[y])

    def history_runs(self, i: int) -> list[tuple[str, Attr]]:
        """Scrollback line ``i`` (0 = oldest) as attribute runs."""
        self.flush()
        return self.history.runs(i)

    def display_text(self) -> list[str]:
        """The screen as plain strings, one per row."""
        self.sync()
        return ["".join(row) for row in self.chars]
