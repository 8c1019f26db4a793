"""Fixtures for the UI tests: an in-process sandbox and an app bound to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from retina_tui.config import Settings
from retina_tui.sandbox import Sandbox, SandboxOptions, run_sandbox
from retina_tui.ui.app import ClusterTarget, RetinaApp, make_app

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
    pilot: Pilot[None], predicate: Callable[[], bool], what: str, limit: float = 15.0
) -> None:
    """Let the app run until `predicate()` holds; fail after a generous timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def loaded(pilot: Pilot[None], app: RetinaApp) -> None:
    """Wait until the pods and nodes tables hold the cluster's lists."""
    await wait_until(pilot, lambda: app.browser.pods_loaded, "the pods list")
    await wait_until(pilot, lambda: app.browser.nodes.total_count > 0, "the nodes list")
    await pilot.pause(0.2)


def kubeconfig_of(sandbox: Sandbox) -> Path:
    return sandbox.kubeconfig_path
