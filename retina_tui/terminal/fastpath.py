"""Flood handling: lines that only pass through to the scrollback skip cell emulation.

When a chunk holds many complete lines made only of printable text and SGR sequences,
ending in CR LF, the screen they produce is computable without emulating every cell:
each line becomes one or more rows (auto-wrap), rows that scroll off are stored raw with
the pen at their start, and only the rows that stay visible are rendered into cells.
"""

from __future__ import annotations

import re

from retina_tui.terminal.attrs import Attr, sgr
from retina_tui.terminal.charsets import char_width
from retina_tui.terminal.lines import ERASED_CELL, SGR_SPLIT, RawLine

# The first character that the fast path cannot compute: any control other than CR LF,
# any escape other than SGR, a CR not followed by LF or an LF not preceded by CR.
NOT_SIMPLE = re.compile(
    r"[\x00-\x1f\x7f-\x9f]"
    r"(?:(?<=[\x00-\x09\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f])"
    r"|(?<=\x1b)(?!\[[0-9;:]*m)"
    r"|(?<=\r)(?!\n)"
    r"|(?<=\n)(?<!\r\n))"
)
SGR_PARAMS = re.compile(r"\x1b\[([0-9;:]*)m")


def pen_after(pen: Attr, raw: str) -> Attr:
    """The pen after the SGR sequences in ``raw``."""
    for params in SGR_PARAMS.findall(raw):
        pen = sgr(pen, params)
    return pen


def split_line(line: str, pen: Attr, cols: int, out: list[RawLine]) -> Attr:
    """Append the rows that ``line`` fills (auto-wrapped at ``cols``) to ``out``.

    Each row is (raw text, pen at its start, continuation flag); SGR sequences met
    while the cursor waits to wrap belong to the next row. Returns the pen at the end.
    """
    cur: list[str] = []
    held: list[str] = []
    col = 0
    start = pen
    full_pen = pen
    cont = False
    for i, part in enumerate(SGR_SPLIT.split(line)):
        if i % 2:
            if col >= cols:
                held.append(f"\x1b[{part}m")
            else:
                cur.append(f"\x1b[{part}m")
            pen = sgr(pen, part)
            continue
        while part:
            ascii_part = part.isascii()
            w = 1 if ascii_part else char_width(part[0])
            if w == 0:
                # A combining mark joins the previous cell, even across a pending wrap.
                cur.append(part[0])
                part = part[1:]
                continue
            if col >= cols:
                out.append(("".join(cur), start, cont, cols))
                cur, held = held, []
                start, cont, col = full_pen, True, 0
            if ascii_part:
                take = part[: cols - col]
                part = part[len(take) :]
                cur.append(take)
                col += len(take)
            elif w == 2 and col == cols - 1:
                # A wide character never splits: the last cell is erased and it wraps.
                cur.append(ERASED_CELL)
                col = cols
                full_pen = pen
                continue
            else:
                cur.append(part[0])
                part = part[1:]
                col += w
            if col >= cols:
                full_pen = pen
    cur.extend(held)
    out.append(("".join(cur), start, cont, cols))
    return pen
