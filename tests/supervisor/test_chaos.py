"""Chaos: SIGKILL `retina-tui shell` at random moments; no debug pod may outlive it.

Each round starts five node shells sharing one instance id, kills them all at a chosen
point (while creating, while attaching, while running), then starts a second instance
and waits until every pod and Lease of the killed instance is gone, while the pod of a
third instance that stays alive throughout is never touched.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from retina_tui.kube.client import KubeClient
from retina_tui.supervisor import Supervisor
from retina_tui.supervisor.api import leases_path
from retina_tui.supervisor.ownership import INSTANCE_LABEL, MANAGED_SELECTOR
from tests.supervisor.conftest import fast_settings, wait_for
from tests.supervisor.shells import ShellProcess, shell_env

SHELLS = 5
NODES = ("node-1", "node-2", "node-3")
KILL_POINTS = ("creating", "attaching", "running", "creating", "attaching", "running")


def of_instance(instance: str) -> str:
    return f"{MANAGED_SELECTOR},{INSTANCE_LABEL}={instance}"


def running(pods: dict[str, dict[str, Any]]) -> int:
    return sum(1 for pod in pods.values() if (pod.get("status") or {}).get("phase") == "Running")


@pytest.fixture
def with_kubelet() -> bool:
    return True


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        "[supervisor]\nrenew_interval_seconds = 0.5\nreap_interval_seconds = 0.5\n",
        encoding="utf-8",
    )
    return path


async def kill_at(
    point: str, shells: list[ShellProcess], admin: KubeClient, instance: str, rng: random.Random
) -> None:
    """Wait for the kill point, then SIGKILL every shell of the instance."""
    if point == "creating":
        await asyncio.sleep(rng.uniform(0.0, 1.5))
    elif point == "attaching":
        enough = rng.randint(1, SHELLS)
        await wait_for(
            admin,
            "/api/v1/pods",
            lambda pods: running(pods) >= enough,
            label_selector=of_instance(instance),
        )
    else:
        for shell in shells:
            shell.write(b"echo chaos-$((6*7))\r")
        for shell in shells:
            await shell.expect(b"chaos-42")
        await asyncio.sleep(rng.uniform(0.0, 0.5))
    for shell in shells:
        shell.kill()


@pytest.mark.timeout(900)
async def test_killed_shells_leave_no_pod_behind(
    admin: KubeClient, kubeconfig: Path, config: Path
) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"chaos seed {seed}; kill points {KILL_POINTS}")
    settings = fast_settings(renew=0.5, reap=0.5)
    live = await ShellProcess.start(["node-2"], shell_env(kubeconfig, config, "livechaos"))
    try:
        live.write(b"echo live-$((1+1))\r")
        await live.expect(b"live-2")
        live_pods = await wait_for(
            admin,
            "/api/v1/pods",
            lambda pods: running(pods) == 1,
            label_selector=of_instance("livechaos"),
        )
        for number, point in enumerate(KILL_POINTS):
            instance = f"chaos{number}x{seed % 1000}"
            shells = [
                await ShellProcess.start(
                    [NODES[i % len(NODES)]], shell_env(kubeconfig, config, instance)
                )
                for i in range(SHELLS)
            ]
            try:
                await kill_at(point, shells, admin, instance, rng)
                for shell in shells:
                    await shell.wait()
            finally:
                for shell in shells:
                    await shell.close()
            async with Supervisor(admin, settings, instance_id=f"reaper{number}"):
                await wait_for(
                    admin,
                    "/api/v1/pods",
                    lambda pods: not pods,
                    label_selector=of_instance(instance),
                )
                await wait_for(
                    admin,
                    leases_path(None),
                    lambda leases, i=instance: f"default/retina-tui-{i}" not in leases,
                )
            still = await wait_for(
                admin, "/api/v1/pods", lambda pods: True, label_selector=of_instance("livechaos")
            )
            assert still.keys() == live_pods.keys(), f"seed {seed}, round {number} ({point})"
            assert all("deletionTimestamp" not in p["metadata"] for p in still.values())
        live.write(b"exit 3\r")
        assert await live.wait() == 3
        await wait_for(
            admin, "/api/v1/pods", lambda pods: not pods, label_selector=of_instance("livechaos")
        )
        await wait_for(
            admin, leases_path(None), lambda leases: "default/retina-tui-livechaos" not in leases
        )
        leftovers = await admin.request(
            "GET", "/api/v1/pods", params={"labelSelector": MANAGED_SELECTOR}
        )
        assert leftovers["items"] == [], f"seed {seed}"
        leases = await admin.request(
            "GET", leases_path(None), params={"labelSelector": MANAGED_SELECTOR}
        )
        assert leases["items"] == [], f"seed {seed}"
    finally:
        await live.close()
