"""A container log on screen: line-rendered so a million lines scroll like ten.

Only the rows in view are rendered (`render_line` returns a Strip, as Textual's `Log`
does); appending lines refreshes the rows they land on and, when the view sat at the
bottom, keeps it there. Wrapping maps each log line to as many rows as the width needs,
computed incrementally as lines arrive. The search highlights every match of the query
(case-insensitive) and `n`/`N` move between the lines that have one; timestamps and the
per-source prefix (when several logs are interleaved) are shown or hidden without
reloading anything.
"""

from __future__ import annotations

from collections import deque
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from retina_tui.kube.logs import LogLine

LINE_LIMIT = 200_000
"""Lines kept in a log tab; the oldest go first (the file saved keeps what is kept)."""
PREFIX_COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_red")


class LogView(ScrollView, can_focus=True):
    """The lines of one or more container logs."""

    DEFAULT_CSS = """
    LogView { height: 1fr; background: $surface; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next_match", "Next match", show=False),
        Binding("N", "previous_match", "Previous match", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
    ]

    class MatchesCounted(Message):
        """The number of lines matching the search changed."""

        def __init__(self, view: LogView, lines: int) -> None:
            super().__init__()
            self.view = view
            self.lines = lines

    def __init__(self, *, prefixed: bool, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: deque[LogLine] = deque()
        self.dropped = 0
        """Lines removed from the start to stay under LINE_LIMIT."""
        self.prefixed = prefixed
        self.timestamps = False
        self.wrap = False
        self.search_text = ""
        self._matches: list[int] = []
        """Absolute numbers (dropped + index) of the lines matching the query."""
        self._colours: dict[str, str] = {}
        self._rows: list[tuple[int, int]] = []
        """Wrapped mode: (absolute line number, start column) of each row."""
        self._rows_width = 0
        self._longest = 0

    # ---- content ---------------------------------------------------------------------

    def add(self, lines: list[LogLine]) -> None:
        """Append lines; the view stays at the bottom if it was there."""
        if not lines:
            return
        at_end = self.is_vertical_scroll_end or self.max_scroll_y == 0
        first_new = self.dropped + len(self.lines)
        for line in lines:
            self.lines.append(line)
            self._longest = max(self._longest, len(self._plain(line)))
        overflow = len(self.lines) - LINE_LIMIT
        if overflow > 0:
            for _ in range(overflow):
                self.lines.popleft()
            self.dropped += overflow
            self._matches = [n for n in self._matches if n >= self.dropped]
            self._rows = []
        if self.search_text:
            folded = self.search_text.casefold()
            start = max(first_new, self.dropped)
            for number in range(start, self.dropped + len(self.lines)):
                if folded in self._plain(self.lines[number - self.dropped]).casefold():
                    self._matches.append(number)
            self.post_message(self.MatchesCounted(self, len(self._matches)))
        self._resize(full=bool(overflow))
        if at_end:
            self.scroll_end(animate=False, immediate=True)

    def _prefix(self, line: LogLine) -> str:
        return f"[{line.source.label}] " if self.prefixed else ""

    def _plain(self, line: LogLine) -> str:
        stamp = f"{line.stamp} " if self.timestamps else ""
        return f"{stamp}{self._prefix(line)}{line.text}"

    def text(self) -> str:
        """Every kept line as shown (timestamps and prefixes as toggled), for saving."""
        return "".join(self._plain(line) + "\n" for line in self.lines)

    # ---- toggles ---------------------------------------------------------------------

    def set_timestamps(self, on: bool) -> None:
        self.timestamps = on
        self._longest = max((len(self._plain(line)) for line in self.lines), default=0)
        self._resize(full=True)

    def set_wrap(self, on: bool) -> None:
        self.wrap = on
        self._resize(full=True)

    def search(self, query: str) -> int:
        """Highlight `query`; the number of matching lines. The first match is shown."""
        self.search_text = query
        folded = query.casefold()
        self._matches = (
            [
                self.dropped + index
                for index, line in enumerate(self.lines)
                if folded in self._plain(line).casefold()
            ]
            if query
            else []
        )
        self.refresh()
        return len(self._matches)

    @property
    def match_count(self) -> int:
        return len(self._matches)

    def action_next_match(self) -> None:
        self._jump(forward=True)

    def action_previous_match(self) -> None:
        self._jump(forward=False)

    def _jump(self, *, forward: bool) -> None:
        if not self._matches:
            return
        current = self._line_at_row(int(self.scroll_y) + self.size.height // 2)
        if forward:
            later = [n for n in self._matches if n > current]
            target = later[0] if later else self._matches[0]
        else:
            earlier = [n for n in self._matches if n < current]
            target = earlier[-1] if earlier else self._matches[-1]
        row = self._row_of_line(target)
        self.scroll_to(y=max(0, row - self.size.height // 2), animate=False)

    # ---- geometry --------------------------------------------------------------------

    def _wrap_width(self) -> int:
        return max(1, self.scrollable_content_region.width or self.size.width or 80)

    def _rows_for(self, number: int, width: int) -> list[tuple[int, int]]:
        length = len(self._plain(self.lines[number - self.dropped]))
        return [(number, start) for start in range(0, max(length, 1), width)]

    def _resize(self, *, full: bool) -> None:
        if self.wrap:
            width = self._wrap_width()
            if full or width != self._rows_width or not self._rows:
                self._rows = []
                start = self.dropped
            else:
                start = self._rows[-1][0] + 1
            self._rows_width = width
            for number in range(start, self.dropped + len(self.lines)):
                self._rows.extend(self._rows_for(number, width))
            self.virtual_size = Size(width, len(self._rows))
        else:
            self.virtual_size = Size(self._longest, len(self.lines))
        self.refresh()

    def on_resize(self) -> None:
        if self.wrap and self._wrap_width() != self._rows_width:
            self._resize(full=True)

    def _line_at_row(self, row: int) -> int:
        if self.wrap and self._rows:
            return self._rows[min(max(row, 0), len(self._rows) - 1)][0]
        return self.dropped + row

    def _row_of_line(self, number: int) -> int:
        if not self.wrap:
            return number - self.dropped
        for row, (line_number, _start) in enumerate(self._rows):
            if line_number == number:
                return row
        return 0

    # ---- rendering -------------------------------------------------------------------

    def _colour(self, label: str) -> str:
        if label not in self._colours:
            self._colours[label] = PREFIX_COLOURS[len(self._colours) % len(PREFIX_COLOURS)]
        return self._colours[label]

    def _segments(self, line: LogLine, base: Style) -> list[Segment]:
        parts: list[tuple[str, Style]] = []
        if self.timestamps:
            parts.append((f"{line.stamp} ", base + Style(dim=True)))
        if self.prefixed:
            parts.append((self._prefix(line), base + Style(color=self._colour(line.source.label))))
        parts.append((line.text, base))
        if not self.search_text:
            return [Segment(text, style) for text, style in parts]
        return _highlight(parts, self.search_text, base + Style(reverse=True, bold=True))

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        row = scroll_y + y
        if self.wrap:
            if row >= len(self._rows):
                return Strip.blank(width, base)
            number, start = self._rows[row]
            line = self.lines[number - self.dropped]
            strip = Strip(self._segments(line, base)).crop(start, start + self._rows_width)
            return strip.extend_cell_length(width, base)
        index = row
        if index >= len(self.lines):
            return Strip.blank(width, base)
        strip = Strip(self._segments(self.lines[index], base))
        return strip.crop_extend(scroll_x, scroll_x + width, base)


def _highlight(parts: list[tuple[str, Style]], query: str, marked: Style) -> list[Segment]:
    """Segments of `parts` with every case-insensitive occurrence of `query` marked."""
    text = "".join(part for part, _style in parts)
    folded, needle = text.casefold(), query.casefold()
    hits: list[tuple[int, int]] = []
    start = folded.find(needle)
    while start >= 0 and needle:
        hits.append((start, start + len(needle)))
        start = folded.find(needle, start + len(needle))
    if len(folded) != len(text):  # case folding changed lengths: keep it unmarked
        hits = []
    segments: list[Segment] = []
    offset = 0
    for part, style in parts:
        end = offset + len(part)
        cursor = offset
        for hit_start, hit_end in hits:
            if hit_end <= cursor or hit_start >= end:
                continue
            if hit_start > cursor:
                segments.append(Segment(text[cursor:hit_start], style))
            stop = min(hit_end, end)
            segments.append(Segment(text[max(hit_start, cursor) : stop], style + marked))
            cursor = stop
        if cursor < end:
            segments.append(Segment(text[cursor:end], style))
        offset = end
    return segments
