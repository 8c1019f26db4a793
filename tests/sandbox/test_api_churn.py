"""`--churn`: throwaway pods are created, relabelled and deleted while watchers look on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from retina_tui.sandbox import SandboxOptions


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(nodes=2, pods=0, network="host", kubelet=False, churn=200.0)


async def test_churn_produces_every_kind_of_event(api_sandbox: Any) -> None:
    kinds: set[str] = set()
    async with asyncio.timeout(30):
        async with api_sandbox.store.watch("pods", "churn") as watcher:
            async for kind, obj in watcher:
                assert obj["metadata"]["namespace"] == "churn"
                kinds.add(kind)
                if kinds == {"ADDED", "MODIFIED", "DELETED"}:
                    break
    assert api_sandbox.store.get("namespaces", None, "churn") is not None


async def test_every_pod_has_its_own_ip_under_churn() -> None:
    from retina_tui.sandbox import SandboxOptions
    from retina_tui.sandbox.churn import Churn
    from retina_tui.sandbox.sandbox import run_sandbox

    async with run_sandbox(SandboxOptions(nodes=3, pods=30, network="host", kubelet=False)) as box:
        nodes = ["node-1", "node-2", "node-3"]
        churn = Churn(box.store, 1.0, nodes, box.network.node_ip, lambda pod: None)
        for _ in range(40):
            churn.step()
        ips = [
            p["status"]["podIP"] for p in box.store.list("pods") if "podIP" in p.get("status", {})
        ]
        assert len(ips) == len(set(ips)), sorted(ips)
