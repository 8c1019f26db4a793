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
from retina_tui.terminal.charsets import char_width
from retina_tui.terminal.fastpath import (
    SGR_PARAMS,
    first_not_simple,
    pen_after,
    pen_after_lines,
    split_line,
    urgent,
)
from retina_tui.terminal.lines import RawLine, render_cells
from retina_tui.terminal.parser import Parser

# Text waiting to be applied is bounded; a flood nobody reads is applied in such batches.
BACKLOG_LIMIT = 4 << 20
_PARTIAL_ESCAPE = re.compile(r"\x1b(?:\[[0-9;:]*)?\Z")


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

    def feed(self, data: bytes) -> None:
        """Apply bytes received from the remote program.

        Plain text with colours may be held back (bounded) and applied in one batch when
        the screen is next read; anything that could ask for a reply or change a mode is
        applied before feed returns.
        """
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
            if self._backlog_size < BACKLOG_LIMIT:
                return
            text = ""
        self._partial = ""
        checked = 0
        if self._backlog:
            checked = self._backlog_size
            text = "".join(self._backlog) + text
            self._backlog.clear()
            self._backlog_size = 0
        self._apply(text, checked)

    def flush(self) -> None:
        """Apply any text held back by feed()."""
        if self._backlog:
            text = "".join(self._backlog)
            self._backlog.clear()
            self._backlog_size = 0
            self._partial = ""
            self._apply(text, len(text))

    def _apply(self, text: str, checked: int) -> None:
        """Apply text; text[:checked] holds no controls but CR/LF, no escapes but SGR."""
        if self._skip is not None:
            self.process(text)
            return
        if self._carry:
            text = self._carry + text
            checked = 0
            self._carry = ""
        rows = self.rows
        if text.count("\n") < rows + 2 or not self._fast_ok():
            self.process(text)
            return
        cut = text.rfind("\r\n", 0, first_not_simple(text, checked))
        if cut < 0:
            self.process(text)
            return
        lines = text[:cut].split("\r\n")
        if len(lines) < rows + 2:
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
        # Each line fills at least one row: older lines cannot reach the scrollback.
        useful = self.history.limit + rows
        pen = self.pen
        if len(lines) - i > useful:
            pen = pen_after_lines(pen, lines[i : len(lines) - useful])
            i = len(lines) - useful
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
