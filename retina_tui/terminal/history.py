"""Scrollback: lines that scrolled off the top of the main screen, kept compactly.

Rows scrolled by the emulator are stored as a tuple of (text, Attr) runs with trailing
default blanks dropped. Lines that only passed through during a flood are stored as
their raw text (printable characters and SGR sequences) plus the pen at their start, and
are turned into runs only when someone looks at them.
"""

from __future__ import annotations

from collections import deque
from operator import is_not

from retina_tui.terminal.attrs import DEFAULT, Attr
from retina_tui.terminal.lines import RawLine, render_cells

Runs = tuple[tuple[str, Attr], ...]
Entry = Runs | RawLine


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


def compact_row(chars: list[str], attrs: list[Attr]) -> Runs:
    runs = row_runs(chars, attrs)
    text, attr = runs[-1]
    if attr is DEFAULT:
        stripped = text.rstrip(" ")
        if stripped:
            runs[-1] = (stripped, attr)
        else:
            runs.pop()
    return tuple(runs)


class History:
    """A bounded list of scrolled-off lines, 0 = oldest."""

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self._lines: deque[Entry] = deque(maxlen=self.limit)

    def __len__(self) -> int:
        return len(self._lines)

    def push_row(self, chars: list[str], attrs: list[Attr]) -> None:
        if self.limit:
            self._lines.append(compact_row(chars, attrs))

    def push_raw(self, lines: list[RawLine]) -> None:
        if self.limit:
            self._lines.extend(lines[-self.limit :])

    def push_runs(self, runs: Runs) -> None:
        if self.limit:
            self._lines.append(runs)

    def clear(self) -> None:
        self._lines.clear()

    def runs(self, i: int) -> list[tuple[str, Attr]]:
        entry = self._lines[i]
        if entry and isinstance(entry[0], str):
            raw, start, continued, cols = entry
            runs = compact_row(*render_cells(raw, start, continued, cols))
            self._lines[i] = runs
            return list(runs)
        return list(entry)

    def pop_newest(self) -> list[tuple[str, Attr]] | None:
        """Remove and return the newest line (used when the screen grows)."""
        if not self._lines:
            return None
        self.runs(len(self._lines) - 1)
        return list(self._lines.pop())  # type: ignore[arg-type]
