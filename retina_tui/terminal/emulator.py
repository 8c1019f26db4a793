"""The public terminal emulator: bytes from a remote program in, a screen model out.

``Terminal.feed`` decodes UTF-8 incrementally (invalid bytes become U+FFFD) and applies
the stream to an xterm-compatible screen; the widget reads rows as attribute runs and
asks which rows changed. Nothing received is ever written anywhere but to this model.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable

from retina_tui.terminal.attrs import DEFAULT, Attr, erase_attr
from retina_tui.terminal.charsets import char_width
from retina_tui.terminal.fastpath import NOT_SIMPLE, SGR_PARAMS, pen_after, split_line
from retina_tui.terminal.history import row_runs
from retina_tui.terminal.lines import RawLine, render_cells
from retina_tui.terminal.parser import Parser

__all__ = ["DEFAULT", "Attr", "Terminal"]

# Any control but CR/LF, or any escape but SGR: such a chunk is applied at once (it may
# ask for a reply or change a mode); other chunks may wait in the backlog until read.
_URGENT = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f]|\x1b(?!\[[0-9;:]*m)")
# Text waiting to be applied is bounded; a flood is applied in batches of this size.
BACKLOG_LIMIT = 1 << 20


class Terminal(Parser):
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
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._backlog: list[str] = []
        self._backlog_size = 0

    # -- input ---------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Apply bytes received from the remote program.

        Plain text with colours may be held back (bounded) and applied in one batch when
        the screen is next read: a flood then costs little however it is chunked.
        """
        text = self._decoder.decode(data)
        if not text:
            return
        if _URGENT.search(text) is None:
            self._backlog.append(text)
            self._backlog_size += len(text)
            if self._backlog_size < BACKLOG_LIMIT:
                return
            text = ""
        if self._backlog:
            text = "".join(self._backlog) + text
            self._backlog.clear()
            self._backlog_size = 0
        self._apply(text)

    def flush(self) -> None:
        """Apply any text held back by feed()."""
        if self._backlog:
            text = "".join(self._backlog)
            self._backlog.clear()
            self._backlog_size = 0
            self._apply(text)

    def _apply(self, text: str) -> None:
        if self._skip is not None or self.alternate_screen:
            self.process(text)
            return
        if self._carry:
            text = self._carry + text
            self._carry = ""
        rows = self.rows
        if text.count("\n") < 3 * rows or not self._fast_ok():
            self.process(text)
            return
        bad = NOT_SIMPLE.search(text)
        end = len(text) if bad is None else bad.start()
        cut = text.rfind("\r\n", 0, end)
        if cut < 0:
            self.process(text)
            return
        lines = text[:cut].split("\r\n")
        if len(lines) < 3 * rows:
            self.process(text)
            return
        self._pass_lines(lines)
        rest = text[cut + 2 :]
        if rest:
            self.process(rest)

    def _fast_ok(self) -> bool:
        return (
            self.top == 0
            and self.bottom == self.rows - 1
            and self.autowrap
            and not self.insert
            and not self.lnm
            and not self.graphics
            and not self.alternate_screen
        )

    def _pass_lines(self, lines: list[str]) -> None:
        """Apply complete lines (each ended by CR LF) of printable text and SGR only."""
        rows, cols = self.rows, self.cols
        i = 0
        # Lines that land on rows already on screen are emulated as usual, until the
        # cursor sits on a freshly scrolled-in bottom row.
        while i < len(lines):
            at_bottom = self.cy == rows - 1
            self.process(lines[i] + "\r\n")
            i += 1
            if at_bottom:
                break
        if len(lines) - i <= rows:
            self.process("\r\n".join(lines[i:]) + "\r\n")
            return
        pen = self.pen
        segs: list[RawLine] = []
        append = segs.append
        for line in lines[i:]:
            if not line.isascii():
                pen = split_line(line, pen, cols, segs)
            elif len(line) <= cols:
                append((line, pen, False, cols))
                if "\x1b" in line:
                    pen = pen_after(pen, line)
            elif len(SGR_PARAMS.sub("", line)) <= cols:
                append((line, pen, False, cols))
                pen = pen_after(pen, line)
            else:
                pen = split_line(line, pen, cols, segs)
        keep = rows - 1
        scrolled = segs[: len(segs) - keep]
        if len(scrolled) < self.history.limit:
            for y in range(keep):
                self.history.push_row(self.chars[y], self.attrs[y])
        self.history.push_raw(scrolled)
        new_chars: list[list[str]] = []
        new_attrs: list[list[Attr]] = []
        for raw, start, cont, _ in segs[len(segs) - keep :]:
            c, a = render_cells(raw, start, cont, cols)
            new_chars.append(c)
            new_attrs.append(a)
        new_chars.append([" "] * cols)
        new_attrs.append([erase_attr(pen)] * cols)
        self.chars[:] = new_chars
        self.attrs[:] = new_attrs
        self.set_pen(pen)
        self.cx = 0
        self.cy = rows - 1
        self.wrap_pending = False
        self._all_dirty = True
        for line in reversed(lines):
            printed = [ch for ch in SGR_PARAMS.sub("", line) if char_width(ch)]
            if printed:
                self.last_char = printed[-1]
                break

    def resize(self, cols: int, rows: int) -> None:
        """Change the screen size; shrinking pushes top lines into the scrollback."""
        cols = max(2, cols)
        rows = max(1, rows)
        if (cols, rows) == (self.cols, self.rows):
            return
        self.flush()
        self._sync_buffer()
        main_c, main_a = self._main
        self._main = self._resize_buffer(main_c, main_a, cols, rows, keep_history=True)
        if self._alt is not None:
            self._alt = self._resize_buffer(*self._alt, cols, rows, keep_history=False)
        self.chars, self.attrs = self._alt if self.alternate_screen and self._alt else self._main
        if cols > self.cols:
            self.tabstops.update(range(self.cols - self.cols % 8 + 8, cols, 8))
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
            for _ in range(rows - old_rows):
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
        self.flush()
        return row_runs(self.chars[y], self.attrs[y])

    def history_runs(self, i: int) -> list[tuple[str, Attr]]:
        """Scrollback line ``i`` (0 = oldest) as attribute runs."""
        self.flush()
        return self.history.runs(i)

    def display_text(self) -> list[str]:
        """The screen as plain strings, one per row."""
        self.flush()
        return ["".join(row) for row in self.chars]
