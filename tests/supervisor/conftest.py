"""Fixtures for the supervisor tests: a sandbox cluster, clients, and watch-based waits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from retina_tui.config import Settings, SupervisorSettings
from retina_tui.kube.client import KubeClient, connect
from retina_tui.kube.watch import Change, Snapshot, watch_objects
from retina_tui.supervisor.ownership import (
    INSTANCE_LABEL,
    MANAGED_BY_LABEL,
    format_micro_time,
)

WAIT_SECONDS = 60.0
Objects = dict[str, dict[str, Any]]


def fast_settings(renew: float = 0.5, reap: float = 0.5) -> Settings:
    """Settings with short intervals, so tests wait seconds rather than minutes."""
    return Settings(
        supervisor=SupervisorSettings(renew_interval_seconds=renew, reap_interval_seconds=reap)
    )


@pytest.fixture
def with_kubelet() -> bool:
    """Whether pods really run; the reaper's own tests do not need them to."""
    return False


@pytest.fixture
async def sandbox(with_kubelet: bool) -> AsyncIterator[Any]:
    from retina_tui.sandbox import SandboxOptions, run_sandbox

    options = SandboxOptions(nodes=3, pods=2, network="host", kubelet=with_kubelet)
    async with run_sandbox(options) as running:
        yield running


@pytest.fixture
async def admin(sandbox: Any) -> AsyncIterator[KubeClient]:
    client = await connect(kubeconfig=str(sandbox.kubeconfig_path), context="admin")
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def kubeconfig(sandbox: Any) -> Path:
    return Path(sandbox.kubeconfig_path)


async def wait_for(
    client: KubeClient,
    path: str,
    condition: Callable[[Objects], bool],
    *,
    label_selector: str | None = None,
    seconds: float = WAIT_SECONDS,
) -> Objects:
    """Watch `path` until `condition(objects by ns/name)` holds; the objects at that moment."""
    objects: Objects = {}

    def key(obj: dict[str, Any]) -> str:
        meta = obj.get("metadata") or {}
        return f"{meta.get('namespace', '')}/{meta.get('name', '')}"

    async def follow() -> Objects:
        async for event in watch_objects(client, path, label_selector=label_selector):
            if isinstance(event, Snapshot):
                objects.clear()
                objects.update({key(item): item for item in event.items})
            elif isinstance(event, Change):
                if event.type == "DELETED":
                    objects.pop(key(event.obj), None)
                else:
                    objects[key(event.obj)] = event.obj
            if condition(objects):
                return dict(objects)
        raise AssertionError("the watch ended")

    try:
        return await asyncio.wait_for(follow(), seconds)
    except TimeoutError:
        raise AssertionError(
            f"condition not reached on {path}; last seen: {sorted(objects)}"
        ) from None


def debug_pod(
    name: str,
    *,
    instance: str | None,
    node: str,
    namespace: str = "default",
    managed_by: str | None = "retina-tui",
) -> dict[str, Any]:
    """A pod labelled like a node debug pod (or like another tool's when asked)."""
    labels: dict[str, str] = {}
    if managed_by is not None:
        labels[MANAGED_BY_LABEL] = managed_by
    if instance is not None:
        labels[INSTANCE_LABEL] = instance
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "nodeName": node,
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "shell", "image": "busybox", "command": ["sleep", "3600"]}],
        },
    }


def stale_lease(instance: str, *, namespace: str = "default", renewed: str) -> dict[str, Any]:
    """A Lease as a dead instance left it."""
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": f"retina-tui-{instance}",
            "namespace": namespace,
            "labels": {MANAGED_BY_LABEL: "retina-tui", INSTANCE_LABEL: instance},
        },
        "spec": {
            "holderIdentity": "gone@nowhere/1",
            "leaseDurationSeconds": 1,
            "renewTime": renewed,
        },
    }


__all__ = ["format_micro_time"]
