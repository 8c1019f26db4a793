"""A line-based table for tens of thousands of live rows.

Textual's DataTable re-lays out far too much for 10,000 rows that change fifty
times a second, so this table keeps its rows in a dict keyed by uid, renders only
the visible lines (like Textual's `Log`), refreshes a single line when a row changes
in place, and re-sorts and re-filters at most once per frame when rows come or go.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from retina_tui.ui.rows import Row, age

GAP = 2
MAX_CELL = 64


class VirtualTable(ScrollView, can_focus=True):
    """Rows keyed by uid; a sticky header; sorting by column; a substring filter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "first", "First row", show=False),
        Binding("end,G", "last", "Last row", show=False),
        Binding("enter", "select", "Select", show=False),
        *(
            Binding(str(n), f"sort({n - 1})", f"Sort by column {n}", show=False)
            for n in range(1, 9)
        ),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--ok",
        "virtual-table--pending",
        "virtual-table--error",
    }

    DEFAULT_CSS = """
    VirtualTable {
        background: $surface;
        color: $foreground;
        overflow: auto auto;
        & > .virtual-table--header { text-style: bold; color: $primary; }
        & > .virtual-table--cursor { background: $panel-lighten-1; }
        &:focus > .virtual-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
        }
        & > .virtual-table--ok { color: $success; }
        & > .virtual-table--pending { color: $warning; }
        & > .virtual-table--error { color: $error; text-style: bold; }
    }
    """

    class Highlighted(Message):
        """The cursor moved to another row (key None when the table is empty)."""

        def __init__(self, table: VirtualTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    class Selected(Message):
        """Enter was pressed on a row."""

        def __init__(self, table: VirtualTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(
        self,
        columns: Iterable[str],
        *,
        status_column: int,
        clock: Callable[[], float] = time.time,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.columns = tuple(columns)
        self.status_column = status_column
        self.clock = clock
        self._rows: dict[str, Row] = {}
        self._view: list[str] = []
        self._index: dict[str, int] = {}
        self._widths = [len(label) + 2 for label in self.columns]
        self._filter = ""
        self._sort_column = 0
        self._sort_reverse = False
        self._cursor = 0
        self._cursor_key: str | None = None
        self._rebuild_pending = False
        self._highlight_posted: str | None = None

    # Data ---------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """Rows that pass the filter."""
        return len(self._view)

    @property
    def total_count(self) -> int:
        """Every row, filtered or not."""
        return len(self._rows)

    @property
    def cursor_key(self) -> str | None:
        """The uid of the row under the cursor."""
        return self._cursor_key

    def visible_keys(self) -> list[str]:
        """Row keys in display order (after filter and sort)."""
        rows = self._rows
        return [key for key in self._view if key in rows]

    def get_row(self, key: str) -> Row | None:
        """The row stored under `key`."""
        return self._rows.get(key)

    def replace_all(self, rows: Iterable[Row]) -> None:
        """Replace every row (a fresh list from the API)."""
        self._rows = {row.key: row for row in rows}
        self._widths = [len(label) + 2 for label in self.columns]
        for row in self._rows.values():
            self._grow(row)
        self._schedule_rebuild(now=True)

    def upsert(self, row: Row) -> None:
        """Add or update one row; only its line is redrawn when its place is unchanged."""
        old = self._rows.get(row.key)
        self._rows[row.key] = row
        grew = self._grow(row)
        if old is not None and not grew and self._same_place(old, row):
            index = self._index.get(row.key)
            if index is not None:
                self.refresh_line(index + 1)
            return
        self._schedule_rebuild()

    def remove_row(self, key: str) -> None:
        """Forget a row."""
        if self._rows.pop(key, None) is not None:
            self._schedule_rebuild()

    def _same_place(self, old: Row, new: Row) -> bool:
        column = self._sort_column
        if old.sort_keys[column] != new.sort_keys[column]:
            return False
        if not self._filter:
            return True
        return (self._filter in old.haystack) == (self._filter in new.haystack)

    def _grow(self, row: Row) -> bool:
        grew = False
        for i, cell in enumerate(row.cells):
            width = min(len(cell), MAX_CELL)
            if width > self._widths[i]:
                self._widths[i] = width
                grew = True
        return grew

    # Filter and sort ----------------------------------------------------------------

    @property
    def filter_text(self) -> str:
        """The current filter (lower-case substring)."""
        return self._filter

    def set_filter(self, text: str) -> None:
        """Show only rows whose cells contain `text` (case-insensitive)."""
        self._filter = text.strip().lower()
        self._schedule_rebuild(now=True)

    @property
    def sort_column(self) -> int:
        """Index of the column the rows are sorted by."""
        return self._sort_column

    @property
    def sort_reverse(self) -> bool:
        """Whether the sort is descending."""
        return self._sort_reverse

    def sort_by(self, column: int, reverse: bool | None = None) -> None:
        """Sort by `column`; sorting by the same column again flips the order."""
        if not 0 <= column < len(self.columns):
            return
        if reverse is None:
            reverse = not self._sort_reverse if column == self._sort_column else False
        self._sort_column = column
        self._sort_reverse = reverse
        self._schedule_rebuild(now=True)

    def _schedule_rebuild(self, now: bool = False) -> None:
        if now or not self.is_mounted:
            self._rebuild()
        elif not self._rebuild_pending:
            self._rebuild_pending = True
            self.set_timer(1 / 30, self._rebuild)

    def _rebuild(self) -> None:
        self._rebuild_pending = False
        needle = self._filter
        rows: Iterable[Row] = self._rows.values()
        if needle:
            rows = [row for row in rows if needle in row.haystack]
        column = self._sort_column
        ordered = sorted(rows, key=lambda row: row.sort_keys[column], reverse=self._sort_reverse)
        self._view = [row.key for row in ordered]
        self._index = {key: i for i, key in enumerate(self._view)}
        if self._cursor_key in self._index:
            self._cursor = self._index[self._cursor_key]
        self._cursor = max(0, min(self._cursor, len(self._view) - 1))
        self._cursor_key = self._view[self._cursor] if self._view else None
        width = sum(self._widths) + GAP * len(self._widths)
        self.virtual_size = Size(width, len(self._view) + 1)
        self._scroll_cursor_into_view()
        self.refresh()
        self._post_highlight()

    # Cursor -------------------------------------------------------------------------

    def move_cursor_to(self, key: str) -> bool:
        """Put the cursor on the row `key` if it is shown."""
        index = self._index.get(key)
        if index is None:
            return False
        self._set_cursor(index)
        return True

    def _set_cursor(self, index: int) -> None:
        if not self._view:
            return
        index = max(0, min(index, len(self._view) - 1))
        old = self._cursor
        self._cursor = index
        self._cursor_key = self._view[index]
        self.refresh_line(old + 1)
        self.refresh_line(index + 1)
        self._scroll_cursor_into_view()
        self._post_highlight()

    def _post_highlight(self) -> None:
        if self._cursor_key != self._highlight_posted:
            self._highlight_posted = self._cursor_key
            self.post_message(self.Highlighted(self, self._cursor_key))

    def _scroll_cursor_into_view(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + visible:
            self.scroll_to(y=self._cursor - visible + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self._set_cursor(self._cursor + delta)

    def action_page(self, direction: int) -> None:
        page = max(1, self.scrollable_content_region.height - 1)
        self._set_cursor(self._cursor + direction * page)

    def action_first(self) -> None:
        self._set_cursor(0)

    def action_last(self) -> None:
        self._set_cursor(len(self._view) - 1)

    def action_select(self) -> None:
        if self._cursor_key is not None:
            self.post_message(self.Selected(self, self._cursor_key))

    def action_sort(self, column: int) -> None:
        self.sort_by(column)

    def on_click(self, event: Click) -> None:
        if event.y == 0:
            x = int(self.scroll_x) + event.x
            for i, width in enumerate(self._widths):
                if x < width + GAP:
                    self.sort_by(i)
                    return
                x -= width + GAP
        else:
            self._set_cursor(int(self.scroll_y) + event.y - 1)

    # Rendering ----------------------------------------------------------------------

    def header_text(self) -> str:
        """The header line with the sort marker, as plain text."""
        parts = []
        for i, (label, width) in enumerate(zip(self.columns, self._widths, strict=True)):
            if i == self._sort_column:
                label = f"{label}{'▼' if self._sort_reverse else '▲'}"
            parts.append(label.ljust(width)[:width])
        return (" " * GAP).join(parts)

    def row_text(self, key: str) -> str:
        """One row as plain text, as it is drawn (for tests and the tmux smoke test)."""
        return "".join(segment.text for segment in self._row_segments(self._rows[key]))

    def _row_segments(self, row: Row, base: Style | None = None) -> list[Segment]:
        cells = (*row.cells, age(row.created, self.clock()))
        base = base or Style()
        status_style = base + self.get_component_rich_style(f"virtual-table--{row.tone}")
        segments = []
        for i, (cell, width) in enumerate(zip(cells, self._widths, strict=True)):
            text = cell if len(cell) <= width else cell[: width - 1] + "…"
            style = status_style if i == self.status_column else base
            segments.append(Segment(text.ljust(width), style))
            segments.append(Segment(" " * GAP, base))
        return segments

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            header = self.get_component_rich_style("virtual-table--header")
            strip = Strip([Segment(self.header_text(), base + header)])
        else:
            index = scroll_y + y - 1
            if index >= len(self._view):
                return Strip.blank(width, base)
            row = self._rows.get(self._view[index])
            if row is None:  # removed; the rebuild queued for this frame drops the line
                return Strip.blank(width, base)
            style = base
            if index == self._cursor:
                style = base + self.get_component_rich_style("virtual-table--cursor")
            strip = Strip(self._row_segments(row, style))
        return strip.crop_extend(scroll_x, scroll_x + width, base)
