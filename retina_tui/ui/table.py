"""A line-based table for tens of thousands of live rows.

Textual's DataTable re-lays out far too much for 10,000 rows that change fifty
times a second, so this table keeps its rows in a dict keyed by uid, renders only
the visible lines (like Textual's `Log`), refreshes a single line when a row changes
in place, and re-sorts and re-filters at most once per frame when rows come or go.
"""

from __future__ import annotations

import time
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.events import Click, Key
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from retina_tui.ui.rows import Row, age

GAP = 2
STRUCTURE_REPAINT = 0.25
"""Seconds between repaints caused by rows coming and going."""
MAX_CELL = 64


def forward_if_unfocused(widget: Widget, event: Key) -> bool:
    """Hand a key on to the focused widget when the focus left `widget` meanwhile.

    Textual queues a key to the widget focused when it arrives; keys typed at once (a
    fast typist, a paste) can wait in that queue while an earlier one moves the focus.
    They belong where the focus is now. True if the key was handed on.
    """
    focused = widget.screen.focused
    if focused is None or focused is widget:
        return False
    event.stop()
    event.prevent_default()
    focused.post_message(Key(event.key, event.character))
    return True


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
        # Rows that pass the filter, ascending by (sort key, uid); a descending sort
        # reads it backwards. Adds and removes are bisections, never a full sort.
        self._order: list[tuple[Any, str]] = []
        # What is painted: `_order` as of the last repaint. Cursor moves and line
        # refreshes index this, so keys never wait for a repaint of rows that came or went.
        self._shown: list[tuple[Any, str]] = []
        self._widths = [len(label) + 2 for label in self.columns]
        self._widths_version = 0
        self._filter = ""
        self._sort_column = 0
        self._sort_reverse = False
        self._cursor = 0
        self._cursor_key: str | None = None
        self._highlight_posted: str | None = None
        self._styles: dict[str, Style] = {}
        self._lines: LRUCache[tuple[str, bool], tuple[Row, str, tuple[int, int, int], Strip]] = (
            LRUCache(512)
        )
        self._base: Style | None = None
        self._flush_timer: Timer | None = None
        # Rows that changed place since the last repaint (their new text is unpainted).
        self._moved: set[str] = set()
        # The table length the scrollbar's thumb was last drawn for.
        self._thumb_height = 0

    # Data ---------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """Rows that pass the filter."""
        return len(self._order)

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
        keys = [key for _, key in self._order]
        return keys[::-1] if self._sort_reverse else keys

    def get_row(self, key: str) -> Row | None:
        """The row stored under `key`."""
        return self._rows.get(key)

    def _entry(self, row: Row) -> tuple[Any, str]:
        return (row.sort_keys[self._sort_column], row.key)

    def _passes(self, row: Row) -> bool:
        return not self._filter or self._filter in row.haystack

    def _key_at(self, index: int) -> str | None:
        shown = self._shown
        if not 0 <= index < len(shown):
            return None
        if self._sort_reverse:
            index = len(shown) - 1 - index
        return shown[index][1]

    def index_of(self, key: str) -> int | None:
        """Display index of the row `key` on screen, or None when it is not shown."""
        row = self._rows.get(key)
        if row is None:
            return None
        shown = self._shown
        entry = self._entry(row)
        i = bisect_left(shown, entry)
        if i >= len(shown) or shown[i] != entry:
            return None
        return len(shown) - 1 - i if self._sort_reverse else i

    def _insert(self, row: Row) -> None:
        if self._passes(row):
            insort(self._order, self._entry(row))

    def _delete(self, row: Row) -> None:
        entry = self._entry(row)
        i = bisect_left(self._order, entry)
        if i < len(self._order) and self._order[i] == entry:
            del self._order[i]

    def replace_all(self, rows: Iterable[Row]) -> None:
        """Replace every row (a fresh list from the API)."""
        self._rows = {row.key: row for row in rows}
        self._widths = [len(label) + 2 for label in self.columns]
        for row in self._rows.values():
            self._grow(row)
        self._rebuild()

    def add_rows(self, rows: Iterable[Row]) -> None:
        """Add a batch of rows (the next page of a list); painted if they land on screen."""
        rows_seen = list(rows)
        for row in rows_seen:
            old = self._rows.get(row.key)
            if old is not None:
                self._delete(old)
            self._rows[row.key] = row
            self._grow(row)
            if self._passes(row):
                self._order.append(self._entry(row))
        self._order.sort()
        self._moved.update(row.key for row in rows_seen)
        self._structure_changed()

    def sync(self, rows: Iterable[Row]) -> None:
        """Make the table hold exactly `rows`, updating in place (the cursor stays put)."""
        fresh = {row.key: row for row in rows}
        for key in [k for k in self._rows if k not in fresh]:
            self.remove_row(key)
        for row in fresh.values():
            if self._rows.get(row.key) != row:
                self.upsert(row)

    def upsert(self, row: Row) -> None:
        """Add or update one row; only its line is redrawn when its place is unchanged."""
        old = self._rows.get(row.key)
        if old == row:
            return  # a change the table does not show (labels, annotations)
        self._rows[row.key] = row
        grew = self._grow(row)
        if old is not None:
            same_place = self._entry(old) == self._entry(row)
            if same_place and self._passes(old) == self._passes(row):
                if grew:
                    self.refresh()
                else:
                    index = self.index_of(row.key)
                    if index is not None:
                        self.refresh_line(index + 1)
                return
            self._delete(old)
            self._moved.add(row.key)
        self._insert(row)
        self._structure_changed()

    def remove_row(self, key: str) -> None:
        """Forget a row."""
        row = self._rows.pop(key, None)
        if row is not None:
            self._delete(row)
            self._structure_changed()

    def _grow(self, row: Row) -> bool:
        grew = False
        for i, cell in enumerate(row.cells):
            width = min(len(cell), MAX_CELL)
            if width > self._widths[i]:
                self._widths[i] = width
                grew = True
        if grew:
            self._widths_version += 1
        return grew

    # Filter and sort ----------------------------------------------------------------

    @property
    def filter_text(self) -> str:
        """The current filter (lower-case substring)."""
        return self._filter

    def set_filter(self, text: str) -> None:
        """Show only rows whose cells contain `text` (case-insensitive)."""
        self._filter = text.strip().lower()
        self._rebuild()

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
        self._rebuild()

    def _rebuild(self) -> None:
        """Filter and sort everything again (filter, sort or full list changed)."""
        self._order = sorted(self._entry(row) for row in self._rows.values() if self._passes(row))
        self._lines.clear()
        self._structure_changed(now=True)

    def _structure_changed(self, now: bool = False) -> None:
        """Rows came or went: repaint at most a few times a second.

        A churning cluster adds and removes rows all the time, and each one shifts every
        line below it; repainting the whole table on each event would starve the keys.
        """
        if now or not self.is_mounted:
            self._flush(repaint=True)
        elif self._flush_timer is None:
            self._flush_timer = self.set_timer(STRUCTURE_REPAINT, self._flush)

    def _window(self) -> list[str | None]:
        """The keys of the rows on screen, top to bottom."""
        top = int(self.scroll_y)
        return [self._key_at(i) for i in range(top, top + self.scrollable_content_region.height)]

    def _flush(self, repaint: bool = False) -> None:
        """Show the current order, keeping the cursor on its row.

        Unless `repaint`, only a change on screen repaints (rows that came, went or
        moved within the visible lines); only a change of the row count lays the table
        out again.
        """
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        before = self._window()
        top = int(self.scroll_y)
        anchor = self._key_at(top)
        self._shown = list(self._order)
        if anchor is not None:
            self._keep_in_place(anchor, top)
        index = self.index_of(self._cursor_key) if self._cursor_key is not None else None
        if index is None:
            index = max(0, min(self._cursor, len(self._shown) - 1))
        self._cursor = index
        self._cursor_key = self._key_at(index)
        after = self._window()
        if repaint or before != after or not self._moved.isdisjoint(after):
            self.refresh()
        self._moved.clear()
        self._apply_layout()

    def _keep_in_place(self, anchor: str, top: int) -> None:
        """Rows came or went above the screen: scroll by as many, so what is shown stays."""
        index = self.index_of(anchor)
        if index is None or index == top:
            return
        limit = max(0, len(self._shown) + 1 - self.scrollable_content_region.height)
        if index > limit:
            return
        # Set without the watchers: the lines on screen are already the right ones (the
        # scrollbar's thumb is drawn at the new place when it is next painted).
        self.set_reactive(VirtualTable.scroll_y, float(index))
        self.set_reactive(VirtualTable.scroll_target_y, float(index))
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.set_reactive(ScrollBar.position, float(index))

    def _apply_layout(self) -> None:
        width = sum(self._widths) + GAP * len(self._widths)
        size = Size(width, len(self._shown) + 1)
        old = self.virtual_size
        if size != old:
            viewport = self.container_size.height
            if size.width == old.width and min(size.height, old.height) > viewport > 0:
                # Only the length of a table taller than the screen changed: the
                # scrollbar stays, so move its thumb instead of laying the screen out,
                # and only once it would move by half a cell or more.
                self.set_reactive(VirtualTable.virtual_size, size)
                moved = abs(size.height - self._thumb_height) * viewport * 2
                if moved >= self._thumb_height:
                    self._thumb_height = size.height
                    self._scroll_update(size)
            else:
                self._thumb_height = size.height
                self.virtual_size = size
        self._scroll_cursor_into_view()
        self._post_highlight()

    # Cursor -------------------------------------------------------------------------

    def move_cursor_to(self, key: str) -> bool:
        """Put the cursor on the row `key` if it is shown."""
        index = self.index_of(key)
        if index is None and self._flush_timer is not None:
            self._flush()  # the row may have come since the last repaint
            index = self.index_of(key)
        if index is None:
            return False
        self._set_cursor(index)
        return True

    def _set_cursor(self, index: int) -> None:
        if not self._shown:
            return
        index = max(0, min(index, len(self._shown) - 1))
        old = self._cursor
        self._cursor = index
        self._cursor_key = self._key_at(index)
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
        self._set_cursor(len(self._shown) - 1)

    def action_select(self) -> None:
        if self._cursor_key is not None:
            self.post_message(self.Selected(self, self._cursor_key))

    def action_sort(self, column: int) -> None:
        self.sort_by(column)

    async def _on_key(self, event: Key) -> None:
        if not forward_if_unfocused(self, event):
            await super()._on_key(event)

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

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._base = None
        self._lines.clear()

    @property
    def _base_style(self) -> Style:
        # rich_style walks every ancestor; it only changes when styles do.
        if self._base is None:
            self._base = self.rich_style
        return self._base

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(name)
        return style

    def _row_segments(self, row: Row, base: Style | None = None) -> list[Segment]:
        """Three segments: the cells before the status, the status, the rest."""
        cells = (*row.cells, age(row.created, self.clock()))
        base = base or Style()
        texts = []
        for cell, width in zip(cells, self._widths, strict=True):
            text = cell if len(cell) <= width else cell[: width - 1] + "…"
            texts.append(text.ljust(width))
        gap = " " * GAP
        status = self.status_column
        before = "".join(text + gap for text in texts[:status])
        after = gap + gap.join(texts[status + 1 :]) + gap
        status_style = base + self._style(f"virtual-table--{row.tone}")
        return [Segment(before, base), Segment(texts[status], status_style), Segment(after, base)]

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self._base_style
        if y == 0:
            header = self._style("virtual-table--header")
            text = self.header_text()
            strip = Strip([Segment(text, base + header)], len(text))
            return strip.crop_extend(scroll_x, scroll_x + width, base)
        index = scroll_y + y - 1
        key = self._key_at(index)
        row = self._rows.get(key) if key is not None else None
        if row is None:
            return Strip.blank(width, base)
        is_cursor = index == self._cursor
        age_text = age(row.created, self.clock())
        shape = (self._widths_version, scroll_x, width)
        cached = self._lines.get((row.key, is_cursor))
        if cached is not None and cached[0] is row and cached[1] == age_text and cached[2] == shape:
            return cached[3]
        style = base + self._style("virtual-table--cursor") if is_cursor else base
        segments = self._row_segments(row, style)
        length = sum(len(segment.text) for segment in segments)
        strip = Strip(segments, length).crop_extend(scroll_x, scroll_x + width, base)
        self._lines[(row.key, is_cursor)] = (row, age_text, shape, strip)
        return strip
