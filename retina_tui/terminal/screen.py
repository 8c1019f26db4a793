"""The screen operations: what escape sequences do to the cell buffers, cursor and modes,
following xterm (and tmux where xterm is vague).

Each row is a list of one-cell strings plus a parallel list of interned Attr; the right
half of a wide character is the empty string. Runs of text are written with one slice
assignment, never cell by cell.
"""

from __future__ import annotations

from retina_tui.terminal.attrs import DEFAULT
from retina_tui.terminal.buffers import SavedCursor, ScreenState
from retina_tui.terminal.charsets import DEC_GRAPHICS, char_width


class Screen(ScreenState):
    """Buffers, cursor and modes, with the primitive operations of a VT/xterm screen."""

    # -- printing -----------------------------------------------------------------------

    def print_text(self, s: str) -> None:
        if s.isascii():
            if self.graphics:
                s = s.translate(DEC_GRAPHICS)
            x = self.cx
            end = x + len(s)
            if end < self.cols and not self.wrap_pending and not self.insert:
                # Common case, inlined: the text fits on the cursor's row.
                y = self.cy
                row = self.chars[y]
                if x and row[x] == "":
                    row[x - 1] = " "
                row[x:end] = s
                self.attrs[y][x:end] = [self.pen] * len(s)
                if row[end] == "":
                    row[end] = " "
                self._dirty.add(y)
                self.cx = end
                self.last_char = s[-1]
            else:
                self.print_narrow(s)
            return
        if self.graphics:
            s = s.translate(DEC_GRAPHICS)
        start = 0
        for i, ch in enumerate(s):
            if ch < "\u0300":
                continue
            w = char_width(ch)
            if w == 1:
                continue
            if i > start:
                self.print_narrow(s[start:i])
            start = i + 1
            if w == 2:
                self._print_wide(ch)
            else:
                self._combine(ch)
        if start < len(s):
            self.print_narrow(s[start:])

    def print_narrow(self, s: str) -> None:
        """Print characters that are each one cell wide."""
        cols = self.cols
        self.last_char = s[-1]
        while s:
            if self.wrap_pending and self.autowrap:
                self._wrap()
            y = self.cy
            x = self.cx
            row = self.chars[y]
            room = cols - x
            if len(s) <= room:
                part = s
                s = ""
            elif self.autowrap:
                part = s[:room]
                s = s[room:]
            else:
                part = s[: room - 1] + s[-1]
                s = ""
            n = len(part)
            end = x + n
            arow = self.attrs[y]
            if self.insert:
                row[x:x] = [" "] * n
                arow[x:x] = [self.bce] * n
                del row[cols:], arow[cols:]
            if x and row[x] == "":
                row[x - 1] = " "
            row[x:end] = part
            arow[x:end] = [self.pen] * n
            if end < cols and row[end] == "":
                row[end] = " "
            self._dirty.add(y)
            if end >= cols:
                self.cx = cols - 1
                self.wrap_pending = True
            else:
                self.cx = end
                self.wrap_pending = False

    def _print_wide(self, ch: str) -> None:
        cols = self.cols
        if self.wrap_pending and self.autowrap:
            self._wrap()
        if self.cx >= cols - 1:
            if self.autowrap:
                self.chars[self.cy][cols - 1] = " "
                self.attrs[self.cy][cols - 1] = self.bce
                self._dirty.add(self.cy)
                self._wrap()
            else:
                self.cx = cols - 2
        x = self.cx
        y = self.cy
        row = self.chars[y]
        arow = self.attrs[y]
        if self.insert:
            row[x:x] = [" ", " "]
            arow[x:x] = [self.bce, self.bce]
            del row[cols:], arow[cols:]
        if x and row[x] == "":
            row[x - 1] = " "
        if x + 2 < cols and row[x + 2] == "":
            row[x + 2] = " "
        row[x] = ch
        row[x + 1] = ""
        arow[x] = arow[x + 1] = self.pen
        self.last_char = ch
        self._dirty.add(y)
        if x + 2 >= cols:
            self.cx = cols - 1
            self.wrap_pending = True
        else:
            self.cx = x + 2
            self.wrap_pending = False

    def _combine(self, ch: str) -> None:
        x = self.cx if self.wrap_pending else self.cx - 1
        if x < 0:
            return
        row = self.chars[self.cy]
        if row[x] == "" and x:
            x -= 1
        row[x] += ch
        self._dirty.add(self.cy)

    def repeat_last(self, n: int) -> None:
        ch = self.last_char
        n = min(n, self.cols * self.rows)
        if char_width(ch) == 1:
            self.print_narrow(ch * n)
        elif char_width(ch) == 2:
            for _ in range(n):
                self._print_wide(ch)

    def _wrap(self) -> None:
        self.wrap_pending = False
        self.cx = 0
        self.index()

    # -- vertical motion and scrolling ---------------------------------------------------

    def index(self) -> None:
        self.wrap_pending = False
        if self.cy == self.bottom:
            self.scroll_up(1)
        elif self.cy < self.rows - 1:
            self.cy += 1

    def linefeed(self) -> None:
        if self.lnm:
            self.cx = 0
        self.index()

    def reverse_index(self) -> None:
        self.wrap_pending = False
        if self.cy == self.top:
            self.scroll_down(1)
        elif self.cy > 0:
            self.cy -= 1

    def _mark_region(self, top: int, bottom: int) -> None:
        if top == 0 and bottom == self.rows - 1:
            self._all_dirty = True
        else:
            self._dirty.update(range(top, bottom + 1))

    def scroll_up(self, n: int, top: int = -1) -> None:
        """Scroll lines top..bottom up by n; the main screen's full-height region saves
        the lines that leave to the scrollback."""
        if top < 0:
            top = self.top
        bottom = self.bottom
        n = min(n, bottom - top + 1)
        if n <= 0:
            return
        cols = self.cols
        chars, attrs = self.chars, self.attrs
        keep = top == 0 and bottom == self.rows - 1 and not self.alternate_screen
        history = self.history
        bce = self.bce
        for _ in range(n):
            rc = chars.pop(top)
            ra = attrs.pop(top)
            if keep:
                history.push_row(rc, ra)
            chars.insert(bottom, [" "] * cols)
            attrs.insert(bottom, [bce] * cols)
        self._mark_region(top, bottom)

    def scroll_down(self, n: int, top: int = -1) -> None:
        if top < 0:
            top = self.top
        bottom = self.bottom
        n = min(n, bottom - top + 1)
        if n <= 0:
            return
        cols = self.cols
        for _ in range(n):
            del self.chars[bottom], self.attrs[bottom]
            self.chars.insert(top, [" "] * cols)
            self.attrs.insert(top, [self.bce] * cols)
        self._mark_region(top, bottom)

    def insert_lines(self, n: int) -> None:
        if self.top <= self.cy <= self.bottom:
            self.scroll_down(n, self.cy)
            self.cx = 0
            self.wrap_pending = False

    def delete_lines(self, n: int) -> None:
        if self.top <= self.cy <= self.bottom:
            saved_keep = self.alternate_screen
            # Deleted lines never go to the scrollback.
            self.alternate_screen = True
            try:
                self.scroll_up(n, self.cy)
            finally:
                self.alternate_screen = saved_keep
            self.cx = 0
            self.wrap_pending = False

    # -- cursor motion -------------------------------------------------------------------

    def cursor_up(self, n: int) -> None:
        limit = self.top if self.cy >= self.top else 0
        self.cy = max(limit, self.cy - n)
        self.wrap_pending = False

    def cursor_down(self, n: int) -> None:
        limit = self.bottom if self.cy <= self.bottom else self.rows - 1
        self.cy = min(limit, self.cy + n)
        self.wrap_pending = False

    def cursor_forward(self, n: int) -> None:
        self.cx = min(self.cols - 1, self.cx + n)
        self.wrap_pending = False

    def cursor_back(self, n: int) -> None:
        self.cx = max(0, self.cx - n)
        self.wrap_pending = False

    def set_col(self, col: int) -> None:
        self.cx = max(0, min(self.cols - 1, col))
        self.wrap_pending = False

    def set_row(self, row: int) -> None:
        if self.origin:
            self.cy = max(self.top, min(self.bottom, row + self.top))
        else:
            self.cy = max(0, min(self.rows - 1, row))
        self.wrap_pending = False

    def carriage_return(self) -> None:
        self.cx = 0
        self.wrap_pending = False

    def backspace(self) -> None:
        if self.cx > 0:
            self.cx -= 1
        self.wrap_pending = False

    def tab(self, n: int = 1) -> None:
        for _ in range(min(n, self.cols)):
            later = [t for t in self.tabstops if t > self.cx]
            self.cx = min(later) if later else self.cols - 1
        self.wrap_pending = False

    def back_tab(self, n: int = 1) -> None:
        for _ in range(min(n, self.cols)):
            earlier = [t for t in self.tabstops if t < self.cx]
            self.cx = max(earlier) if earlier else 0
        self.wrap_pending = False

    def save_cursor(self) -> None:
        self._saved[self.alternate_screen] = SavedCursor(
            self.cx,
            self.cy,
            self.pen,
            self.origin,
            self.wrap_pending,
            (self.charsets[0], self.charsets[1]),
            self.gl,
        )

    def restore_cursor(self) -> None:
        saved = self._saved.get(self.alternate_screen)
        if saved is None:
            saved = SavedCursor(0, 0, DEFAULT, False, False, ("B", "B"), 0)
        self.cx = min(saved.x, self.cols - 1)
        self.cy = min(saved.y, self.rows - 1)
        self.set_pen(saved.pen)
        self.origin = saved.origin
        self.wrap_pending = saved.wrap_pending and self.cx == self.cols - 1
        self.charsets = list(saved.charsets)
        self.gl = saved.gl
        self._update_charset()

    # -- erasing and editing in the line -------------------------------------------------

    def _blank(self, y: int, start: int, end: int) -> None:
        end = min(end, self.cols)
        if start >= end:
            return
        row = self.chars[y]
        if start and row[start] == "":
            row[start - 1] = " "
        row[start:end] = [" "] * (end - start)
        self.attrs[y][start:end] = [self.bce] * (end - start)
        if end < self.cols and row[end] == "":
            row[end] = " "
        self._dirty.add(y)

    # Erasing to the right right after the last column was written (pending wrap) leaves
    # that column and the pending wrap alone, as tmux and VTE do (xterm erases it): top
    # pads its reverse-video header to the full width and then sends EL.

    def erase_in_line(self, mode: int) -> None:
        if mode == 0:
            if self.wrap_pending:
                return
            self._blank(self.cy, self.cx, self.cols)
        elif mode == 1:
            self._blank(self.cy, 0, self.cx + 1)
        elif mode == 2:
            self._blank(self.cy, 0, self.cols)
        self.wrap_pending = False

    def erase_in_display(self, mode: int) -> None:
        if mode == 0:
            if not self.wrap_pending:
                self._blank(self.cy, self.cx, self.cols)
            rows = range(self.cy + 1, self.rows)
        elif mode == 1:
            self._blank(self.cy, 0, self.cx + 1)
            rows = range(self.cy)
        elif mode == 2:
            rows = range(self.rows)
        elif mode == 3:
            self.history.clear()
            return
        else:
            return
        for y in rows:
            self._blank(y, 0, self.cols)
        if mode:
            self.wrap_pending = False

    def erase_chars(self, n: int) -> None:
        if self.wrap_pending:
            return
        self._blank(self.cy, self.cx, self.cx + n)
        self.wrap_pending = False

    def insert_chars(self, n: int) -> None:
        x, cols = self.cx, self.cols
        n = min(n, cols - x)
        row, arow = self.chars[self.cy], self.attrs[self.cy]
        if row[x] == "" and x:
            row[x - 1] = " "
            row[x] = " "
        row[x:x] = [" "] * n
        arow[x:x] = [self.bce] * n
        del row[cols:], arow[cols:]
        if row[cols - 1] != "" and char_width(row[cols - 1]) == 2:
            row[cols - 1] = " "
        self._dirty.add(self.cy)
        self.wrap_pending = False

    def delete_chars(self, n: int) -> None:
        x, cols = self.cx, self.cols
        n = min(n, cols - x)
        row, arow = self.chars[self.cy], self.attrs[self.cy]
        if row[x] == "" and x:
            row[x - 1] = " "
        del row[x : x + n], arow[x : x + n]
        row.extend([" "] * n)
        arow.extend([self.bce] * n)
        if row[x] == "":
            row[x] = " "
        self._dirty.add(self.cy)
        self.wrap_pending = False

    def alignment_test(self) -> None:
        for y in range(self.rows):
            self.chars[y] = ["E"] * self.cols
            self.attrs[y] = [DEFAULT] * self.cols
        self._sync_buffer()
        self.top, self.bottom = 0, self.rows - 1
        self.cx = self.cy = 0
        self._all_dirty = True

    def _sync_buffer(self) -> None:
        if self.alternate_screen:
            self._alt = (self.chars, self.attrs)
        else:
            self._main = (self.chars, self.attrs)

    # -- margins, modes and screens ------------------------------------------------------

    def set_margins(self, top: int, bottom: int) -> None:
        """DECSTBM with 0-based inclusive bounds; invalid regions are ignored."""
        bottom = min(bottom, self.rows - 1)
        if top < bottom:
            self.top, self.bottom = top, bottom
            self.cx = 0
            self.cy = top if self.origin else 0
            self.wrap_pending = False

    def switch_screen(self, alternate: bool, clear: bool) -> None:
        if alternate == self.alternate_screen:
            if clear and alternate:
                self.erase_in_display(2)
            return
        if alternate:
            self._main = (self.chars, self.attrs)
            if self._alt is None or len(self._alt[0]) != self.rows or clear:
                self._alt = (
                    [[" "] * self.cols for _ in range(self.rows)],
                    [[self.bce] * self.cols for _ in range(self.rows)],
                )
            self.chars, self.attrs = self._alt
        else:
            self._alt = (self.chars, self.attrs)
            self.chars, self.attrs = self._main
        self.alternate_screen = alternate
        self._all_dirty = True
