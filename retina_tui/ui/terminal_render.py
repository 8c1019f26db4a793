"""Turning emulator rows into Textual Strips, and the selection over them.

Kept apart from the widget so that the per-cell work (run -> Segment, Attr -> Style,
cursor and selection highlighting) stays small, cached and easy to read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from retina_tui.terminal.emulator import Attr, Terminal

ColorSpec = int | tuple[int, int, int] | None


def _color(spec: ColorSpec) -> Color | None:
    if spec is None:
        return None
    if isinstance(spec, int):
        return Color.from_ansi(spec)
    return Color.from_rgb(*spec)


class StyleCache:
    """Attr -> rich Style (on top of the widget's own colours), built once per Attr."""

    def __init__(self) -> None:
        self._styles: dict[Attr, Style] = {}
        self.base = Style()

    def set_base(self, base: Style) -> None:
        """The widget's CSS colours, under every cell; clears the cache when they change."""
        if base != self.base:
            self.base = base
            self._styles.clear()

    def __call__(self, attr: Attr) -> Style:
        style = self._styles.get(attr)
        if style is None:
            style = self.base + Style(
                color=_color(attr.fg),
                bgcolor=_color(attr.bg),
                bold=attr.bold or None,
                dim=attr.dim or None,
                italic=attr.italic or None,
                underline=attr.underline or None,
                reverse=attr.reverse or None,
                strike=attr.strike or None,
                blink=attr.blink or None,
                conceal=attr.hidden or None,
            )
            if len(self._styles) > 4096:
                self._styles.clear()
            self._styles[attr] = style
        return style


def build_strip(runs: Iterable[tuple[str, Attr]], width: int, styles: StyleCache) -> Strip:
    """One terminal row as a Strip exactly `width` cells wide."""
    strip = Strip([Segment(text, styles(attr)) for text, attr in runs if text])
    length = strip.cell_length
    if length < width:
        return strip.extend_cell_length(width, styles.base)
    if length > width:
        return strip.crop(0, width)
    return strip


_REVERSE = Style(reverse=True)
_UNREVERSE = Style(reverse=False)


def invert(strip: Strip, start: int, end: int) -> Strip:
    """The strip with cells [start, end) shown in reverse video (cursor, selection)."""
    length = strip.cell_length
    start, end = max(0, start), min(end, length)
    if start >= end:
        return strip
    middle = [
        Segment(text, (style or Style()) + (_UNREVERSE if style and style.reverse else _REVERSE))
        for text, style, _ in strip.crop(start, end)
    ]
    parts = [strip.crop(0, start), Strip(middle), strip.crop(end, length)]
    return Strip.join(part for part in parts if part.cell_length)


@dataclass(frozen=True, slots=True)
class Point:
    """A cell in the whole buffer: line 0 is the oldest history line."""

    line: int
    x: int


@dataclass(frozen=True, slots=True)
class Selection:
    """A mouse selection from `anchor` to `head`, in reading order once normalized."""

    anchor: Point
    head: Point

    @property
    def ordered(self) -> tuple[Point, Point]:
        a, b = self.anchor, self.head
        return (a, b) if (a.line, a.x) <= (b.line, b.x) else (b, a)

    def columns(self, line: int, width: int) -> tuple[int, int] | None:
        """The [start, end) cells selected on `line`, or None."""
        first, last = self.ordered
        if line < first.line or line > last.line:
            return None
        start = first.x if line == first.line else 0
        end = last.x + 1 if line == last.line else width
        return (start, end) if start < end else None

    @property
    def empty(self) -> bool:
        return self.anchor == self.head


class Painter:
    """Strips for the lines of one terminal: history first (line 0 is the oldest), then
    the screen; with the selection and the cursor shown in reverse video."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.styles = StyleCache()

    def runs(self, line: int) -> list[tuple[str, Attr]]:
        history = self.terminal.history_size
        if line < history:
            return self.terminal.history_runs(line)
        row = line - history
        return self.terminal.row_runs(row) if row < self.terminal.rows else []

    def plain(self, line: int, width: int) -> Strip:
        return build_strip(self.runs(line), width, self.styles)

    def strip(
        self, line: int, width: int, selection: Selection | None, cursor: int | None
    ) -> Strip:
        """Line `line`, `width` cells wide, with the cursor at column `cursor` if not None."""
        strip = self.plain(line, width)
        span = selection.columns(line, width) if selection is not None else None
        if span is not None:
            strip = invert(strip, *span)
        if cursor is not None:
            strip = invert(strip, cursor, cursor + 1)
        return strip

    def selected_text(self, selection: Selection, width: int) -> str:
        """The plain text of the selected cells, one line per buffer line."""
        first, last = selection.ordered
        out: list[str] = []
        for line in range(first.line, last.line + 1):
            span = selection.columns(line, width)
            if span is not None:
                out.append(self.plain(line, width).crop(*span).text.rstrip())
        return "\n".join(out)
