"""Windows nodes in the interface: the OS shows, the dialog offers what Windows has, shells work."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from textual.widgets import Input, Select

from retina_tui.sandbox import Sandbox, SandboxOptions, run_sandbox
from retina_tui.ui.dialog import SessionDialog
from retina_tui.ui.session_pane import SessionPane
from tests.ui.conftest import SIZE, app_for, loaded, quit_app, screen_text, wait_until
from tests.ui.test_sessions import debug_pods

PS_PROMPT = "PS C:\\Windows\\system32>"


@pytest.fixture
async def windows_sandbox() -> AsyncIterator[Sandbox]:
    options = SandboxOptions(network="auto", nodes=3, windows_nodes=1, pods=2)
    async with run_sandbox(options) as sandbox:
        yield sandbox


async def test_a_windows_node_session_from_the_dialog_offers_no_linux_settings(
    windows_sandbox: Sandbox,
) -> None:
    app = app_for(windows_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("n")
        await wait_until(pilot, lambda: app.browser.view == "nodes", "the nodes view")
        row = app.browser.nodes.get_row("node-3")
        assert row is not None and "windows/amd64" in row.cells
        app.browser.nodes.move_cursor_to("node-3")
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDialog), "the dialog")
        dialog = app.screen
        assert dialog.query_one("#image", Input).value == app.settings.debug.windows_image
        assert dialog.query_one("#shell", Select).value == "powershell"
        for hidden in ("#capabilities", "#host-fs", "#host-pid"):
            widget = dialog.query_one(hidden)
            assert not all(node.display for node in (widget, *widget.ancestors)), hidden
        assert dialog.query_one("#image").region.area > 0
        dialog.query_one("#shell", Select).value = "cmd"
        await pilot.press("ctrl+enter")
        await wait_until(pilot, lambda: bool(app.workspace.panes), "the node tab")
        pane: SessionPane = app.workspace.panes[0]
        await wait_until(pilot, lambda: "C:\\Windows\\system32>" in screen_text(pane), "cmd")
        (name,) = debug_pods(windows_sandbox)
        pod = windows_sandbox.store.get("pods", "default", name)
        assert pod is not None
        assert pod["spec"]["securityContext"]["windowsOptions"]["hostProcess"] is True
        assert pod["spec"]["containers"][0]["command"] == ["cmd.exe"]
        assert "capabilities" not in str(pod["spec"])
        await pilot.press("ctrl+b", "x")
        await wait_until(pilot, lambda: not app.workspace.panes, "the tab to close")
        await wait_until(pilot, lambda: debug_pods(windows_sandbox) == [], "the node pod to go")
        await quit_app(pilot, app, "q")


async def test_a_windows_pod_session_in_one_key(windows_sandbox: Sandbox) -> None:
    app = app_for(windows_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        key = app.browser.find_pod("win", "iis")
        assert key is not None
        app.browser.pods.move_cursor_to(key)
        await pilot.press("s")
        await wait_until(pilot, lambda: bool(app.workspace.panes), "the pod tab")
        pane: SessionPane = app.workspace.panes[0]
        await wait_until(pilot, lambda: PS_PROMPT in screen_text(pane), "the PowerShell prompt")
        pod = windows_sandbox.store.get("pods", "win", "iis")
        assert pod is not None
        (shell,) = pod["spec"]["ephemeralContainers"]
        assert shell["image"].endswith("-ltsc2022")
        assert "securityContext" not in shell
        await quit_app(pilot, app, "ctrl+b", "q")
