"""Flood handling: lines that only pass through to the scrollback skip cell emulation.

When a chunk holds many complete lines made only of printable text and SGR sequences,
ending in CR LF, the screen they produce is computable without emulating every cell:
each line becomes one or more rows (auto-wrap), rows that scroll off are stored raw with
the pen at their start, and only the rows that stay visible are rendered into cells.
"""

from __future__ import annotations

import re

from retina_tui.terminal.attrs import DEFAULT, Attr, sgr
from retina_tui.terminal.charsets import char_width
from retina_tui.terminal.lines import ERASED_CELL, SGR_SPLIT, RawLine, RowSource

# What the fast path cannot compute: controls other than CR, LF (ESC is checked apart),
# escapes other than SGR, a CR not followed by LF, an LF not preceded by CR. Each pattern
# starts with a literal or a class, so `re` scans for it at C speed.
_BAD_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f]")
_BAD_ESCAPE = re.compile(r"\x1b(?!\[[0-9;:]*m)")
_BARE_CR = re.compile(r"\r(?!\n)")
_BARE_LF = re.compile(r"\n(?<!\r\n)")
SGR_PARAMS = re.compile(r"\x1b\[([0-9;:]*)m")
_RESET = re.compile(r"0*(?:;|\Z)")


_C0_OTHER = bytes(set(range(0x20)) - {0x09, 0x0A, 0x0D, 0x1B} | {0x7F})
_NOT_C0_OTHER = bytes(b for b in range(256) if b not in _C0_OTHER)
_C1 = re.compile(rb"\xc2[\x80-\x9f]")


def first_not_simple(text: str, checked: int) -> int:
    """Index of the first character of ``text`` the fast path cannot take, or its length.

    text[:checked] is known to hold no controls but CR/LF and no escapes but SGR.
    """
    end = len(text)
    start = max(0, checked - 64)
    for pattern in (_BAD_CONTROL, _BAD_ESCAPE):
        m = pattern.search(text, start, end)
        if m is not None:
            end = m.start()
    # Counting is much faster than searching; search only when a CR or LF is alone.
    crlf = text.count("\r\n", 0, end)
    if text.count("\r", 0, end) != crlf or text.count("\n", 0, end) != crlf:
        for pattern in (_BARE_CR, _BARE_LF):
            m = pattern.search(text, 0, end)
            if m is not None:
                end = m.start()
    return end


def urgent(data: bytes, text: str) -> bool:
    """Whether the chunk holds anything but printable characters, CR, LF and SGR.

    ``data`` is the raw chunk (for controls, checked on bytes at C speed), ``text`` the
    decoded text to check for escapes.
    """
    if data.translate(None, _NOT_C0_OTHER):
        return True
    if b"\xc2" in data and _C1.search(data):
        return True
    return _BAD_ESCAPE.search(text) is not None


def pen_after_lines(pen: Attr, lines: list[str]) -> Attr:
    """The pen after all of ``lines``, found from the last SGR reset backwards."""
    for j in range(len(lines) - 1, -1, -1):
        line = lines[j]
        if "\x1b" not in line:
            continue
        params = SGR_PARAMS.findall(line)
        for k in range(len(params) - 1, -1, -1):
            if _RESET.match(params[k]):
                pen = DEFAULT
                for p in params[k:]:
                    pen = sgr(pen, p)
                for later in lines[j + 1 :]:
                    pen = pen_after(pen, later)
                return pen
    for line in lines:
        pen = pen_after(pen, line)
    return pen


def pen_after(pen: Attr, raw: str) -> Attr:
    """The pen after the SGR sequences in ``raw``."""
    if raw.endswith(("\x1b[0m", "\x1b[m")):
        return DEFAULT
    for params in SGR_PARAMS.findall(raw):
        pen = sgr(pen, params)
    return pen


def split_line(line: str, pen: Attr, cols: int, out: list[RawLine] | list[RowSource]) -> Attr:
    """Append the rows that ``line`` fills (auto-wrapped at ``cols``) to ``out``.

    Each row is (raw text, pen at its start, continuation flag); SGR sequences met
    while the cursor waits to wrap belong to the next row. Returns the pen at the end.
    """
    if "\t" in line:
        return _split_with_tabs(line, pen, cols, out)
    if line.isascii():
        if "\x1b" not in line:
            for k in range(0, len(line), cols):
                out.append((line[k : k + cols], pen, k > 0, cols))
            if not line:
                out.append(("", pen, False, cols))
            return pen
        return _split_ascii(line, pen, cols, out)
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


def _split_ascii(line: str, pen: Attr, cols: int, out: list[RawLine] | list[RowSource]) -> Attr:
    """split_line for ASCII text with SGR sequences: one cell per character."""
    parts = SGR_SPLIT.split(line)
    cur: list[str] = []
    held: list[str] = []
    col = 0
    start = full_pen = pen
    cont = False
    last = len(parts) - 1
    for i in range(0, len(parts), 2):
        text = parts[i]
        while text:
            if col >= cols:
                out.append(("".join(cur), start, cont, cols))
                cur, held = held, []
                start, cont, col = full_pen, True, 0
            room = cols - col
            cur.append(text[:room])
            col += min(room, len(text))
            text = text[room:]
            if col >= cols:
                full_pen = pen
        if i < last:
            params = parts[i + 1]
            (held if col >= cols else cur).append(f"\x1b[{params}m")
            pen = sgr(pen, params)
    cur.extend(held)
    out.append(("".join(cur), start, cont, cols))
    return pen


def next_tab(col: int, cols: int) -> int:
    """Where HT moves the cursor with the default tab stops (every 8 columns)."""
    if col >= cols:
        return cols - 1
    return min((col // 8 + 1) * 8, cols - 1)


def _split_with_tabs(line: str, pen: Attr, cols: int, out: list[RawLine] | list[RowSource]) -> Attr:
    """split_line, one character at a time, for lines with tabs (default stops)."""
    cur: list[str] = []
    held: list[str] = []
    col = 0
    start = full_pen = pen
    cont = False
    for i, part in enumerate(SGR_SPLIT.split(line)):
        if i % 2:
            (held if col >= cols else cur).append(f"\x1b[{part}m")
            pen = sgr(pen, part)
            continue
        for ch in part:
            if ch == "\t":
                # HT never wraps; from a pending wrap it stays in the last column.
                col = next_tab(col, cols)
                cur.extend(held)
                held = []
                cur.append(ch)
                continue
            w = char_width(ch)
            if w == 0:
                cur.append(ch)
                continue
            if col >= cols or (w == 2 and col == cols - 1):
                if col < cols:
                    cur.append(ERASED_CELL)
                    full_pen = pen
                out.append(("".join(cur), start, cont, cols))
                cur, held = held, []
                start, cont, col = full_pen, True, 0
            cur.append(ch)
            col += w
            if col >= cols:
                full_pen = pen
    cur.extend(held)
    out.append(("".join(cur), start, cont, cols))
    return pen


def resolve_rows(sources: list[RowSource]) -> list[RawLine]:
    """The raw rows of row sources, splitting each wrapped line once."""
    out: list[RawLine] = []
    split: dict[int, list[RawLine]] = {}
    for src in sources:
        if len(src) == 4:
            out.append(src)
            continue
        line, pen, index, cols, _ = src
        rows = split.get(id(line))
        if rows is None:
            rows = []
            split_line(line, pen, cols, rows)
            split[id(line)] = rows
        out.append(rows[index])
    return out
