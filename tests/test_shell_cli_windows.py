"""`retina-tui shell` refuses a Windows node with one clear line and creates nothing."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest


@pytest.fixture
def sandbox_options() -> Any:
    from retina_tui.sandbox import SandboxOptions

    return SandboxOptions(nodes=2, pods=1, windows_nodes=1, network="host", kubelet=True)


async def test_a_windows_node_is_refused(api_sandbox: Any) -> None:
    windows = [
        node["metadata"]["name"]
        for node in api_sandbox.store.list("nodes")
        if node["metadata"]["labels"].get("kubernetes.io/os") == "windows"
    ]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "retina_tui",
        "shell",
        "--kubeconfig",
        str(api_sandbox.kubeconfig_path),
        windows[0],
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 1
    lines = err.decode().splitlines()
    assert lines[-1] == (
        f"retina-tui: Node {windows[0]} runs windows, and debug shells support only Linux "
        "nodes for now; pick a pod or node on a Linux node."
    )
    assert not [
        pod
        for pod in api_sandbox.store.list("pods")
        if (pod["metadata"].get("labels") or {}).get("app.kubernetes.io/managed-by")
    ]
