"""How the app leaves, in process: exit statuses, signals, a crash, and what is left over.

A signal sent to this very process reaches the app's handlers on the test's event loop,
exactly as it would in a terminal; a crash is an exception raised inside the app.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pexpect
import pytest
from textual import events

from retina_tui.config import Settings
from retina_tui.sandbox import Sandbox, SandboxOptions, run_sandbox
from retina_tui.sandbox.network import our_namespaces
from retina_tui.ui.app import DemoTarget, RetinaApp, make_app
from retina_tui.ui.shutdown import QUIT_SIGNALS
from tests.fixtures_sandbox import SandboxProcess
from tests.ui.conftest import SIZE, app_for, loaded, quit_app, running, wait_until

MANAGED = "app.kubernetes.io/managed-by"


def owned(sandbox: Sandbox, kind: str) -> list[str]:
    return [
        item["metadata"]["name"]
        for item in sandbox.store.list(kind)
        if (item["metadata"].get("labels") or {}).get(MANAGED) == "retina-tui"
    ]


async def open_node_session(pilot: Any, app: RetinaApp) -> None:
    await pilot.press("n")
    await wait_until(pilot, lambda: app.browser.nodes.cursor_key is not None, "a node")
    await pilot.press("s")
    await wait_until(pilot, lambda: bool(app.workspace.panes), "the node tab")
    await running(pilot, app.workspace.panes[0])


async def until_exited(pilot: Any, app: RetinaApp) -> None:
    await wait_until(pilot, lambda: app.return_code is not None, "the app to exit", 30)


def boom() -> None:
    raise RuntimeError("boom")


def send(signum: int, unhandled: object) -> None:
    """Signal this process, once the app's handler has replaced `unhandled`."""
    assert signal.getsignal(signum) != unhandled, "the app handles no signal; not sending it"
    os.kill(os.getpid(), signum)


async def test_no_signal_handler_is_left_after_an_app_run(browse_sandbox: Sandbox) -> None:
    before = {signum: signal.getsignal(signum) for signum in QUIT_SIGNALS}
    app = app_for(browse_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        during = {signum: signal.getsignal(signum) for signum in QUIT_SIGNALS}
        assert all(during[signum] != before[signum] for signum in QUIT_SIGNALS)
        await quit_app(pilot, app, "q")
    assert app.return_code == 0
    assert {signum: signal.getsignal(signum) for signum in QUIT_SIGNALS} == before


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP])
async def test_a_signal_quits_with_128_plus_its_number(
    browse_sandbox: Sandbox, signum: signal.Signals
) -> None:
    unhandled = signal.getsignal(signum)
    app = app_for(browse_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        send(signum, unhandled)
        await until_exited(pilot, app)
    assert app.return_code == 128 + signum
    assert app.exit_lines() == []


@pytest.mark.timeout(120)
async def test_sigterm_deletes_the_node_pod_and_the_lease(live_sandbox: Sandbox) -> None:
    unhandled = signal.getsignal(signal.SIGTERM)
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await open_node_session(pilot, app)
        assert len(owned(live_sandbox, "pods")) == 1
        assert len(owned(live_sandbox, "leases")) == 1
        send(signal.SIGTERM, unhandled)
        await until_exited(pilot, app)
    assert app.return_code == 128 + signal.SIGTERM
    assert owned(live_sandbox, "pods") == []
    assert owned(live_sandbox, "leases") == []
    assert app.exit_lines() == []


@pytest.fixture
async def slow_sandbox() -> AsyncIterator[Sandbox]:
    """Containers take long to start, so a session is still starting when the app quits."""
    async with run_sandbox(SandboxOptions(network="auto", pods=2, start_delay=8.0)) as sandbox:
        yield sandbox


@pytest.mark.timeout(120)
@pytest.mark.parametrize("after", [0.0, 0.02, 0.05])
async def test_a_signal_while_a_node_session_starts_leaves_no_pod(
    slow_sandbox: Sandbox, after: float
) -> None:
    unhandled = signal.getsignal(signal.SIGTERM)
    app = app_for(slow_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("n")
        await wait_until(pilot, lambda: app.browser.nodes.cursor_key is not None, "a node")
        app.post_message(events.Key("s", "s"))  # as a driver posts it: no wait after it
        await asyncio.sleep(after)
        send(signal.SIGTERM, unhandled)
        await until_exited(pilot, app)
    assert app.return_code == 128 + signal.SIGTERM
    assert owned(slow_sandbox, "pods") == []
    assert owned(slow_sandbox, "leases") == []


@pytest.mark.timeout(120)
async def test_a_crash_exits_non_zero_and_still_deletes_the_node_pod(
    live_sandbox: Sandbox,
) -> None:
    app = app_for(live_sandbox)
    with pytest.raises(RuntimeError, match="boom"):
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await open_node_session(pilot, app)
            assert len(owned(live_sandbox, "pods")) == 1
            app.call_later(boom)
            await wait_until(pilot, lambda: not app.is_running, "the crash", 30)
    assert app.return_code == 1
    assert owned(live_sandbox, "pods") == []
    assert owned(live_sandbox, "leases") == []


@pytest.mark.netns
@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and iproute2"
)
@pytest.mark.timeout(120)
async def test_a_crash_of_the_demo_removes_its_network_namespaces() -> None:
    app = make_app(Settings(), target=DemoTarget(churn=0))
    with pytest.raises(RuntimeError, match="boom"):
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            prefix = f"{app.sandbox.network.run_prefix}-"
            assert any(name.startswith(prefix) for name in our_namespaces())
            app.call_later(boom)
            await wait_until(pilot, lambda: not app.is_running, "the crash", 30)
    assert app.return_code == 1
    assert [name for name in our_namespaces() if name.startswith(prefix)] == []


CRASHING_APP = """
import sys
from retina_tui.config import Settings
from retina_tui.ui.app import ClusterTarget, RetinaApp
from retina_tui.ui.shutdown import run_app

class Crashing(RetinaApp):
    def on_browser_snapshot_loaded(self, event):
        raise RuntimeError("boom")

app = Crashing(Settings(), ClusterTarget(kubeconfig=sys.argv[1]))
sys.exit(run_app(app, app.exit_lines))
"""


@pytest.mark.timeout(120)
def test_the_process_exits_non_zero_after_a_crash(
    sandbox_cluster: SandboxProcess, tmp_path: Path
) -> None:
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_APP)
    child = pexpect.spawn(
        sys.executable,
        [str(script), str(sandbox_cluster.kubeconfig)],
        env={**os.environ, "TERM": "xterm"},
        dimensions=(40, 120),
        timeout=60,
    )
    try:
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 1
        assert b"boom" in child.before
    finally:
        child.close(force=True)
