"""With the host filesystem, a node shell also sees the host's /run: read-only, unless -w."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import pytest

from retina_tui.kube.client import KubeClient
from retina_tui.sandbox import SandboxOptions
from retina_tui.sessions.node import NodeSession
from retina_tui.sessions.specs import NodeSessionSpec
from tests.sandbox.test_kubelet_rootfs import tiny_rootfs
from tests.sessions.conftest import Screen, prompt, run_line
from tests.sessions.test_sessions_sandbox import exit_with, linux_node

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounts need root")

IMAGE = "registry.test/tiny-toolbox"


@pytest.fixture
def sandbox_options(tmp_path: Path) -> Any:
    return SandboxOptions(
        nodes=1,
        pods=0,
        network="host",
        kubelet=True,
        start_delay=0.0,
        rootfs={IMAGE: tiny_rootfs(tmp_path / "rootfs")},
    )


async def write_into_run(kube: KubeClient, *, write: bool) -> tuple[bytes, Path]:
    """Open a node shell with -m (or -w), try to create a file in /run; what it printed."""
    probe = Path("/run") / f"rtui-probe-{secrets.token_hex(4)}"
    spec = NodeSessionSpec(
        node=await linux_node(kube),
        namespace="default",
        image=IMAGE,
        mount_host_fs=True,
        host_fs_write=write,
    )
    screen = Screen()
    session = NodeSession(kube, spec, on_phase=screen.on_phase, on_output=screen.on_output)
    await session.start()
    try:
        await session.write(b"\r")  # dash printed its first prompt before the attach
        mark = await prompt(session, screen)
        out, mark = await run_line(
            session,
            screen,
            f"echo x > {probe} && echo wr''ote; [ -e /host/etc ] && echo h''ost",
            mark,
        )
        assert await exit_with(session, 0) == 0
    finally:
        await session.close()
    return out, probe


async def test_run_is_read_only_with_the_host_filesystem(kube: KubeClient) -> None:
    out, probe = await write_into_run(kube, write=False)
    assert b"Read-only file system" in out and b"wrote" not in out
    assert b"host" in out
    assert not probe.exists()


async def test_run_is_writable_with_host_filesystem_write(kube: KubeClient) -> None:
    out, probe = await write_into_run(kube, write=True)
    try:
        assert b"wrote" in out
        assert probe.read_text() == "x\n"
    finally:
        probe.unlink(missing_ok=True)
