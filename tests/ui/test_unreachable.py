"""An unreachable cluster shows a screen with the reason and a way out, never a traceback."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from retina_tui.config import Settings
from retina_tui.sandbox import Sandbox
from retina_tui.ui.app import ClusterTarget, make_app
from retina_tui.ui.screens import PickerScreen, UnreachableScreen
from tests.ui.conftest import SIZE, loaded, wait_until


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_dead_context(sandbox: Sandbox, tmp_path: Path) -> Path:
    """The sandbox's kubeconfig plus a context `dead` whose server nothing listens on."""
    config = json.loads(sandbox.kubeconfig_path.read_text())
    config["clusters"].append(
        {"name": "dead", "cluster": {"server": f"http://127.0.0.1:{closed_port()}"}}
    )
    config["contexts"].append({"name": "dead", "context": {"cluster": "dead", "user": "admin"}})
    config["current-context"] = "dead"
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(config))
    return path


async def test_unreachable_cluster_shows_the_reason_then_recovers(
    browse_sandbox: Sandbox, tmp_path: Path
) -> None:
    kubeconfig = with_dead_context(browse_sandbox, tmp_path)
    app = make_app(Settings(), target=ClusterTarget(kubeconfig=str(kubeconfig)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, UnreachableScreen), "the screen")
        screen = app.screen
        assert isinstance(screen, UnreachableScreen)
        assert "127.0.0.1" in screen.reason
        await pilot.press("r")  # retry: still unreachable, the screen comes back
        await wait_until(pilot, lambda: isinstance(app.screen, UnreachableScreen), "again")
        await pilot.press("C")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen), "the contexts")
        await pilot.press("home", "enter")  # "admin" sorts first
        await loaded(pilot, app)
        assert not isinstance(app.screen, UnreachableScreen)
        assert app.browser.pods.total_count > 0
        await pilot.press("q")


async def test_missing_kubeconfig_is_explained(tmp_path: Path) -> None:
    app = make_app(Settings(), target=ClusterTarget(kubeconfig=str(tmp_path / "nope")))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, UnreachableScreen), "the screen")
        assert isinstance(app.screen, UnreachableScreen)
        assert "No kubeconfig found" in app.screen.reason
        await pilot.press("q")
    assert app.return_code == 2  # quitting because the kubeconfig could not be used
    assert any("No kubeconfig found" in line for line in app.exit_lines())
