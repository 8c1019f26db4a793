"""A pod debug session on the project's own image runs the image's tools, not the host's.

The root filesystem is built by `nox -s image` (minutes, needs root and the Debian mirror),
so this test runs where that build exists; the chroot mechanism itself is covered for
every run by tests/sandbox/test_kubelet_rootfs.py with a tiny root filesystem.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from retina_tui.kube.client import KubeClient
from retina_tui.sandbox.sandbox import default_rootfs
from tests.sessions.conftest import Screen, prompt, run_line
from tests.sessions.test_sessions_sandbox import exit_with, pod_session, running_pod

IMAGE = "ghcr.io/retina-tui/debug:dev"
MARKER = "/usr/share/retina-tui-debug/packages.txt"
ROOTFS = Path(__file__).resolve().parents[2] / "debug-image" / "build" / "rootfs"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not (ROOTFS / MARKER.lstrip("/")).exists(),
    reason="needs root and the debug image root filesystem built by `nox -s image`",
)


async def test_pod_session_runs_tcpdump_from_the_debug_image(kube: KubeClient) -> None:
    assert any(path == ROOTFS for path in default_rootfs().values())
    screen = Screen()
    session = pod_session(kube, screen, await running_pod(kube), image=IMAGE)
    await session.resize(200, 40)
    await session.start()
    try:
        mark = await prompt(session, screen)
        out, mark = await run_line(session, screen, f"ls {MARKER} && echo in''-image", mark)
        assert b"in-image" in out
        out, mark = await run_line(session, screen, "tcpdump --version", mark)
        assert b"tcpdump version" in out
        assert await exit_with(session, 0) == 0
    finally:
        await session.close()
