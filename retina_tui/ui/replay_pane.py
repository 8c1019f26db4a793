"""A read-only tab that plays a session recording back in the terminal widget.

The recording's output goes through the same emulator and widget as a live session, at
its recorded size and with its recorded timing, except that a pause longer than
`MAX_IDLE` seconds (someone reading, or away) is cut to that. Nothing typed reaches
anything: the widget does not take the focus, the pane does, so `space` pauses and the
app's keys work without the prefix, as in the browser.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from retina_tui.terminal.asciicast import OUTPUT, RESIZE, parse_size, read_cast
from retina_tui.ui.pane import Pane
from retina_tui.ui.terminal_view import TerminalView

MAX_IDLE = 1.0
"""The longest pause between two events in a replay, in seconds."""
STATUS_SECONDS = 0.25
RESET = b"\x1bc"
"""A full terminal reset (RIS): the screen before a replay starts again."""
STATE_GLYPH = {"loading": "◌", "playing": "▶", "paused": "‖", "ended": "■", "failed": "✖"}

_ids = itertools.count(1)


class ReplayPane(Pane, can_focus=True):
    """One recording, played back; `space` pauses, resumes, or plays again at the end."""

    DEFAULT_CSS = """
    ReplayPane { width: 1fr; height: 1fr; }
    ReplayPane > .pane-title { height: 1; background: $panel; padding: 0 1; }
    ReplayPane:focus > .pane-title { background: $primary; color: $text; }
    ReplayPane > Container { height: 1fr; overflow: hidden; }
    ReplayPane > .pane-status { height: 1; background: $boost; padding: 0 1; color: $text-muted; }
    ReplayPane.-failed > .pane-status { color: $error; text-style: bold; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "pause", "Pause/play", tooltip="Pause or resume; at the end, again"),
        Binding("shift+pageup", "scroll_history(-1)", "Scroll back", show=False),
        Binding("shift+pagedown", "scroll_history(1)", "Scroll forward", show=False),
    ]

    state: reactive[str] = reactive("loading", init=False)

    def __init__(self, path: Path, *, max_idle: float = MAX_IDLE) -> None:
        super().__init__(id=f"replay-{next(_ids)}")
        self.path = path
        self.title = f"replay {path.name}"
        self.max_idle = max_idle
        self.view = TerminalView(on_input=lambda _data: None)  # read-only
        self.view.can_focus = False
        self.position = 0.0
        self.duration = 0.0
        self._resumed = asyncio.Event()
        self._paused = asyncio.Event()
        self._resumed.set()

    def compose(self) -> ComposeResult:
        yield Static(self.title, classes="pane-title")
        with Container():
            yield self.view
        yield Static("loading…", classes="pane-status")

    def on_mount(self) -> None:
        self._play()
        self.set_interval(STATUS_SECONDS, self._show_status, name="replay-status")

    @property
    def focus_target(self) -> Widget:
        return self

    @property
    def label(self) -> str:
        return f"{STATE_GLYPH.get(self.state, '?')} {self.title}"

    # ---- playing ----------------------------------------------------------------------

    @work(exclusive=True, group="replay", exit_on_error=False)
    async def _play(self) -> None:
        """Play the recording once (errors reach the app, which shows them on the pane)."""
        self.state = "loading"
        cast = await asyncio.to_thread(read_cast, self.path)
        self.duration = cast.duration
        self._fit_to(cast.header.width, cast.header.height)
        self.state = "paused" if not self._resumed.is_set() else "playing"
        previous = 0.0
        for at, code, data in cast.events:
            await self._sleep(min(at - previous, self.max_idle))
            previous = at
            if code == OUTPUT:
                self.view.feed(data.encode("utf-8"))
            elif code == RESIZE:
                await self.view.wait_drained()  # what came before is drawn at the old size
                self._fit_to(*parse_size(data))
            self.position = at
        await self.view.wait_drained()
        self.state = "ended"

    async def _sleep(self, seconds: float) -> None:
        """Wait `seconds` of playing time: the clock stops while paused."""
        loop = asyncio.get_running_loop()
        remaining = seconds
        while True:
            await self._resumed.wait()
            if remaining <= 0:
                return
            started = loop.time()
            try:
                async with asyncio.timeout(remaining):
                    await self._paused.wait()
            except TimeoutError:
                return
            remaining -= loop.time() - started

    def _fit_to(self, cols: int, rows: int) -> None:
        """The widget and its emulator at the recorded size (clipped if the tab is smaller)."""
        self.view.terminal.resize(cols, rows)
        self.view.styles.width = cols
        self.view.styles.height = rows

    def action_pause(self) -> None:
        if self.state == "ended":
            self.view.feed(RESET)
            self.position = 0.0
            self._play()
        elif self._resumed.is_set():
            self._resumed.clear()
            self._paused.set()
            if self.state == "playing":
                self.state = "paused"
        else:
            self._paused.clear()
            self._resumed.set()
            if self.state == "paused":
                self.state = "playing"

    def action_scroll_history(self, pages: int) -> None:
        self.view.scroll_history(pages * max(1, self.view.size.height - 1))

    # ---- what a tab does --------------------------------------------------------------

    async def close_session(self) -> None:
        self.closing = True
        self.workers.cancel_group(self, "replay")

    def show_error(self, message: str) -> None:
        self.add_class("-failed")
        self.state = "failed"
        self.query_one(".pane-status", Static).update(f"failed: {message}")

    # ---- looks ------------------------------------------------------------------------

    def _show_status(self) -> None:
        if self.state in ("loading", "failed"):
            return
        words = {
            "playing": "playing · space pauses",
            "paused": "paused · space resumes",
            "ended": "ended · space plays again, x closes",
        }[self.state]
        text = f"{words} · {self.position:.1f} / {self.duration:.1f} s · {self.path}"
        self.query_one(".pane-status", Static).update(text)

    def watch_state(self) -> None:
        self._show_status()
        self.post_message(self.Changed(self))
