"""Work the screen does only when what it shows changes.

A busy cluster changes rows all the time, almost all of them off screen: the table
repaints only when the visible lines change and lays out only when the row count does;
the key bar is not rebuilt when the focus moves between widgets with the same keys; the
first page of a big list is on screen before the last page arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.strip import Strip

from retina_tui.kube.client import KubeClient
from retina_tui.kube.watch import LIST_PAGE_SIZE
from retina_tui.sandbox import Sandbox, SandboxOptions, run_sandbox
from retina_tui.ui.keybar import KeyBar
from retina_tui.ui.rows import Row
from retina_tui.ui.table import STRUCTURE_REPAINT, VirtualTable
from tests.ui.conftest import (
    SIZE,
    app_for,
    loaded,
    open_pod_session,
    quit_app,
    wait_until,
)


class CountingTable(VirtualTable):
    """A VirtualTable that counts the lines it paints and the layouts it asks for."""

    painted = 0
    layouts = 0

    def render_line(self, y: int) -> Strip:
        if y > 0:
            self.painted += 1
        return super().render_line(y)

    def refresh(self, *regions: Any, **kwargs: Any) -> Any:
        if kwargs.get("layout"):
            self.layouts += 1
        return super().refresh(*regions, **kwargs)


def row(name: str) -> Row:
    return Row(name, (name, "Running"), 0.0, (name, "Running"), "ok")


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        table = CountingTable(("NAME", "STATUS", "AGE"), status_column=1, clock=lambda: 0.0)
        table.replace_all(row(f"row-{n:04d}") for n in range(1000))
        yield table


async def settle(pilot: Any) -> None:
    await pilot.pause(STRUCTURE_REPAINT * 2)
    await pilot.pause()


async def test_churn_off_screen_repaints_nothing_and_lays_out_nothing() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(CountingTable)
        await settle(pilot)
        table.painted = table.layouts = 0
        for n in range(50):  # rows come and go below the visible lines, as churn does
            table.remove_row(f"row-{999 - n:04d}")
            table.upsert(row(f"row-{2000 + n:04d}"))
            table.upsert(row(f"row-{500 + n:04d}"))  # unchanged rows
        await settle(pilot)
        assert (table.painted, table.layouts) == (0, 0)
        assert table.total_count == 1000

        table.upsert(row("row-0000a"))  # a row that lands on screen
        await settle(pilot)
        assert table.painted >= 10, "a new visible row must be painted"
        assert table.layouts == 1, "one more row: one layout"


async def test_rows_coming_above_the_screen_leave_the_rows_shown_in_place() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(CountingTable)
        await settle(pilot)
        assert table.move_cursor_to("row-0500")
        await settle(pilot)
        shown, cursor_line = table._window(), table._cursor - int(table.scroll_y)
        table.painted = table.layouts = 0
        for letter in "abcdefghijklmnopqrstuvwxyz":  # churn above what is shown
            table.upsert(row(f"row-000{letter}"))
        table.remove_row("row-0002")
        await settle(pilot)
        assert table._window() == shown, "the rows on screen moved"
        assert table._cursor - int(table.scroll_y) == cursor_line
        assert table.cursor_key == "row-0500"
        assert (table.painted, table.layouts) == (0, 0)
        await pilot.press("j")  # and the keys go on from where the person is
        await pilot.pause()
        assert table.cursor_key == "row-0501"


@pytest.fixture
async def big_sandbox() -> AsyncIterator[Sandbox]:
    """A sandbox whose pods take three pages to list."""
    options = SandboxOptions(kubelet=False, network="host", pods=2 * LIST_PAGE_SIZE + 100)
    async with run_sandbox(options) as sandbox:
        yield sandbox


async def test_the_first_page_of_pods_is_on_screen_before_the_last_arrives(
    big_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()
    request = KubeClient.request

    async def held(self: KubeClient, method: str, path: str, **kwargs: Any) -> Any:
        if path == "/api/v1/pods" and "continue" in dict(kwargs.get("params") or {}):
            await release.wait()
        return await request(self, method, path, **kwargs)

    monkeypatch.setattr(KubeClient, "request", held)
    app = app_for(big_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        pods = app.browser.pods
        await wait_until(pilot, lambda: pods.total_count == LIST_PAGE_SIZE, "the first page")
        await pilot.pause(0.1)
        assert not app.browser.pods_loaded
        shown = app.export_screenshot()
        first = pods.get_row(pods.visible_keys()[0])
        assert first is not None and first.cells[1] in shown
        status = str(app.browser.query_one("#browser-status").render())
        assert f"pods {LIST_PAGE_SIZE}" in status and "loading" in status
        release.set()
        await wait_until(pilot, lambda: app.browser.pods_loaded, "the whole list")
        assert pods.total_count == len(big_sandbox.store.list("pods"))
        await pilot.pause(0.05)
        status = str(app.browser.query_one("#browser-status").render())
        assert f"pods {pods.total_count}" in status and "loading" not in status
        await quit_app(pilot, app, "q")


async def test_switching_between_session_tabs_does_not_rebuild_the_key_bar(
    live_sandbox: Sandbox,
) -> None:
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await open_pod_session(pilot, app, "shop", "web")
        await open_pod_session(pilot, app, "shop", "client")
        bar = app.screen.query_one(KeyBar)
        await pilot.pause(0.2)
        widgets = len(app.screen.query("*"))
        session_keys = bar.items
        web, client = app.workspace.panes[-2:]
        for key, pane in [("left_square_bracket", web), ("right_square_bracket", client)] * 2:
            await pilot.press("ctrl+b", key)
            await pilot.pause(0.05)
            assert app.workspace.tabs.active == pane.id
            assert bar.items == session_keys
        assert not bar.children
        assert len(app.screen.query("*")) == widgets, "a tab switch built or removed widgets"
        await pilot.press("ctrl+b", "0")  # the browser has other keys
        await wait_until(pilot, lambda: bar.items != session_keys, "the browser's keys")
        assert any(item.description == "Shell" for item in bar.items)
        await quit_app(pilot, app, "ctrl+b", "q")
