"""A restarted interface finds a pod's running retina-tui shell and re-attaches in one key."""

from __future__ import annotations

from retina_tui.config import Settings
from retina_tui.kube.client import connect
from retina_tui.sandbox import Sandbox
from retina_tui.sessions.pod import PodSession
from retina_tui.sessions.specs import PodSessionSpec
from retina_tui.ui.session_pane import SessionPane
from tests.sessions.conftest import Screen, prompt, run_line
from tests.ui.conftest import (
    SIZE,
    app_for,
    loaded,
    pod_running,
    quit_app,
    running,
    screen_text,
    type_line,
    wait_until,
)


async def test_details_show_a_running_shell_and_a_reattaches_to_it(live_sandbox: Sandbox) -> None:
    client = await connect(kubeconfig=str(live_sandbox.kubeconfig_path))
    screen = Screen()
    # The shell an earlier interface left running (it was killed, or its terminal closed).
    earlier = PodSession(
        client,
        PodSessionSpec.from_settings(Settings().debug, namespace="shop", pod="web"),
        on_phase=screen.on_phase,
        on_output=screen.on_output,
    )
    try:
        app = app_for(live_sandbox)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            key = await pod_running(pilot, app, "shop", "web")
            await earlier.start()
            mark = await prompt(earlier, screen)
            await run_line(earlier, screen, "MARK=fo''und", mark)

            assert app.browser.pods.move_cursor_to(key)

            def details() -> str:
                return str(app.browser.details.render())

            await wait_until(
                pilot, lambda: earlier.container in details(), "the running shell in the details"
            )
            assert "Running retina-tui shells" in details()
            assert "press a to re-attach" in details()

            await pilot.press("a")
            await wait_until(pilot, lambda: bool(app.workspace.panes), "the re-attached tab")
            pane = app.workspace.panes[0]
            assert isinstance(pane, SessionPane)
            assert pane.session.container == earlier.container
            await running(pilot, pane)
            await type_line(pilot, "echo $MARK")
            await wait_until(pilot, lambda: "\nfound" in screen_text(pane), "the earlier variable")
            await quit_app(pilot, app, "ctrl+b", "q")
    finally:
        await earlier.close()
        await client.close()


async def test_a_without_a_running_shell_says_so(live_sandbox: Sandbox) -> None:
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        key = await pod_running(pilot, app, "shop", "db")
        assert app.browser.pods.move_cursor_to(key)
        await pilot.press("a")
        await wait_until(
            pilot,
            lambda: any(
                "no running retina-tui shell" in str(n.message) for n in app._notifications
            ),
            "the notification",
        )
        assert not app.workspace.panes
        await quit_app(pilot, app, "q")
