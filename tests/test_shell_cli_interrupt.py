"""Ctrl-C while `retina-tui shell NODE` still waits for its pod: the pod is deleted first."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import pexpect
import pytest


@pytest.fixture
def sandbox_options() -> Any:
    """A slow container start, so that the interrupt surely comes while waiting."""
    from retina_tui.sandbox import SandboxOptions

    return SandboxOptions(nodes=2, pods=1, network="auto", kubelet=True, start_delay=30.0)


def managed_pods(sandbox: Any) -> list[str]:
    return [
        pod["metadata"]["name"]
        for pod in sandbox.store.list("pods")
        if (pod["metadata"].get("labels") or {}).get("app.kubernetes.io/managed-by") == "retina-tui"
    ]


async def test_ctrl_c_while_waiting_deletes_the_node_pod(api_sandbox: Any) -> None:
    argv = [
        "-m",
        "retina_tui",
        "shell",
        "--kubeconfig",
        str(api_sandbox.kubeconfig_path),
        "-n",
        "default",
        "node-1",
    ]
    child = pexpect.spawn(
        sys.executable, argv, env={**os.environ, "TERM": "xterm"}, timeout=60, encoding="utf-8"
    )
    try:
        await asyncio.to_thread(child.expect_exact, "retina-tui: waiting")
        assert len(managed_pods(api_sandbox)) == 1
        child.sendintr()
        await asyncio.to_thread(child.expect, pexpect.EOF)
        child.close()
        assert child.exitstatus == 130
    finally:
        child.close(force=True)
    assert managed_pods(api_sandbox) == []
