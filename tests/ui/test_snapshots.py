"""Snapshots of the browser, the help screen, a session tab and the split view.

Deterministic: a fixed terminal size, a frozen clock (every age reads the same), the
one randomly named seed pod renamed, host networking (fixed addresses), no blinking
cursor in the screenshots (the terminal widget draws its cursor without blinking).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.pilot import Pilot

from retina_tui.config import Settings
from retina_tui.sandbox import SandboxOptions
from retina_tui.ui.app import ClusterTarget, RetinaApp, make_app
from scripts.screenshots import steady_names
from tests.ui.threaded import ThreadedSandbox

SIZE = (130, 34)


@pytest.fixture(scope="module")
def still_cluster() -> Iterator[tuple[ThreadedSandbox, float]]:
    threaded = ThreadedSandbox(SandboxOptions(kubelet=False, network="host"))
    threaded.start()
    try:
        now = threaded.call(steady_names)
        yield threaded, now
    finally:
        threaded.stop()


def _app(cluster: tuple[ThreadedSandbox, float]) -> RetinaApp:
    threaded, now = cluster
    assert threaded.sandbox is not None
    target = ClusterTarget(kubeconfig=str(threaded.sandbox.kubeconfig_path))
    return make_app(Settings(), target=target, clock=lambda: now)


async def _loaded(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, RetinaApp)
    for _ in range(400):
        if app.browser.pods_loaded and app.browser.nodes.total_count:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.5)  # the details panel settles after its debounce


def test_browser_snapshot(snap_compare: Any, still_cluster: tuple[ThreadedSandbox, float]) -> None:
    assert snap_compare(_app(still_cluster), terminal_size=SIZE, run_before=_loaded)


def test_nodes_snapshot(snap_compare: Any, still_cluster: tuple[ThreadedSandbox, float]) -> None:
    async def nodes(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await pilot.press("n")
        await pilot.pause(0.5)

    assert snap_compare(_app(still_cluster), terminal_size=SIZE, run_before=nodes)


def test_help_snapshot(snap_compare: Any, still_cluster: tuple[ThreadedSandbox, float]) -> None:
    async def help_screen(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.2)

    assert snap_compare(_app(still_cluster), terminal_size=SIZE, run_before=help_screen)


@pytest.fixture(scope="module")
def shell_cluster() -> Iterator[tuple[ThreadedSandbox, float]]:
    threaded = ThreadedSandbox(SandboxOptions(network="host", pods=3))
    threaded.start()
    try:
        now = threaded.call(steady_names)
        yield threaded, now
    finally:
        threaded.stop()


async def _open(pilot: Pilot[Any], namespace: str, name: str) -> None:
    app = pilot.app
    assert isinstance(app, RetinaApp)
    app.workspace.show("browser")
    for _ in range(600):  # the kubelet starts the seeded pods a little after the API
        key = app.browser.find_pod(namespace, name)
        row = app.browser.pods.get_row(key) if key else None
        if row is not None and row.cells[3] == "Running":
            break
        await pilot.pause(0.05)
    assert key is not None
    app.browser.pods.move_cursor_to(key)
    count = len(app.workspace.panes)
    await pilot.press("s")
    for _ in range(600):
        panes = app.workspace.panes
        if len(panes) > count and "#" in "\n".join(panes[-1].terminal.terminal.display_text()):
            break
        await pilot.pause(0.05)
    await pilot.pause(0.3)


async def _type(pilot: Pilot[Any], text: str, expect: str) -> None:
    app = pilot.app
    assert isinstance(app, RetinaApp)
    pane = app.workspace.focused_pane
    assert pane is not None
    await pilot.press(*text, "enter")
    for _ in range(200):
        if expect in "\n".join(pane.terminal.terminal.display_text()):
            break
        await pilot.pause(0.05)
    await pilot.pause(0.3)


def test_session_tab_snapshot(
    snap_compare: Any, shell_cluster: tuple[ThreadedSandbox, float]
) -> None:
    async def session(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await _open(pilot, "shop", "web")
        await _type(pilot, "echo hi", "\nhi")

    assert snap_compare(_app(shell_cluster), terminal_size=SIZE, run_before=session)


def test_split_view_snapshot(
    snap_compare: Any, shell_cluster: tuple[ThreadedSandbox, float]
) -> None:
    async def split(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await _open(pilot, "shop", "web")
        await _open(pilot, "shop", "client")
        await pilot.press("ctrl+b", "percent_sign")
        await pilot.pause(0.3)
        await _type(pilot, "echo right", "\nright")
        await pilot.press("ctrl+b", "m", "ctrl+b", "w", "ctrl+b", "m", "ctrl+b", "y")
        app = pilot.app
        assert isinstance(app, RetinaApp)
        for _ in range(100):
            if app.workspace.broadcast and all(p.broadcasting for p in app.workspace.panes):
                break
            await pilot.pause(0.05)
        await pilot.pause(0.5)

    assert snap_compare(_app(shell_cluster), terminal_size=SIZE, run_before=split)
