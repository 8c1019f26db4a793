"""Log tabs and events tabs in the interface, against a sandbox with a kubelet.

A log tab follows a pod printing a line a second, through a dropped stream with no line
lost or repeated; search highlights; pause holds lines back; timestamps and saving; the
previous run's log after a restart; two marked pods interleaved with prefixes; a
container picked for a two-container pod. An events tab shows a pod's events and a new
Warning within a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from retina_tui.kube.client import KubeClient, connect
from retina_tui.sandbox import Sandbox, SandboxOptions, run_sandbox
from retina_tui.ui.app import RetinaApp
from retina_tui.ui.events_pane import EventsPane
from retina_tui.ui.log_pane import LogPane
from retina_tui.ui.screens import PickerScreen
from tests.sandbox.apiclient import pod_body
from tests.ui.conftest import SIZE, app_for, loaded, pod_running, quit_app, wait_until

PER_SECOND = "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 1; done"
FAST = "i=0; while true; do i=$((i+1)); echo {name}-$i; sleep 0.2; done"
PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture
async def log_sandbox() -> AsyncIterator[Sandbox]:
    options = SandboxOptions(nodes=1, pods=0, network="host", start_delay=0.05, restart_backoff=0.5)
    async with run_sandbox(options) as sandbox:
        yield sandbox


@pytest.fixture
async def kube(log_sandbox: Sandbox) -> AsyncIterator[KubeClient]:
    client = await connect(kubeconfig=str(log_sandbox.kubeconfig_path))
    try:
        yield client
    finally:
        await client.close()


async def create(kube: KubeClient, name: str, *scripts: str, **spec: Any) -> None:
    body = pod_body(name, **spec)
    first = body["spec"]["containers"][0]
    body["spec"]["containers"] = [
        {**first, "name": f"c{index}" if len(scripts) > 1 else "main", "command": ["sh", "-c", s]}
        for index, s in enumerate(scripts)
    ]
    await kube.request("POST", PODS, body=body)


async def select(pilot: Pilot[None], app: RetinaApp, name: str) -> None:
    app.workspace.show("browser")
    app.browser.view = "pods"
    key = await pod_running(pilot, app, "default", name)
    assert app.browser.pods.move_cursor_to(key)
    await pilot.pause()


async def open_with(pilot: Pilot[None], app: RetinaApp, key: str) -> Any:
    before = len(app.workspace.panes)
    await pilot.press(key)
    await wait_until(pilot, lambda: len(app.workspace.panes) > before, f"a tab from {key}")
    return app.workspace.panes[-1]


def texts(pane: LogPane) -> list[str]:
    return [line.text for line in pane.view.lines]


def numbers(lines: list[str], prefix: str = "tick-") -> list[int]:
    return [int(text.removeprefix(prefix)) for text in lines if text.startswith(prefix)]


def shown(pane: LogPane) -> list[str]:
    """The rows the log view draws, as text."""
    view = pane.view
    return ["".join(s.text for s in view.render_line(y)) for y in range(view.size.height)]


async def test_a_log_tab_follows_searches_pauses_and_saves(
    log_sandbox: Sandbox, kube: KubeClient, tmp_path: Path
) -> None:
    await create(kube, "ticker", PER_SECOND)
    app = app_for(log_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await select(pilot, app, "ticker")
        pane = await open_with(pilot, app, "l")
        assert isinstance(pane, LogPane) and pane.title == "logs default/ticker/main"
        await wait_until(pilot, lambda: "tick-2" in texts(pane), "two lines", 15)
        count = len(texts(pane))
        await wait_until(pilot, lambda: len(texts(pane)) > count, "a line more (followed)", 5)
        assert any(row.startswith("tick-1") for row in shown(pane))

        await log_sandbox.kubelet.drop_streams()
        await wait_until(pilot, lambda: len(numbers(texts(pane))) >= 5, "lines after a drop", 15)
        assert numbers(texts(pane)) == list(range(1, len(numbers(texts(pane))) + 1))

        await pilot.press("slash", *"tick-2")
        await pilot.pause(0.2)
        assert pane.view.match_count == 1
        row = next(y for y, text in enumerate(shown(pane)) if text.startswith("tick-2"))
        marked = [s for s in pane.view.render_line(row) if s.style and s.style.reverse]
        assert "".join(s.text for s in marked) == "tick-2"
        assert "1 matching 'tick-2'" in str(pane.query_one(".pane-status").render())
        await pilot.press("escape")
        await pilot.pause()
        assert pane.view.search_text == "" and pane.view.has_focus

        await pilot.press("p")
        held = len(texts(pane))
        await wait_until(pilot, lambda: len(pane._held) >= 1, "a line held while paused", 5)
        assert len(texts(pane)) == held
        assert "paused" in str(pane.query_one(".pane-status").render())
        await pilot.press("p")
        await pilot.pause(0.2)
        assert len(texts(pane)) > held and not pane._held

        await pilot.press("t")
        await pilot.pause()
        assert shown(pane)[0].startswith("20") and "Z tick-1" in shown(pane)[0]

        saved = tmp_path / "ticker.log"
        await pilot.press("e")
        await pilot.pause()
        box = app.screen.query_one("Input")
        box.value = str(saved)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_until(pilot, saved.exists, "the saved log")
        lines = saved.read_text().splitlines()
        assert lines[0].endswith("Z tick-1") and len(lines) >= 5
        await quit_app(pilot, app, "q")


async def test_previous_run_interleaved_pods_and_the_container_picker(
    log_sandbox: Sandbox, kube: KubeClient
) -> None:
    await create(kube, "crashes", "echo run-$(cat /proc/sys/kernel/random/uuid); sleep 1; exit 1")
    await create(kube, "left", FAST.format(name="left"))
    await create(kube, "right", FAST.format(name="right"))
    await create(kube, "pair", "echo from-c0; sleep 3600", "echo from-c1; sleep 3600")
    app = app_for(log_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)

        await select(pilot, app, "left")
        await pilot.press("m")
        await select(pilot, app, "right")
        await pilot.press("m")
        both = await open_with(pilot, app, "l")
        assert isinstance(both, LogPane) and both.view.prefixed
        await wait_until(
            pilot,
            lambda: {"left", "right"} <= {line.source.pod for line in both.view.lines},
            "both pods' lines",
            15,
        )
        prefixes = {row.split("] ")[0] + "]" for row in shown(both) if row.startswith("[")}
        assert prefixes == {"[left/main]", "[right/main]"}
        for name in ("left", "right"):
            await select(pilot, app, name)
            await pilot.press("m")  # unmarked again
        assert not app.browser.marked

        await select(pilot, app, "pair")
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen), "the picker")
        await pilot.press("down", "enter")
        pane = app.workspace.panes[-1]
        assert isinstance(pane, LogPane) and pane.title == "logs default/pair/c1"
        await wait_until(pilot, lambda: texts(pane) == ["from-c1"], "the second container's log")

        await wait_until(pilot, lambda: restarted(app, "crashes"), "a restart", 20)
        await select(pilot, app, "crashes")
        current = await open_with(pilot, app, "l")
        await wait_until(pilot, lambda: bool(texts(current)), "the current run's line", 10)
        previous = await open_with(pilot, app, "v")
        assert isinstance(previous, LogPane) and previous.title.endswith("(previous)")
        await wait_until(pilot, lambda: previous.state == "ended", "the previous log read", 10)
        assert len(texts(previous)) == 1 and texts(previous)[0].startswith("run-")
        assert texts(previous)[0] != texts(current)[0]
        await quit_app(pilot, app, "q")


def restarted(app: RetinaApp, name: str) -> bool:
    key = app.browser.find_pod("default", name)
    row = app.browser.pods.get_row(key) if key else None
    return bool(row) and row.cells[4] not in ("0", "")  # type: ignore[union-attr]


async def test_events_tab_shows_a_new_warning_within_a_second(
    log_sandbox: Sandbox, kube: KubeClient
) -> None:
    await create(kube, "quiet", "sleep 3600")
    app = app_for(log_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await select(pilot, app, "quiet")
        details = app.browser.details
        await wait_until(pilot, lambda: "Started" in details.content.plain, "the last events", 10)
        assert "Last events" in details.content.plain
        assert "Scheduled Successfully assigned default/quiet" in details.content.plain
        silent = await open_with(pilot, app, "l")  # a log with no line yet is followed
        await wait_until(pilot, lambda: silent.state == "following", "the open log", 10)
        assert silent.label.startswith("●") and not silent.view.lines
        await select(pilot, app, "quiet")
        pane = await open_with(pilot, app, "e")
        assert isinstance(pane, EventsPane) and pane.title == "events pod/default/quiet"
        await wait_until(pilot, lambda: pane.table.total_count >= 4, "the pod's events", 10)
        reasons = {pane.table.get_row(k).cells[1] for k in pane.table.visible_keys()}  # type: ignore[union-attr]
        assert {"Scheduled", "Pulled", "Created", "Started"} <= reasons
        pod = await kube.request("GET", f"{PODS}/quiet")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "quiet.probe-failed", "namespace": "default"},
            "involvedObject": {
                "kind": "Pod",
                "name": "quiet",
                "namespace": "default",
                "uid": pod["metadata"]["uid"],
            },
            "reason": "Unhealthy",
            "message": "Readiness probe failed: connection refused",
            "type": "Warning",
            "count": 1,
            "firstTimestamp": "2030-01-01T00:00:00Z",
            "lastTimestamp": "2030-01-01T00:00:00Z",
        }
        await kube.request("POST", "/api/v1/namespaces/default/events", body=event)
        await wait_until(
            pilot, lambda: pane.table.get_row("default/quiet.probe-failed") is not None, "it", 1.0
        )
        row = pane.table.get_row("default/quiet.probe-failed")
        assert row is not None and row.tone == "error" and row.cells[0] == "Warning"
        assert pane.table.visible_keys()[0] == "default/quiet.probe-failed"  # newest first
        app.workspace.show("browser")
        app.browser._show_details()
        await wait_until(pilot, lambda: "Unhealthy" in details.content.plain, "the warning", 10)
        await asyncio.sleep(0)
        await quit_app(pilot, app, "q")
