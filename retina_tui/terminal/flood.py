"""Feeding with a shortcut for floods of coloured lines.

Plain text (printable characters, CR, LF, SGR) may wait in a bounded backlog until the
screen is read, so a flood is applied in large batches however it was chunked. In a
batch, complete lines that would only scroll through to the scrollback are not emulated
cell by cell: they are split into rows arithmetically, kept raw in the scrollback, and
only the rows left on screen are rendered. Anything else goes through the parser at once.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable

from retina_tui.terminal.attrs import Attr, erase_attr
from retina_tui.terminal.charsets import char_width, text_width
from retina_tui.terminal.fastpath import (
    SGR_PARAMS,
    first_not_simple,
    pen_after,
    pen_after_lines,
    resolve_rows,
    split_line,
    urgent,
)
from retina_tui.terminal.lines import RowSource, render_cells
from retina_tui.terminal.parser import Parser

# Plain text is held back until the screen is read or this much is waiting; then the
# complete lines are applied and a trailing partial line may stay waiting.
APPLY_THRESHOLD = 128 * 1024
# A partial line longer than this is applied rather than kept waiting.
MAX_TAIL = 16 * 1024
_PARTIAL_ESCAPE = re.compile(r"\x1b(?:\[[0-9;:]*)?\Z")
_SPLIT_TAIL = re.compile(r"(?:\r|\x1b(?:\[[0-9;:]*)?)?\Z")


class Flood(Parser):
    """Parser plus UTF-8 decoding, the backlog and the line-wise flood shortcut."""

    def __init__(
        self,
        cols: int,
        rows: int,
        scrollback: int,
        on_reply: Callable[[bytes], None] | None,
        on_title: Callable[[str], None] | None,
    ) -> None:
        super().__init__(cols, rows, scrollback, on_reply, on_title)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._backlog: list[str] = []
        self._backlog_size = 0
        self._partial = ""
        # After a flood step: the rows above the cursor's fresh bottom row, as raw rows
        # (None once anything else may have changed the screen), and whether the cells
        # still have to be rendered from them.
        self._raw_screen: list[RowSource] | None = None
        self._raw_fill = self.pen
        self._stale = False
        # The partial line drawn on that bottom row (raw text, pen at its start), if any.
        self._raw_line: tuple[str, Attr] | None = None

    def feed(self, data: bytes) -> None:
        """Apply bytes received from the remote program.

        Plain text with colours may be held back (bounded) and is applied when the screen
        is next read; anything that could ask for a reply or change a mode is applied
        before feed returns. Each call does work bounded by its data plus APPLY_THRESHOLD.
        """
        data = bytes(data)  # bytearray and memoryview too
        text = self._decoder.decode(data)
        if not text:
            return
        probe = self._partial + text
        partial = ""
        esc = probe.rfind("\x1b", max(0, len(probe) - 64))
        if esc >= 0 and _PARTIAL_ESCAPE.match(probe, esc):
            partial = probe[esc:]
            probe = probe[:esc]
        if not self._carry and self._skip is None and not urgent(data, probe):
            self._backlog.append(text)
            self._backlog_size += len(text)
            self._partial = partial
            if self._backlog_size >= APPLY_THRESHOLD:
                text = self._take_backlog()
                self._apply(text, len(text) - len(partial), keep_tail=True)
            return
        checked = self._backlog_size
        self._apply(self._take_backlog() + text, checked)

    def flush(self) -> None:
        """Apply held-back text now (cells left by a flood step are rendered on read)."""
        if self._backlog:
            text = self._take_backlog()
            self._apply(text, len(text))

    def sync(self) -> None:
        """Bring everything up to date, cells included (readers of cells call this)."""
        self.flush()
        if self._stale:
            self._render_raw_screen()

    def _take_backlog(self) -> str:
        text = "".join(self._backlog)
        self._backlog.clear()
        self._backlog_size = 0
        self._partial = ""
        return text

    def process(self, text: str) -> None:
        """Apply text through the parser (which may change any cell)."""
        if self._raw_screen is not None:
            if self._stale:
                self._render_raw_screen()
            self._raw_screen = None
            self._raw_line = None
        super().process(text)

    def _apply(self, text: str, checked: int, keep_tail: bool = False) -> None:
        """Apply text; text[:checked] holds no controls but CR/LF, no escapes but SGR.

        With ``keep_tail``, a trailing partial line of plain text goes back to the backlog.
        """
        if self._carry:
            text = self._carry + text
            self._carry = ""
            checked = 0
        if self._skip is not None or not self._fast_ok():
            self.process(text)
            return
        end = first_not_simple(text, checked)
        cut = text.rfind("\r\n", 0, end)
        lines = text[:cut].split("\r\n") if cut >= 0 else []
        if self._raw_screen is None and len(lines) < self.rows + 2:
            self.process(text)
            return
        if lines:
            self._pass_lines(lines)
        rest = text[cut + 2 :] if cut >= 0 else text
        if not rest:
            return
        # A chunk may end inside an escape sequence or between CR and LF: such a tail
        # can wait for the next chunk too.
        if keep_tail and len(rest) <= MAX_TAIL and _SPLIT_TAIL.match(text, end):
            self._backlog.append(rest)
            self._backlog_size = len(rest)
            if end < len(text) and text[end] == "\x1b":
                self._partial = text[end:]
        elif end < len(text) or not self._draw_partial_line(rest):
            self.process(rest)

    def _draw_partial_line(self, rest: str) -> bool:
        """Draw plain text that ends without CR LF on the fresh bottom row left by a
        flood step, keeping that state; False if it would wrap (then it is parsed)."""
        if self._raw_screen is None:
            return False
        text, start = rest, self.pen
        if self._raw_line is not None:
            text, start = self._raw_line[0] + rest, self._raw_line[1]
        visible = SGR_PARAMS.sub("", text)
        if "\t" in visible:
            return False
        if visible.isascii():
            width = len(visible)
            fits = width < self.cols
        else:
            width = text_width(visible)
            fits = width < self.cols - 1
        if not fits:
            return False
        self._raw_line = (text, start)
        self.set_pen(pen_after(start, text))
        self.cx = width
        self.wrap_pending = False
        printed = [ch for ch in visible if char_width(ch)]
        if printed:
            self.last_char = printed[-1]
        if not self._stale:
            y = self.rows - 1
            self.chars[y], self.attrs[y] = render_cells(text, start, False, self.cols)
        self._dirty.add(self.rows - 1)
        return True

    def _fast_ok(self) -> bool:
        return (
            self.top == 0
            and self.bottom == self.rows - 1
            and self.autowrap
            and not self.insert
            and not self.lnm
            and not self.graphics
            and not self.alternate_screen
            and self.tabstops == set(range(8, self.cols, 8))
        )

    def _pass_lines(self, lines: list[str]) -> None:
        """Apply complete lines (each ended by CR LF) of printable text and SGR only."""
        rows, cols = self.rows, self.cols
        i = 0
        old_rows = self._raw_screen
        if old_rows is None:
            # Lines that land on rows already on screen are emulated as usual, until the
            # cursor sits on a freshly scrolled-in bottom row.
            while i < len(lines):
                at_bottom = self.cy == rows - 1
                self.process(lines[i] + "\r\n")
                i += 1
                if at_bottom:
                    break
            if len(lines) - i < rows:
                self.process("".join(line + "\r\n" for line in lines[i:]))
                return
        pen = self.pen
        if old_rows is not None and self._raw_line is not None:
            # The partial line already drawn on the bottom row is the first line's start.
            lines = [self._raw_line[0] + lines[0], *lines[1:]]
            pen = self._raw_line[1]
            self._raw_line = None
        # Each line fills at least one row: older lines cannot reach the scrollback.
        useful = self.history.limit + rows
        if len(lines) - i > useful:
            pen = pen_after_lines(pen, lines[i : len(lines) - useful])
            i = len(lines) - useful
            old_rows = []
        segs: list[RowSource] = []
        append = segs.append
        for line in lines[i:]:
            if not line.isascii() or "\t" in line:
                pen = split_line(line, pen, cols, segs)
            elif len(line) <= cols:
                append((line, pen, False, cols))
                if "\x1b" in line:
                    pen = pen_after(pen, line)
            else:
                width = len(SGR_PARAMS.sub("", line)) if "\x1b" in line else len(line)
                if width <= cols:
                    append((line, pen, False, cols))
                else:
                    # One character per cell: the rows are known without splitting, which
                    # waits until a row is shown.
                    for index in range(-(-width // cols)):
                        append((line, pen, index, cols, 0))
                if "\x1b" in line:
                    pen = pen_after(pen, line)
        # The screen above the fresh bottom row, then each new row, scrolls up in turn:
        # all but the last rows - 1 of them leave for the scrollback.
        keep = rows - 1
        if old_rows is None:
            for y in range(keep):
                if len(segs) - keep < self.history.limit:
                    self.history.push_row(self.chars[y], self.attrs[y])
            old_rows = []
        rows_in_order = old_rows + segs
        self.history.push_raw(rows_in_order[: len(rows_in_order) - keep])
        self._raw_screen = rows_in_order[len(rows_in_order) - keep :]
        self._raw_fill = erase_attr(pen)
        self._stale = True
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

    def _render_raw_screen(self) -> None:
        """Render the rows kept raw by the last flood step into cells."""
        assert self._raw_screen is not None
        cols = self.cols
        new_chars: list[list[str]] = []
        new_attrs: list[list[Attr]] = []
        for raw, start, cont, _ in resolve_rows(self._raw_screen):
            c, a = render_cells(raw, start, cont, cols)
            new_chars.append(c)
            new_attrs.append(a)
        if self._raw_line is not None:
            c, a = render_cells(self._raw_line[0], self._raw_line[1], False, cols)
            new_chars.append(c)
            new_attrs.append(a)
        else:
            new_chars.append([" "] * cols)
            new_attrs.append([self._raw_fill] * cols)
        self.chars[:] = new_chars
        self.attrs[:] = new_attrs
        self._stale = False
