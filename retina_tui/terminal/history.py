"""Scrollback: lines that scrolled off the top of the main screen, kept compactly.

Rows scrolled by the emulator are stored as their text plus (offset, attribute) pairs,
trailing default blanks dropped. Lines that only passed through during a flood are stored
as their raw text (printable characters and SGR sequences) plus the pen at their start,
and are turned into runs only when someone looks at them.
"""

from __future__ import annotations

from collections import deque
from operator import is_not

from retina_tui.terminal.attrs import DEFAULT, Attr
from retina_tui.terminal.fastpath import resolve_rows
from retina_tui.terminal.lines import RowSource, render_cells

# Scrollback entries hold no object references, only strings and numbers, so the garbage
# collector does not have to walk them: attributes are numbered in a palette.
# A compacted row: (text, (offset, palette index, offset, palette index, ...)).
Compact = tuple[str, tuple[int, ...]]
# A raw row (see lines.RawLine) with its pen as a palette index.
Raw = tuple[str, int, bool, int]
# A row of a wrapped line (see lines.LazyRow) with the pen as a palette index.
Lazy = tuple[str, int, int, int, int]
Entry = Compact | Raw | Lazy
PALETTE_LIMIT = 65_536


def row_runs(chars: list[str], attrs: list[Attr]) -> list[tuple[str, Attr]]:
    """Runs of text sharing one attribute; wide characters' right halves add no text."""
    # Attrs are interned, so run boundaries are found by identity at C speed (map and
    # list.index) rather than by the dataclass __eq__ at Python speed.
    changes = list(map(is_not, attrs[1:], attrs[:-1]))
    if True not in changes:
        return [("".join(chars), attrs[0])]
    changes.append(True)
    find = changes.index
    out: list[tuple[str, Attr]] = []
    start = 0
    n = len(attrs)
    while start < n:
        end = find(True, start) + 1
        out.append(("".join(chars[start:end]), attrs[start]))
        start = end
    return out


class History:
    """A bounded list of scrolled-off lines, 0 = oldest."""

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self._lines: deque[Entry] = deque(maxlen=self.limit)
        self._palette: list[Attr] = []
        self._codes: dict[int, int] = {}
        self._palette_limit = PALETTE_LIMIT

    def __len__(self) -> int:
        return len(self._lines)

    def _code(self, attr: Attr) -> int:
        code = self._codes.get(id(attr))
        if code is None:
            if len(self._palette) >= self._palette_limit:
                self._renumber()
            code = len(self._palette)
            self._palette.append(attr)
            self._codes[id(attr)] = code
        return code

    def _renumber(self) -> None:
        """Rebuild the palette from the lines still kept (truecolor floods grow it)."""
        lines = [self._decode(entry) for entry in self._lines]
        self._palette = []
        self._codes = {}
        self._lines.clear()
        self._palette_limit = 1 << 62
        for runs in lines:
            self.push_runs(runs)
        self._palette_limit = max(PALETTE_LIMIT, 2 * len(self._palette))

    def push_row(self, chars: list[str], attrs: list[Attr]) -> None:
        if self.limit:
            self.push_runs(row_runs(chars, attrs))

    def push_runs(self, runs: list[tuple[str, Attr]]) -> None:
        if self.limit:
            self._lines.append(self._compact(runs))

    def _compact(self, runs: list[tuple[str, Attr]]) -> Compact:
        """Encode runs, dropping trailing default blanks from ``runs`` in place."""
        if runs and runs[-1][1] is DEFAULT:
            stripped = runs[-1][0].rstrip(" ")
            if stripped:
                runs[-1] = (stripped, DEFAULT)
            else:
                runs.pop()
        codes: list[int] = []
        offset = 0
        for text, attr in runs:
            codes.append(offset)
            codes.append(self._code(attr))
            offset += len(text)
        return ("".join(text for text, _ in runs), tuple(codes))

    def push_raw(self, rows: list[RowSource]) -> None:
        if not self.limit:
            return
        encoded: list[Entry] = []
        known = self._codes.get
        for src in rows[-self.limit :]:
            code = known(id(src[1]))
            if code is None:
                code = self._code(src[1])
            if len(src) == 4:
                encoded.append((src[0], code, src[2], src[3]))
            else:
                encoded.append((src[0], code, src[2], src[3], 0))
        self._lines.extend(encoded)

    def clear(self) -> None:
        self._lines.clear()

    def runs(self, i: int) -> list[tuple[str, Attr]]:
        entry = self._lines[i]
        runs = self._decode(entry)
        if len(entry) != 2:
            # Rendered once; kept compact from now on (this also drops trailing blanks).
            self._lines[i] = self._compact(runs)
        return runs

    def _decode(self, entry: Entry) -> list[tuple[str, Attr]]:
        palette = self._palette
        if len(entry) == 4:
            raw, code, cont, cols = entry
            return row_runs(*render_cells(raw, palette[code], cont, cols))
        if len(entry) == 5:
            line, code, index, cols, _ = entry
            ((raw, pen, cont, _),) = resolve_rows([(line, palette[code], index, cols, 0)])
            return row_runs(*render_cells(raw, pen, cont, cols))
        text, codes = entry
        bounds = [*codes[2::2], len(text)]
        return [
            (text[codes[k] : bounds[k // 2]], palette[codes[k + 1]])
            for k in range(0, len(codes), 2)
        ]

    def pop_newest(self) -> list[tuple[str, Attr]] | None:
        """Remove and return the newest line (used when the screen grows)."""
        if not self._lines:
            return None
        runs = self.runs(len(self._lines) - 1)
        self._lines.pop()
        return runs
