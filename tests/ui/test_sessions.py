"""Sessions in the UI against the sandbox's kubelet: type, split, broadcast, close."""

from __future__ import annotations

import asyncio

from retina_tui.sandbox import Sandbox
from retina_tui.ui.dialog import SessionDialog
from retina_tui.ui.session_pane import SessionPane
from tests.ui.conftest import (
    SIZE,
    app_for,
    loaded,
    open_pod_session,
    pod_running,
    quit_app,
    running,
    screen_text,
    type_line,
    wait_until,
)

MANAGED = "app.kubernetes.io/managed-by"


def debug_pods(sandbox: Sandbox) -> list[str]:
    return [
        p["metadata"]["name"]
        for p in sandbox.store.list("pods")
        if (p["metadata"].get("labels") or {}).get(MANAGED) == "retina-tui"
    ]


async def test_pod_session_runs_what_is_typed(live_sandbox: Sandbox) -> None:
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        pane = await open_pod_session(pilot, app, "shop", "web")
        assert app.workspace.tabs.active == pane.id
        assert app.focused is pane.terminal
        assert "pod shop/web" in pane.label
        await type_line(pilot, "echo hi")
        await wait_until(pilot, lambda: "\nhi" in screen_text(pane), "hi in the terminal")
        status = str(pane.query_one(".pane-status").render())
        assert "running" in status
        await quit_app(pilot, app, "ctrl+b", "q")
    assert debug_pods(live_sandbox) == []


async def test_node_session_from_a_pod_and_close_deletes_its_pod(live_sandbox: Sandbox) -> None:
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        key = app.browser.find_pod("shop", "client")
        assert key is not None
        node = app.browser.pod(key).node  # type: ignore[union-attr]
        app.browser.pods.move_cursor_to(key)
        await pilot.press("S")  # a session on the pod's node, in one key
        await wait_until(pilot, lambda: bool(app.workspace.panes), "the node tab")
        pane = app.workspace.panes[0]
        assert pane.title == f"node {node}"
        await running(pilot, pane)
        await wait_until(pilot, lambda: len(debug_pods(live_sandbox)) == 1, "the node pod")
        # The app's supervisor holds a Lease where its node pod lives, so no reaper takes it.
        from retina_tui.supervisor import lease_name

        pod = next(
            p
            for p in live_sandbox.store.list("pods")
            if p["metadata"]["name"] == debug_pods(live_sandbox)[0]
        )
        assert app.instance_id is not None
        assert pod["metadata"]["labels"]["retina-tui.io/instance"] == app.instance_id
        namespace = pod["metadata"]["namespace"]
        assert live_sandbox.store.get("leases", namespace, lease_name(app.instance_id))
        await type_line(pilot, "hostname")
        await wait_until(pilot, lambda: f"\n{node}" in screen_text(pane), "the node's name")
        await pilot.press("ctrl+b", "x")
        await wait_until(pilot, lambda: not app.workspace.panes, "the tab to close")
        await wait_until(pilot, lambda: debug_pods(live_sandbox) == [], "the node pod to go")
        assert app.workspace.tabs.active == "browser"
        await quit_app(pilot, app, "q")


async def test_split_two_sessions_and_switch_panes(live_sandbox: Sandbox) -> None:
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        first = await open_pod_session(pilot, app, "shop", "web")
        second = await open_pod_session(pilot, app, "shop", "client")
        assert app.focused is second.terminal
        await pilot.press("ctrl+b", "percent_sign")
        await pilot.pause(0.2)
        assert app.workspace.split == (second, first)
        assert first.display and second.display
        assert first.region.width > 0 and second.region.width > 0
        assert first.region.x != second.region.x  # side by side
        await pilot.press("ctrl+b", "w")
        await pilot.pause(0.1)
        assert app.focused is first.terminal
        await type_line(pilot, "echo left")
        await wait_until(pilot, lambda: "\nleft" in screen_text(first), "left in the first")
        assert "\nleft" not in screen_text(second)
        await pilot.press("ctrl+b", "quotation_mark")  # stacked
        await pilot.pause(0.2)
        assert first.region.y != second.region.y and first.region.x == second.region.x
        await pilot.press("ctrl+b", "percent_sign")  # unsplit: one pane per tab again
        await pilot.pause(0.2)
        assert app.workspace.split is None
        assert not second.display
        await quit_app(pilot, app, "ctrl+b", "q")


async def test_broadcast_types_into_every_marked_session(live_sandbox: Sandbox) -> None:
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        coredns = next(
            p["metadata"]["name"]
            for p in live_sandbox.store.list("pods", "kube-system")
            if p["metadata"]["name"].startswith("coredns")
        )
        panes = [
            await open_pod_session(pilot, app, "shop", "web"),
            await open_pod_session(pilot, app, "shop", "client"),
            await open_pod_session(pilot, app, "kube-system", coredns),
        ]
        for index in (1, 2, 3):
            await pilot.press("ctrl+b", str(index), "ctrl+b", "m")
        assert all(pane.marked for pane in panes)
        await pilot.press("ctrl+b", "y")
        await pilot.pause(0.1)
        assert app.workspace.broadcast
        banner = str(app.workspace.query_one("#broadcast-banner").render())
        assert "BROADCAST ON" in banner and "3 sessions" in banner
        assert app.workspace.query_one("#broadcast-banner").display
        await type_line(pilot, "hostname")
        for pane, host in zip(panes, ("web", "client", coredns), strict=True):
            await wait_until(pilot, lambda p=pane, h=host: f"\n{h}" in screen_text(p), host)
        await pilot.press("ctrl+b", "y")
        await pilot.pause(0.1)
        assert not app.workspace.broadcast
        await type_line(pilot, "echo only-here")
        focused = app.workspace.focused_pane
        assert focused is not None
        await wait_until(pilot, lambda: "\nonly-here" in screen_text(focused), "local typing")
        await asyncio.sleep(0.5)
        others = [pane for pane in panes if pane is not focused]
        assert all("only-here" not in screen_text(pane) for pane in others)
        await quit_app(pilot, app, "ctrl+b", "q")


async def test_unpullable_image_shows_the_reason_in_the_tab(live_sandbox: Sandbox) -> None:
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        key = await pod_running(pilot, app, "shop", "web")
        app.browser.pods.move_cursor_to(key)
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDialog), "the dialog")
        app.screen.query_one("#image").value = "example.com/does-not-exist:1"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(app.workspace.panes), "the tab")
        pane: SessionPane = app.workspace.panes[0]
        await wait_until(pilot, lambda: pane.phase.kind == "failed", "the failure", 60)
        status = str(pane.query_one(".pane-status").render())
        assert "failed" in status
        assert "does-not-exist" in status or "pull" in status.lower()
        await wait_until(
            pilot,
            lambda: any(pane.title in n.message for n in app._notifications),
            "a notification",
        )
        note = next(n.message for n in app._notifications if pane.title in n.message)
        assert status.removeprefix("failed: ") in note  # the same words in both places
        await quit_app(pilot, app, "ctrl+b", "q")


async def test_quitting_ends_every_session_and_deletes_node_pods(live_sandbox: Sandbox) -> None:
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("n")
        await wait_until(pilot, lambda: app.browser.nodes.cursor_key is not None, "a node")
        await pilot.press("s")
        await wait_until(pilot, lambda: bool(app.workspace.panes), "the node tab")
        await running(pilot, app.workspace.panes[0])
        await open_pod_session(pilot, app, "shop", "web")
        assert len(debug_pods(live_sandbox)) == 1
        await quit_app(pilot, app, "ctrl+b", "q")
        await wait_until(pilot, lambda: not app.is_running, "the app to exit", 30)
    assert debug_pods(live_sandbox) == []
    assert app.exit_report == ""


async def test_forbidden_session_is_explained_not_a_crash(live_sandbox: Sandbox) -> None:
    from retina_tui.config import Settings
    from retina_tui.ui.app import ClusterTarget, make_app

    target = ClusterTarget(kubeconfig=str(live_sandbox.kubeconfig_path), context="restricted")
    app = make_app(Settings(), target=target)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        key = await pod_running(pilot, app, "shop", "web")
        app.browser.pods.move_cursor_to(key)
        await pilot.press("s")
        await wait_until(pilot, lambda: bool(app.workspace.panes), "the tab")
        pane = app.workspace.panes[0]
        await wait_until(pilot, lambda: pane.has_class("-failed"), "the failure")
        status = str(pane.query_one(".pane-status").render())
        await wait_until(
            pilot,
            lambda: any(pane.title in n.message for n in app._notifications),
            "a notification",
        )
        assert "restricted" in status or "not allowed" in status or "forbidden" in status.lower()
        assert app.is_running
        await pilot.press("ctrl+b", "x")
        await wait_until(pilot, lambda: not app.workspace.panes, "the tab to close")
        await quit_app(pilot, app, "q")
    assert debug_pods(live_sandbox) == []


async def test_dialog_sets_host_filesystem_pid_and_capabilities(live_sandbox: Sandbox) -> None:
    from textual.widgets import Checkbox, Input

    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("n")
        await wait_until(pilot, lambda: app.browser.nodes.cursor_key is not None, "a node")
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDialog), "the dialog")
        dialog = app.screen
        assert dialog.query_one("#image", Input).value == app.settings.debug.image
        dialog.query_one("#capabilities", Input).value = "net_admin"
        dialog.query_one("#host-fs", Checkbox).value = True
        dialog.query_one("#host-pid", Checkbox).value = True
        await pilot.click("#open")
        await wait_until(pilot, lambda: bool(app.workspace.panes), "the node tab")
        await running(pilot, app.workspace.panes[0])
        pod = next(
            p
            for p in live_sandbox.store.list("pods")
            if p["metadata"]["name"] in debug_pods(live_sandbox)
        )
        spec = pod["spec"]
        assert spec["hostPID"] is True
        container = spec["containers"][0]
        assert container["securityContext"]["capabilities"]["add"] == ["NET_ADMIN"]
        mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
        assert mounts["/host"].get("readOnly") is True
        await quit_app(pilot, app, "ctrl+b", "q")
        await wait_until(pilot, lambda: not app.is_running, "the app to exit", 30)
    assert debug_pods(live_sandbox) == []


async def test_a_pod_security_refusal_in_a_tab_gives_the_advice_of_the_shell_command(
    live_sandbox: Sandbox,
) -> None:
    from retina_tui.kube.client import connect
    from retina_tui.sessions.wait import wait_running

    client = await connect(kubeconfig=str(live_sandbox.kubeconfig_path), context="admin")
    try:
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "app", "namespace": "secure"},
            "spec": {
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "containers": [{"name": "app", "image": "example.test/app:1", "tty": True}],
            },
        }
        await client.request("POST", "/api/v1/namespaces/secure/pods", body=pod)
        await wait_running(
            client, "secure", "app", "app", ephemeral=False, timeout=30, on_state=lambda s: None
        )
    finally:
        await client.close()
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        key = await pod_running(pilot, app, "secure", "app")
        app.browser.pods.move_cursor_to(key)
        await pilot.press("s")
        await wait_until(pilot, lambda: bool(app.workspace.panes), "the tab")
        pane = app.workspace.panes[0]
        await wait_until(pilot, lambda: pane.has_class("-failed"), "the failure")
        status = str(pane.query_one(".pane-status").render())
        assert "level baseline (label pod-security.kubernetes.io/enforce=baseline)" in status
        assert "retry with --profile baseline or --profile auto." in status
        await quit_app(pilot, app, "ctrl+b", "q")
    (found,) = [p for p in live_sandbox.store.list("pods") if p["metadata"]["name"] == "app"]
    assert not found["spec"].get("ephemeralContainers")
