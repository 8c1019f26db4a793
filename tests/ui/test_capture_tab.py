"""The capture tab against the sandbox's kubelet: packets listed live, saved, cleaned up."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from textual.widgets import DataTable, Input

from retina_tui.capture.pcapng import read_pcapng
from retina_tui.capture.summary import summarize
from retina_tui.sandbox import Sandbox
from retina_tui.ui.ask_dialog import AskDialog
from retina_tui.ui.capture_pane import CapturePane
from tests.ui.conftest import SIZE, app_for, loaded, pod_running, quit_app, wait_until
from tests.ui.test_sessions import debug_pods


def rows(pane: CapturePane) -> list[list[str]]:
    table: DataTable[str] = pane.table
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def ping(sandbox: Sandbox, source: str, ip: str) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "retina_tui",
        "shell",
        "--kubeconfig",
        str(sandbox.kubeconfig_path),
        "-n",
        "shop",
        f"pod/{source}",
        "--",
        "ping",
        "-c",
        "4",
        "-i",
        "0.2",
        ip,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return process.returncode


def pod_ip(sandbox: Sandbox, namespace: str, name: str) -> str:
    pod = sandbox.store.get("pods", namespace, name)
    assert pod is not None
    return str(pod["status"]["podIP"])


async def test_capture_tab_lists_packets_with_pod_names_and_saves_them(
    live_sandbox: Sandbox, tmp_path: Path
) -> None:
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        key = await pod_running(pilot, app, "shop", "web")
        await pod_running(pilot, app, "shop", "api")
        assert app.browser.pods.move_cursor_to(key)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog), "the filter question")
        await pilot.press(*"icmp", "enter")
        await wait_until(pilot, lambda: bool(app.workspace.panes), "the capture tab")
        pane = app.workspace.panes[0]
        assert isinstance(pane, CapturePane)
        assert app.workspace.tabs.active == pane.id
        await wait_until(pilot, lambda: pane.state in ("capturing", "failed"), "capturing", 60)
        assert pane.state == "capturing"

        await ping(live_sandbox, "api", pod_ip(live_sandbox, "shop", "web"))

        def request_from_api() -> bool:
            return any(
                row[3] == "shop/api" and row[4] == "shop/web" and "echo request" in row[6]
                for row in rows(pane)
            )

        try:
            await wait_until(pilot, request_from_api, "echo requests from shop/api listed")
        except AssertionError:
            raise AssertionError((rows(pane)[:6], app.browser.names_by_ip())) from None
        assert any(row[3] == "shop/web" and "echo reply" in row[6] for row in rows(pane))
        assert all(row[2] == "shop/web:eth0" for row in rows(pane))
        assert all(row[5] == "ICMP" for row in rows(pane)), "the filter ran"

        saved = tmp_path / "saved.pcapng"
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog), "the save dialog")
        app.screen.query_one(Input).value = str(saved)
        await pilot.press("enter")
        await wait_until(pilot, saved.exists, "the saved file")
        capture = read_pcapng(str(saved))
        assert [i.name for i in capture.interfaces] == ["shop/web:eth0"]
        assert capture.interfaces[0].bpf_filter == "icmp"
        summaries = [summarize(capture.interfaces[0].linktype, p.data) for p in capture.packets]
        assert any(s.info.startswith("echo request") for s in summaries)

        await pilot.press("z")
        await wait_until(pilot, lambda: pane.state == "stopped", "the capture to stop")
        own_file = pane.path
        await quit_app(pilot, app, "q")
    assert not own_file.exists()


async def test_a_node_capture_closed_with_x_deletes_its_node_pod(live_sandbox: Sandbox) -> None:
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("n")
        await pilot.pause(0.2)
        assert app.browser.nodes.cursor_key is not None
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog), "the filter question")
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(app.workspace.panes), "the capture tab")
        pane = app.workspace.panes[0]
        assert isinstance(pane, CapturePane)
        await wait_until(pilot, lambda: pane.state in ("capturing", "failed"), "capturing", 60)
        assert pane.state == "capturing"
        assert pane.left_pods(), "a node capture runs in a node pod"
        assert debug_pods(live_sandbox)
        await pilot.press("x")
        await wait_until(pilot, lambda: not app.workspace.panes, "the tab to close")
        assert debug_pods(live_sandbox) == []
        await quit_app(pilot, app, "q")
