"""The terminal widget in a headless app: bytes in, screen out, keys to the owner."""

from __future__ import annotations

import asyncio

from rich.color import Color
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.geometry import Region
from textual.pilot import Pilot

from retina_tui.ui.terminal_view import TerminalView


class TerminalApp(App[None]):
    """One terminal plus an app binding that only the prefix key can reach."""

    BINDINGS = [Binding("n", "next_tab", "Next tab")]

    def __init__(self, *, prefix_key: str = "ctrl+b", callback: bool = True) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.actions: list[str] = []
        self.resizes: list[tuple[int, int]] = []
        self.titles: list[str] = []
        self.messages: list[bytes] = []
        self._prefix_key = prefix_key
        self._callback = callback

    def compose(self) -> ComposeResult:
        on_input = self.sent.append if self._callback else None
        yield TerminalView(on_input=on_input, prefix_key=self._prefix_key)

    def action_next_tab(self) -> None:
        self.actions.append("next_tab")

    def on_terminal_view_resized(self, message: TerminalView.Resized) -> None:
        self.resizes.append((message.cols, message.rows))

    def on_terminal_view_title_changed(self, message: TerminalView.TitleChanged) -> None:
        self.titles.append(message.title)

    def on_terminal_view_input_produced(self, message: TerminalView.InputProduced) -> None:
        self.messages.append(message.data)


async def feed(pilot: Pilot[None], data: bytes) -> TerminalView:
    view = pilot.app.query_one(TerminalView)
    view.feed(data)
    await asyncio.wait_for(view.wait_drained(), timeout=10)
    await pilot.pause()
    return view


def shown(view: TerminalView) -> list[str]:
    """The lines as painted, through the widget's line cache (stale lines would show)."""
    return [strip.text.rstrip() for strip in view.render_lines(Region(0, 0, *view.size))]


async def test_typed_keys_reach_the_owner_as_xterm_bytes() -> None:
    app = TerminalApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("l", "s", "é", "enter", "ctrl+c", "f5", "alt+x", "tab", "up")
        await feed(pilot, b"\x1b[?1h")  # the remote asks for application cursor keys
        await pilot.press("up", "left")
        await feed(pilot, b"\x1b[?1l")
        await pilot.press("up", "shift+tab", "ctrl+space", "backspace")
        # Keys the app binds with priority (quit, command palette) still reach the shell.
        await pilot.press("ctrl+p", "ctrl+q")
        assert app.is_running
    assert b"".join(app.sent) == (
        b"ls\xc3\xa9\r\x03\x1b[15~\x1bx\t\x1b[A" + b"\x1bOA\x1bOD" + b"\x1b[A\x1b[Z\x00\x7f\x10\x11"
    )
    assert app.actions == []


async def test_fed_text_is_painted_with_its_colors() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        view = await feed(pilot, b"plain \x1b[31mred\x1b[0m\r\n\x1b[1;38;5;208mbold orange")
        lines = shown(view)
        assert lines[:2] == ["plain red", "bold orange"]
        red = [s for s in view.render_line(0) if s.text == "red"]
        assert red and red[0].style is not None and red[0].style.color == Color.from_ansi(1)
        await feed(pilot, b"\x1b[2J\x1b[Hafter clear")
        assert shown(view)[:2] == ["after clear", ""]


async def test_osc52_from_the_remote_changes_no_clipboard() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        written: list[str] = []
        driver = app._driver
        assert driver is not None
        original_write = driver.write

        def spy(data: str) -> None:
            written.append(data)
            original_write(data)

        driver.write = spy  # type: ignore[method-assign]
        before = app.clipboard
        view = await feed(pilot, b"before \x1b]52;c;aGVsbG8=\x07after")
        assert shown(view)[0] == "before after"
        assert app.clipboard == before
        assert not any("52;" in data or "aGVsbG8" in data for data in written)


async def test_size_is_reported_on_mount_and_on_every_resize() -> None:
    app = TerminalApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        view = app.query_one(TerminalView)
        assert app.resizes == [(100, 30)]
        assert (view.terminal.cols, view.terminal.rows) == (100, 30)
        await pilot.resize_terminal(72, 18)
        await pilot.pause()
        assert app.resizes[-1] == (72, 18)
        assert (view.terminal.cols, view.terminal.rows) == (72, 18)


async def test_prefix_key_hands_the_next_key_to_the_app() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(TerminalView)
        await pilot.press("n")
        assert app.sent == [b"n"] and app.actions == []
        footer = app.screen.active_bindings
        assert {"ctrl+b", "shift+pageup", "shift+pagedown"} <= footer.keys()
        assert "n" not in footer
        await pilot.press("ctrl+b")
        assert view.prefix_pending
        assert view.has_class("-prefix")
        assert "n" in app.screen.active_bindings  # the footer now offers the app's keys
        await pilot.press("n")
        assert app.actions == ["next_tab"]
        assert not view.has_class("-prefix")
        assert app.sent == [b"n"]
        await pilot.press("ctrl+b", "ctrl+b")  # twice sends the prefix key itself
        assert app.sent == [b"n", b"\x02"]


async def test_prefix_key_is_configurable() -> None:
    app = TerminalApp(prefix_key="ctrl+a")
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.press("ctrl+b", "ctrl+a", "n")
        assert app.sent == [b"\x02"]
        assert app.actions == ["next_tab"]


async def test_paste_is_bracketed_when_the_remote_enabled_it() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(TerminalView)
        view.post_message(events.Paste("echo hi\n"))
        await pilot.pause()
        await feed(pilot, b"\x1b[?2004h")
        view.post_message(events.Paste("rm x\x1b[201~\necho"))
        await pilot.pause()
    assert app.sent == [b"echo hi\r", b"\x1b[200~rm x\recho\x1b[201~"]


async def test_shift_pageup_shows_history_and_typing_returns_to_the_bottom() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        lines = b"".join(b"line %d\r\n" % n for n in range(100))
        view = await feed(pilot, lines + b"$ ")
        assert shown(view)[-2:] == ["line 99", "$"]
        assert "line 85" not in shown(view)
        await pilot.press("shift+pageup")
        assert shown(view)[0] == "line 82"
        assert "line 85" in shown(view)
        await pilot.press("shift+pageup", "shift+pagedown")
        assert shown(view)[0] == "line 82"
        await pilot.press("a")
        assert shown(view)[-1] == "$"
        assert app.sent == [b"a"]


async def test_mouse_wheel_scrolls_history_without_mouse_reporting() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        view = await feed(pilot, b"".join(b"line %d\r\n" % n for n in range(30)))
        view.post_message(events.MouseScrollUp(view, 1, 1, 0, 0, 0, False, False, False))
        await pilot.pause()
        assert shown(view)[0] == "line 18"
        assert app.sent == []
        # A full-screen program without mouse reporting (less, man) gets arrow keys.
        await feed(pilot, b"\x1b[?1049h\x1b[?1h")
        view.post_message(events.MouseScrollDown(view, 1, 1, 0, 0, 0, False, False, False))
        await pilot.pause()
        assert app.sent == [b"\x1bOB"] * 3


async def test_mouse_reports_go_to_the_remote_when_it_asked() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        await feed(pilot, b"\x1b[?1000h\x1b[?1006h")
        await pilot.click(TerminalView, offset=(2, 3))
        assert app.sent[:2] == [b"\x1b[<0;3;4M", b"\x1b[<0;3;4m"]
        assert app.clipboard == ""


async def test_mouse_drag_selects_and_copies_to_the_clipboard() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        await feed(pilot, b"first line\r\nsecond line")
        await pilot.mouse_down(TerminalView, offset=(6, 0))
        await pilot.hover(TerminalView, offset=(5, 1))
        await pilot.mouse_up(TerminalView, offset=(5, 1))
        assert app.clipboard == "line\nsecond"
        assert app.sent == []


async def test_terminal_replies_and_titles() -> None:
    app = TerminalApp(callback=False)
    async with app.run_test(size=(40, 10)) as pilot:
        await feed(pilot, b"abc\x1b[6n\x1b]2;root@pod: ~\x07")
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        view = app.query_one(TerminalView)
        assert app.messages == [b"\x1b[1;4R", b"x"]
        assert app.titles == ["root@pod: ~"]
        assert view.remote_title == "root@pod: ~"


async def test_a_key_is_handled_while_a_flood_is_still_being_emulated() -> None:
    app = TerminalApp()
    pending_when_typed: list[int] = []
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(TerminalView)
        app.sent = []
        view._on_input = lambda data: pending_when_typed.append(view.pending_bytes)
        flood = b"".join(b"\x1b[3%dmline %d\x1b[0m\r\n" % (n % 8, n) for n in range(200_000))
        view.feed(flood)
        await pilot.press("x")
        await asyncio.wait_for(view.wait_drained(), timeout=60)
        assert shown(view)[-2] == "line 199999"
    assert len(pending_when_typed) == 1
    assert pending_when_typed[0] > len(flood) // 2


async def test_many_small_chunks_cost_one_frame_of_changed_rows() -> None:
    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        view = await feed(pilot, b"".join(b"row %d\r\n" % n for n in range(9)))
        refreshed: list[tuple[Region, ...]] = []
        original_refresh = view.refresh

        def spy(*regions: Region, **kwargs: bool) -> TerminalView:
            refreshed.append(regions)
            return original_refresh(*regions, **kwargs)

        view.refresh = spy  # type: ignore[method-assign]
        for character in b"hello world":
            view.feed(bytes([character]))
        await feed(pilot, b"")
        assert refreshed == [(Region(0, 9, 40, 1),)]
        assert shown(view)[9] == "hello world"


async def test_the_cursor_shows_in_reverse_video_only_while_focused() -> None:
    def reversed_cells(view: TerminalView, y: int) -> list[tuple[int, str]]:
        cells, x = [], 0
        for segment in view.render_lines(Region(0, y, view.size.width, 1))[0]:
            if segment.style is not None and segment.style.reverse:
                cells.append((x, segment.text))
            x += segment.cell_length
        return cells

    app = TerminalApp()
    async with app.run_test(size=(40, 10)) as pilot:
        view = await feed(pilot, b"$ ls\r\n$ abc")
        assert view.has_focus
        assert reversed_cells(view, 1) == [(5, " ")]
        assert reversed_cells(view, 0) == []
        await feed(pilot, b"\x1b[3D")
        assert reversed_cells(view, 1) == [(2, "a")]
        app.set_focus(None)
        await pilot.pause()
        assert reversed_cells(view, 1) == []
        view.focus()
        await feed(pilot, b"\x1b[?25l")  # the remote hides the cursor
        assert reversed_cells(view, 1) == []
