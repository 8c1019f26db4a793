"""The terminal widget: an emulator screen rendered with Strips, keys turned into bytes.

The owner (a session) pushes remote output with `feed(data)` and receives what the
remote should read (typed keys, pastes, mouse reports, the emulator's DSR/DA replies)
through the `on_input` callback, or as `TerminalView.InputProduced` messages if no
callback was given. Nothing received from the remote is ever written to the local
terminal: the widget only renders cells, so OSC 52 and the like cannot escape.

Keeping up with a flood without freezing the UI:

* `feed` only appends to a buffer. A worker (`_pump`) hands the emulator one slice at a
  time (small chunks are joined, which the emulator handles fastest), makes it apply the
  slice at once (`flush`), and yields to the event loop once 8 ms have been spent, so
  key events and painting interleave with a multi-megabyte burst. The slice size follows
  the measured emulation speed (up to 128 KB of plain coloured lines, a few KB of dense
  cursor-addressing output), so a single step also stays near the budget whatever the
  stream looks like.
* Painting is coalesced per frame. The pump never refreshes; it arms one Textual timer
  (`set_timer`) for the next frame unless one is already armed. When it fires, the frame
  asks the emulator which rows changed (`take_dirty`) and refreshes only those line
  regions, so however many slices arrive in between, each changed row is rendered once.
  Frames are at least 1/60 s apart, and 1/10 s apart while a backlog remains: during a
  flood nobody reads the passing lines, and a full repaint (several ms, one block of the
  loop) costs more than emulating a screenful, so painting less keeps both throughput
  and key latency up. Output that arrives slower than it is emulated has no backlog and
  is painted at full frame rate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from time import perf_counter, thread_time
from typing import ClassVar

from rich.style import Style
from textual import events, work
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive, var
from textual.strip import Strip
from textual.widget import Widget

from retina_tui.terminal.emulator import Terminal
from retina_tui.terminal.keys import (
    MOUSE_LEFT,
    MOUSE_MIDDLE,
    MOUSE_NONE,
    MOUSE_RIGHT,
    WHEEL_DOWN,
    WHEEL_UP,
    MouseAction,
    encode_key,
    encode_mouse,
    encode_paste,
)
from retina_tui.ui.terminal_render import Painter, Point, Selection

FEED_SLICE = 32 * 1024
"""Bytes handed to the emulator at once to start with; then adapted to its speed."""
MIN_SLICE, MAX_SLICE = 1024, 128 * 1024
FEED_BUDGET = 0.008
"""Seconds of emulation after which the pump yields to the event loop. Each flush costs
the emulator about one screenful of full emulation (~3 ms here) however little it
applies, so steps much shorter than this spend most of their time on that fixed cost."""
FEED_YIELDS = 8
"""Loop iterations given away per yield: a key event needs several hops (driver, app,
screen, widget), each one iteration, and should not wait for a slice at every hop."""
FRAME_INTERVAL = 1 / 60
FLOOD_FRAME_INTERVAL = 1 / 10
WHEEL_LINES = 3

_TEXTUAL_BUTTONS = {1: MOUSE_LEFT, 2: MOUSE_MIDDLE, 3: MOUSE_RIGHT}


class TerminalMessage(Message):
    """Base of the messages a TerminalView posts."""

    def __init__(self, terminal: TerminalView) -> None:
        super().__init__()
        self.terminal = terminal

    @property
    def control(self) -> TerminalView:
        return self.terminal


class TerminalView(Widget, can_focus=True):
    """Shows a remote terminal and sends it what the user types."""

    ALLOW_SELECT = False  # selection is ours: it must reach history and ignore mouse mode

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("shift+pageup", "scroll_history(-1)", "Scroll back", priority=True),
        Binding("shift+pagedown", "scroll_history(1)", "Scroll forward", priority=True),
    ]

    DEFAULT_CSS = """
    TerminalView {
        width: 1fr;
        height: 1fr;
        background: $background;
        color: $foreground;
        &.-prefix {
            background-tint: $accent 10%;
        }
    }
    """

    prefix_pending: reactive[bool] = reactive(False, bindings=True)
    """True after the prefix key: the next key goes to the app, not the remote."""
    history_offset: var[int] = var(0)
    """How many lines the view is scrolled back into history (0 = following output)."""
    remote_title: var[str] = var("")
    """The last title the remote set with OSC 0/2."""

    class InputProduced(TerminalMessage):
        """Bytes for the remote: typed keys, a paste, a mouse report or a terminal reply."""

        def __init__(self, terminal: TerminalView, data: bytes) -> None:
            super().__init__(terminal)
            self.data = data

    class Resized(TerminalMessage):
        """The terminal now has `cols` x `rows` cells; the remote pty should follow."""

        def __init__(self, terminal: TerminalView, cols: int, rows: int) -> None:
            super().__init__(terminal)
            self.cols = cols
            self.rows = rows

    class TitleChanged(TerminalMessage):
        """The remote set its window title (OSC 0 or 2)."""

        def __init__(self, terminal: TerminalView, title: str) -> None:
            super().__init__(terminal)
            self.title = title

    def __init__(
        self,
        *,
        on_input: Callable[[bytes], None] | None = None,
        prefix_key: str = "ctrl+b",
        scrollback: int = 10_000,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._on_input = on_input
        self.prefix_key = prefix_key
        self._bindings.bind(prefix_key, "prefix", "Prefix", priority=True)
        self.terminal = Terminal(
            80, 24, scrollback=scrollback, on_reply=self._send, on_title=self._title_changed
        )
        self._painter = Painter(self.terminal)
        self._base_style: Style | None = None
        self._buffer = bytearray()
        self._wake = asyncio.Event()
        self._frame_armed = False
        self._last_frame = 0.0
        self._painted_cursor: tuple[int, int, bool] = (-1, -1, False)
        self._painted_history = 0
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._selection: Selection | None = None
        self._selecting = False
        self._mouse_buttons = MOUSE_NONE
        self._reported_size: tuple[int, int] | None = None

    # --- feeding -------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Queue remote output; it is emulated in slices without blocking the loop."""
        if data:
            self._buffer += data
            self._wake.set()

    @property
    def pending_bytes(self) -> int:
        """Bytes fed but not yet emulated."""
        return len(self._buffer)

    async def wait_drained(self) -> None:
        """Wait until every fed byte is emulated and the result has been painted."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._drain_waiters.append(future)
        self._wake.set()
        await future

    @work(exclusive=True, group="terminal-feed", name="terminal-feed")
    async def _pump(self) -> None:
        terminal, buffer = self.terminal, self._buffer
        size = FEED_SLICE
        while True:
            await self._wake.wait()
            self._wake.clear()
            deadline = perf_counter() + FEED_BUDGET
            while buffer:
                piece = bytes(buffer[:size])
                del buffer[:size]
                started = thread_time()  # CPU time: being preempted says nothing of speed
                terminal.feed(piece)
                terminal.flush()  # apply held-back text now, not in one long step at paint time
                if len(piece) == size:  # a full slice says how fast this stream emulates
                    fitting = size * FEED_BUDGET / max(thread_time() - started, 1e-6)
                    grown = fitting if fitting < size else (size + fitting) / 2  # shrink at once
                    size = int(min(MAX_SLICE, max(MIN_SLICE, grown)))
                if perf_counter() >= deadline:
                    self._schedule_frame()
                    for _ in range(FEED_YIELDS):
                        await asyncio.sleep(0)
                    deadline = perf_counter() + FEED_BUDGET
            self._schedule_frame()

    def _schedule_frame(self) -> None:
        if self._frame_armed or not self.is_mounted:
            return
        self._frame_armed = True
        interval = FLOOD_FRAME_INTERVAL if self._buffer else FRAME_INTERVAL
        delay = self._last_frame + interval - perf_counter()
        if delay > 0.001:
            self.set_timer(delay, self._frame, name="terminal-frame")
        else:
            self.call_later(self._frame)

    def _frame(self) -> None:
        """Refresh what changed since the last frame."""
        self._frame_armed = False
        self._last_frame = perf_counter()
        terminal = self.terminal
        dirty = terminal.take_dirty()
        grown = terminal.history_size - self._painted_history
        self._painted_history = terminal.history_size
        if self.history_offset:
            if grown > 0:  # keep the lines being read in place while output continues
                self.history_offset = min(self.history_offset + grown, terminal.history_size)
            if dirty or grown:
                self.refresh()
        else:
            cursor = (terminal.cursor_x, terminal.cursor_y, terminal.cursor_visible)
            if cursor != self._painted_cursor:
                dirty.update((cursor[1], self._painted_cursor[1]))
                self._painted_cursor = cursor
            self._refresh_rows(dirty)
        if self._drain_waiters and not self._buffer:
            self.call_after_refresh(self._release_drain_waiters)

    def _refresh_rows(self, rows: set[int]) -> None:
        height = self.size.height
        rows = {row for row in rows if 0 <= row < height}
        if len(rows) * 2 >= height:  # most of the screen: one region is cheaper
            self.refresh()
        elif rows:
            self.refresh(*(Region(0, row, self.size.width, 1) for row in sorted(rows)))

    def _release_drain_waiters(self) -> None:
        if not self._buffer:
            waiters, self._drain_waiters = self._drain_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    # --- rendering -----------------------------------------------------------------

    def _top_line(self) -> int:
        return self.terminal.history_size - self.history_offset

    def render_line(self, y: int) -> Strip:
        if self._base_style is None:
            self._base_style = self.rich_style
            self._painter.styles.set_base(self._base_style)
        terminal = self.terminal
        show_cursor = (
            self.has_focus
            and terminal.cursor_visible
            and not self.history_offset
            and y == terminal.cursor_y
        )
        cursor = terminal.cursor_x if show_cursor else None
        return self._painter.strip(self._top_line() + y, self.size.width, self._selection, cursor)

    # --- size ----------------------------------------------------------------------

    def on_mount(self) -> None:
        self._pump()

    def on_unmount(self) -> None:
        for waiter in self._drain_waiters:
            waiter.cancel()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base_style = None

    def on_resize(self, event: events.Resize) -> None:
        cols, rows = self.size.width, self.size.height
        if cols < 1 or rows < 1:
            return
        if (cols, rows) != self._reported_size:
            self._reported_size = (cols, rows)
            self.terminal.resize(cols, rows)
            self.post_message(self.Resized(self, cols, rows))
        self.refresh()

    # --- output to the remote ------------------------------------------------------

    def _send(self, data: bytes) -> None:
        if self._on_input is not None:
            self._on_input(data)
        else:
            self.post_message(self.InputProduced(self, data))

    def _title_changed(self, title: str) -> None:
        self.remote_title = title
        self.post_message(self.TitleChanged(self, title))

    def paste(self, text: str) -> None:
        """Send text as a paste (bracketed when the remote asked for it)."""
        self._to_live()
        self._send(encode_paste(text, self.terminal.bracketed_paste))

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        self.paste(event.text)

    # --- keys ----------------------------------------------------------------------

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Every key the remote can receive is the remote's, unless the prefix was pressed.

        Consumed keys are removed from the app's bindings while this widget has focus (and
        vanish from the footer), so a shell always gets ctrl+p, ctrl+c, tab and friends.
        """
        if self.prefix_pending:
            return False
        return encode_key(key, character, application_cursor=False) is not None

    def watch_prefix_pending(self, pending: bool) -> None:
        self.set_class(pending, "-prefix")

    def action_prefix(self) -> None:
        """First press: arm the prefix. Second press: send the prefix key itself."""
        if self.prefix_pending:
            self.prefix_pending = False
            self._type(self.prefix_key, None)
        else:
            self.prefix_pending = True

    async def on_key(self, event: events.Key) -> None:
        if self.prefix_pending:
            event.stop()
            event.prevent_default()
            active = self.screen.active_bindings.get(event.key)
            self.prefix_pending = False
            if active is not None and active.enabled:
                await self.app.run_action(active.binding.action, active.node)
            return
        if self._type(event.key, event.character):
            event.stop()
            event.prevent_default()

    def _type(self, key: str, character: str | None) -> bool:
        data = encode_key(key, character, application_cursor=self.terminal.application_cursor)
        if data is None:
            return False
        self._to_live()
        self._send(data)
        return True

    def _to_live(self) -> None:
        if self._selection is not None:
            self._selection = None
            self.refresh()
        self.history_offset = 0

    # --- scrollback ----------------------------------------------------------------

    def action_scroll_history(self, pages: int) -> None:
        self.scroll_history(pages * max(1, self.size.height - 1))

    def scroll_history(self, lines: int) -> None:
        """Scroll the view `lines` down (negative: back into history)."""
        offset = min(max(self.history_offset - lines, 0), self.terminal.history_size)
        self.history_offset = offset

    def watch_history_offset(self) -> None:
        self.refresh()

    # --- mouse ---------------------------------------------------------------------

    def _mouse_report(self, action: MouseAction, button: int, event: events.MouseEvent) -> bool:
        """Forward a mouse event if the remote asked for mouse reports (shift overrides)."""
        terminal = self.terminal
        if not terminal.mouse_mode or event.shift:
            return False
        offset = event.get_content_offset_capture(self)
        data = encode_mouse(
            action,
            button,
            offset.x,
            offset.y,
            mode=terminal.mouse_mode,
            sgr=terminal.mouse_sgr,
            alt=event.meta,
            ctrl=event.ctrl,
        )
        if data is not None:
            self._send(data)
        return True

    def _point(self, event: events.MouseEvent) -> Point:
        offset = event.get_content_offset_capture(self)
        x = min(max(offset.x, 0), self.size.width - 1)
        y = min(max(offset.y, 0), self.size.height - 1)
        return Point(self._top_line() + y, x)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        button = _TEXTUAL_BUTTONS.get(event.button, MOUSE_NONE)
        self._mouse_buttons = button
        self.focus()
        if self._mouse_report(MouseAction.PRESS, button, event):
            self.capture_mouse()
            return
        if button == MOUSE_LEFT:
            point = self._point(event)
            self._selection = Selection(point, point)
            self._selecting = True
            self.capture_mouse()
            self.refresh()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._mouse_report(MouseAction.MOTION, self._mouse_buttons, event):
            return
        if self._selecting and self._selection is not None:
            self._selection = Selection(self._selection.anchor, self._point(event))
            self.refresh()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        button, self._mouse_buttons = self._mouse_buttons, MOUSE_NONE
        self.release_mouse()
        selection, selecting, self._selecting = self._selection, self._selecting, False
        if self._mouse_report(MouseAction.RELEASE, button, event) or not selecting:
            return
        assert selection is not None
        self._selection = Selection(selection.anchor, self._point(event))
        if self._selection.empty:
            self._selection = None
        self.refresh()
        if text := self.selected_text():
            self.app.copy_to_clipboard(text)  # the user's own selection, never remote data

    def selected_text(self) -> str:
        """The text under the current mouse selection ('' when there is none)."""
        if self._selection is None:
            return ""
        return self._painter.selected_text(self._selection, self.size.width)

    def _wheel(self, button: int, event: events.MouseEvent) -> None:
        event.stop()
        event.prevent_default()
        if self._mouse_report(MouseAction.PRESS, button, event):
            return
        if self.terminal.alternate_screen:  # full-screen programs without mouse: arrows
            key = "up" if button == WHEEL_UP else "down"
            for _ in range(WHEEL_LINES):
                self._type(key, None)
            return
        self.scroll_history(-WHEEL_LINES if button == WHEEL_UP else WHEEL_LINES)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._wheel(WHEEL_UP, event)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._wheel(WHEEL_DOWN, event)

    # --- focus ---------------------------------------------------------------------

    def on_focus(self) -> None:
        self._refresh_rows({self.terminal.cursor_y})  # the cursor shows only when focused

    def on_blur(self) -> None:
        self.prefix_pending = False
        self._refresh_rows({self.terminal.cursor_y})
