"""Fixtures for the UI tests: an in-process sandbox and an app bound to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot

from retina_tui.config import Settings
from retina_tui.sandbox import Sandbox, SandboxOptions, run_sandbox
from retina_tui.ui.app import ClusterTarget, RetinaApp, make_app
from retina_tui.ui.session_pane import SessionPane

SIZE = (150, 40)


@pytest.fixture
async def browse_sandbox() -> AsyncIterator[Sandbox]:
    """A sandbox without a kubelet: seeded pods with fixed statuses, enough to browse."""
    async with run_sandbox(SandboxOptions(kubelet=False, network="host")) as sandbox:
        yield sandbox


def app_for(sandbox: Sandbox, settings: Settings | None = None, **kwargs: object) -> RetinaApp:
    """The app on the sandbox's admin context."""
    target = ClusterTarget(kubeconfig=str(sandbox.kubeconfig_path))
    return make_app(settings or Settings(), target=target, **kwargs)  # type: ignore[arg-type]


async def wait_until(
    pilot: Pilot[None], predicate: Callable[[], bool], what: str, limit: float = 30.0
) -> None:
    """Let the app run until `predicate()` holds; fail after a generous timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def quit_app(pilot: Pilot[None], app: RetinaApp, *keys: str) -> None:
    """Press the quit keys, then let the app end its sessions and exit by itself.

    The last key is posted like a driver posts it, not through `pilot.press`: the pilot
    waits for the animator to settle after each key, and an app that shows a toast and
    then exits stops its animator before the toast settles, so that wait would never end.
    Leaving `run_test` while the app still closes sessions would tear its widgets down
    underneath that work; a person's quit always runs to the end.
    """
    *first, last = keys
    if first:
        await pilot.press(*first)
    app.post_message(events.Key(last, last if len(last) == 1 else None))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60.0
    while app.return_code is None:
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the app to quit")
        await asyncio.sleep(0.05)


async def loaded(pilot: Pilot[None], app: RetinaApp) -> None:
    """Wait until the pods and nodes tables hold the cluster's lists."""
    await wait_until(pilot, lambda: app.browser.pods_loaded, "the pods list")
    await wait_until(pilot, lambda: app.browser.nodes.total_count > 0, "the nodes list")
    await pilot.pause(0.2)


def kubeconfig_of(sandbox: Sandbox) -> Path:
    return sandbox.kubeconfig_path


@pytest.fixture
async def live_sandbox() -> AsyncIterator[Sandbox]:
    """A sandbox with its kubelet: real shells, one network namespace per node and pod."""
    async with run_sandbox(SandboxOptions(network="auto", pods=6)) as sandbox:
        yield sandbox


def screen_text(pane: SessionPane) -> str:
    """What a session's terminal shows (screen and scrollback), as plain text."""
    terminal = pane.terminal.terminal
    return "\n".join(terminal.display_text())


async def open_pod_session(pilot: Pilot[None], app: RetinaApp, ns: str, name: str) -> SessionPane:
    """Select the pod in the browser, press `s`, wait for a running shell."""
    app.workspace.show("browser")
    app.browser.view = "pods"
    await pilot.pause()
    key = await pod_running(pilot, app, ns, name)
    assert app.browser.pods.move_cursor_to(key)
    before = len(app.workspace.panes)
    await pilot.press("s")
    await wait_until(pilot, lambda: len(app.workspace.panes) > before, "a new tab")
    pane = app.workspace.panes[-1]
    await running(pilot, pane)
    return pane


async def pod_running(pilot: Pilot[None], app: RetinaApp, ns: str, name: str) -> str:
    """Wait until the table shows the pod Running (the kubelet starts pods a bit later)."""

    def status() -> str:
        key = app.browser.find_pod(ns, name)
        row = app.browser.pods.get_row(key) if key else None
        return row.cells[3] if row else ""

    await wait_until(pilot, lambda: status() == "Running", f"{ns}/{name} to run", 45)
    key = app.browser.find_pod(ns, name)
    assert key is not None
    return key


async def running(pilot: Pilot[None], pane: SessionPane) -> None:
    """Wait for the session to run and its shell to print a prompt."""
    await wait_until(pilot, lambda: pane.phase.kind in ("running", "failed"), pane.title, 45)
    assert pane.phase.kind == "running", str(pane.phase)
    await wait_until(pilot, lambda: "#" in screen_text(pane), f"a prompt in {pane.title}")


async def type_line(pilot: Pilot[None], text: str) -> None:
    """Type a command and Enter into whatever has focus."""
    await pilot.press(*text, "enter")
