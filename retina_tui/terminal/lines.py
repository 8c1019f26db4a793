"""Raw text lines (printable characters and SGR sequences) turned into cells or runs."""

from __future__ import annotations

import re

from retina_tui.terminal.attrs import DEFAULT, Attr, erase_attr, sgr
from retina_tui.terminal.charsets import char_width

SGR_SPLIT = re.compile(r"\x1b\[([0-9;:]*)m")

# A row kept as raw text: (text with SGR sequences, pen at its start, whether it was
# scrolled in by an auto-wrap rather than by a line feed, width of the screen).
RawLine = tuple[str, Attr, bool, int]
# Row ``index`` of a whole line that wraps into several rows, split only when shown:
# (line, pen at the line's start, index, width of the screen, 0).
LazyRow = tuple[str, Attr, int, int, int]
RowSource = RawLine | LazyRow
# Stands in a raw row for a cell erased with the pen's background.
ERASED_CELL = "\x00"


def render_cells(raw: str, pen: Attr, cont: bool, cols: int) -> tuple[list[str], list[Attr]]:
    """The cells of one row produced by ``raw`` printed from column 0 of a fresh row."""
    parts = SGR_SPLIT.split(raw)
    first = 0
    if cont:
        # The row was scrolled in when its first character wrapped, after the SGR
        # sequences that precede it.
        while first + 1 < len(parts) and not parts[first]:
            pen = sgr(pen, parts[first + 1])
            first += 2
    fill = erase_attr(pen)
    chars = [" "] * cols
    attrs = [fill] * cols
    x = 0
    for i in range(first, len(parts)):
        part = parts[i]
        if i % 2:
            pen = sgr(pen, part)
            continue
        if not part:
            continue
        if part.isascii() and ERASED_CELL not in part and "\t" not in part:
            n = min(len(part), cols - x)
            if n <= 0:
                continue
            if x and chars[x] == "":
                chars[x - 1] = " "
            chars[x : x + n] = part[:n]
            attrs[x : x + n] = [pen] * n
            x += n
            if x < cols and chars[x] == "":
                chars[x] = " "
            continue
        for ch in part:
            w = char_width(ch)
            if ch == "\t":
                # Default tab stops (the flood path is only taken with those).
                x = cols - 1 if x >= cols else min((x // 8 + 1) * 8, cols - 1)
            elif ch == ERASED_CELL and x < cols:
                chars[x] = " "
                attrs[x] = erase_attr(pen)
                x += 1
            elif w and x + w <= cols:
                # After a tab a character may land on half of a wide one: blank the rest.
                if x and chars[x] == "":
                    chars[x - 1] = " "
                if x + w < cols and chars[x + w] == "":
                    chars[x + w] = " "
                chars[x] = ch
                attrs[x] = pen
                if w == 2:
                    chars[x + 1] = ""
                    attrs[x + 1] = pen
                x += w
            elif w == 0 and x:
                j = x - 1 if chars[x - 1] else x - 2
                chars[j] += ch
    return chars, attrs


def cells_from_runs(runs: list[tuple[str, Attr]], cols: int) -> tuple[list[str], list[Attr]]:
    """The cells of a row given as attribute runs (as kept in the scrollback)."""
    chars = [" "] * cols
    attrs = [DEFAULT] * cols
    x = 0
    for text, attr in runs:
        for ch in text:
            w = char_width(ch)
            if w == 0:
                if x:
                    j = x - 1 if chars[x - 1] else x - 2
                    chars[j] += ch
                continue
            if x + w > cols:
                return chars, attrs
            chars[x] = ch
            attrs[x] = attr
            if w == 2:
                chars[x + 1] = ""
                attrs[x + 1] = attr
            x += w
    return chars, attrs
