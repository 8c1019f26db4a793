"""Port forwards from the browser: F on a Service or a pod, `:pf`, the forwards view, z, and
the forwards' end with the app. A forward answers HTTP, survives a dropped stream, and
its local port is closed once the app has quit."""

from __future__ import annotations

import asyncio
from typing import Any

from retina_tui.sandbox import Sandbox
from retina_tui.ui.ask_dialog import AskDialog
from tests.sessions.test_forward import drop_once_open
from tests.ui.conftest import SIZE, app_for, loaded, pod_running, quit_app, wait_until


async def curl(port: int) -> str:
    """What `curl` says of http://127.0.0.1:PORT/: its status code, or why it failed."""
    process = await asyncio.create_subprocess_exec(
        "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
        f"http://127.0.0.1:{port}/",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    return out.decode() if process.returncode == 0 else f"curl failed: {err.decode().strip()}"


async def wait_served(pilot: Any, port: int) -> None:
    """curl until it gets 200 (the pod's container is ready before its server listens)."""
    for _ in range(100):
        if await curl(port) == "200":
            return
        await pilot.pause(0.1)
    raise AssertionError(f"curl never got 200 through port {port}")


async def test_a_forward_answers_survives_a_dropped_stream_and_ends_with_the_app(
    live_sandbox: Sandbox,
) -> None:
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pod_running(pilot, app, "shop", "web")
        await pilot.press("v")
        await wait_until(pilot, lambda: app.browser.services.get_row("shop/web") is not None, "svc")
        assert app.browser.services.move_cursor_to("shop/web")
        await pilot.press("F")
        await wait_until(pilot, lambda: isinstance(app.screen, AskDialog), "the ports dialog")
        answer = app.screen.query_one("#answer")
        assert answer.value == ":80"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.forwards.get("1") is not None, "the forward")
        forward = app.forwards.get("1")
        assert forward is not None
        port = forward.listeners[0].local
        await wait_served(pilot, port)

        await pilot.press("f")
        assert app.browser.view == "forwards"
        await wait_until(
            pilot,
            lambda: (row := app.browser.forwards.get_row("1")) is not None and row.cells[5] == "1",
            "the forward's row with one connection",
        )
        row = app.browser.forwards.get_row("1")
        assert row is not None
        assert row.cells[:4] == (f"127.0.0.1:{port}", "shop", "svc/web:80", "web")

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await drop_once_open(live_sandbox, forward)
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()
        await wait_until(pilot, lambda: forward.stats.drops == 1, "the drop counted")
        await wait_until(
            pilot,
            lambda: "new stream" in (app.browser.forwards.get_row("1") or row).cells[4],
            "the drop shown in the row",
        )
        assert await curl(port) == "200"

        await pilot.press("p")
        key = await pod_running(pilot, app, "shop", "web")
        assert app.browser.pods.move_cursor_to(key)
        await pilot.press("colon", *"pf 0:8080", "enter")
        await wait_until(pilot, lambda: app.forwards.get("2") is not None, "the :pf forward")
        second = app.forwards.get("2")
        assert second is not None
        pod_port = second.listeners[0].local
        assert await curl(pod_port) == "200"

        await pilot.press("f")
        await wait_until(pilot, lambda: app.browser.forwards.get_row("2") is not None, "row 2")
        assert app.browser.forwards.move_cursor_to("1")
        await pilot.press("z")
        await wait_until(pilot, lambda: app.forwards.get("1") is None, "the first forward stopped")
        await wait_until(pilot, lambda: app.browser.forwards.get_row("1") is None, "its row gone")
        assert "Couldn't connect" in await curl(port)

        await quit_app(pilot, app, "q")
    assert "Couldn't connect" in await curl(pod_port)
