"""The key bar at the bottom: the keys that work where the focus is, on one painted line.

Textual's Footer is a widget per key and rebuilds all of them whenever the focus moves,
which made a switch between two session tabs cost a quarter of a second of CPU. This
bar is one widget: when the keys change it repaints its line, and when they stay the
same it does nothing. It looks like the Footer (the same theme variables) and a click
on a key presses it.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

from rich.style import Style
from rich.text import Text
from textual.events import Click
from textual.screen import Screen
from textual.widget import Widget

DIM = Style(dim=True)


class KeyItem(NamedTuple):
    """One key as shown: what to press, how it reads, what it does, whether it works."""

    key: str
    display: str
    description: str
    enabled: bool


def shown_keys(widget: Widget, screen: Screen[Any]) -> tuple[KeyItem, ...]:
    """The keys a bar on `screen` shows: one per action, as the Footer picks them.

    The command palette's key, when the app has one, comes last (shown at the right end).
    """
    app = widget.app
    palette = app.COMMAND_PALETTE_BINDING if app.ENABLE_COMMAND_PALETTE else None
    seen: set[str] = set()
    items = []
    last = None
    for key, (_, binding, enabled, _tooltip) in screen.active_bindings.items():
        item = KeyItem(binding.key, app.get_key_display(binding), binding.description, enabled)
        if key == palette:
            last = item
        elif binding.show and binding.action not in seen:
            seen.add(binding.action)
            items.append(item)
    return (*items, last) if last is not None else tuple(items)


class KeyBar(Widget, can_focus=False):
    """The active keys, docked at the bottom."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-bar--key", "key-bar--description"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        .key-bar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .key-bar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._items: tuple[KeyItem, ...] = ()
        self._palette: KeyItem | None = None
        self._shown: tuple[KeyItem, ...] = ()
        self._spans: list[tuple[int, int, KeyItem]] = []
        self.updates = 0
        """How many times the keys shown changed."""

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[Any]) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        items = shown_keys(self, screen)
        if items != self._shown:
            self._shown = items
            palette = self.app.COMMAND_PALETTE_BINDING if self.app.ENABLE_COMMAND_PALETTE else ""
            has_palette = bool(items) and items[-1].key == palette
            self._palette = items[-1] if has_palette else None
            self._items = items[:-1] if has_palette else items
            self.updates += 1
            self.refresh()

    @property
    def items(self) -> tuple[KeyItem, ...]:
        """The keys shown now (the palette's last)."""
        return self._shown

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-bar--key")
        text_style = self.get_component_rich_style("key-bar--description")
        line = Text(no_wrap=True, overflow="crop")
        spans = []
        for item in self._items:
            start = len(line)
            line.append_text(self._label(item, key_style, text_style))
            spans.append((start, len(line), item))
        if self._palette is not None:
            palette = self._palette
            label = Text(palette.display, key_style).append(f" {palette.description} ", text_style)
            start = max(0, self.size.width - len(label) - 1)
            line.truncate(start, pad=True)
            spans = [span for span in spans if span[1] <= start]
            line.append("▏")
            line.append_text(label)
            spans.append((start + 1, len(line), self._palette))
        self._spans = spans
        return line

    @staticmethod
    def _label(item: KeyItem, key_style: Style, text_style: Style) -> Text:
        label = Text(f" {item.display} ", key_style if item.enabled else key_style + DIM)
        if item.description:
            label.append(f"{item.description} ", text_style)
        return label

    def on_click(self, event: Click) -> None:
        for start, end, item in self._spans:
            if start <= event.x < end:
                if item.enabled:
                    self.app.simulate_key(item.key)
                else:
                    self.app.bell()
                return
