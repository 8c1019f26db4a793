"""Benchmark of the cleanup supervisor: decision cost, a reap pass, and orphan lifetime.

Prints:
- the pure decision (`plan_deletions`) over 10,000 labelled pods and 1,000 Leases;
- one dry-run reap pass over the API of an in-process sandbox holding 1,000 labelled pods;
- how long pods outlive an instance that stops renewing (lease duration 1 s, reap every
  0.5 s): the rule allows 3 lease durations plus one reap interval, median of 5 rounds.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from retina_tui.config import Settings, SupervisorSettings
from retina_tui.kube.client import connect
from retina_tui.kube.watch import Change, Snapshot, watch_objects
from retina_tui.sandbox import SandboxOptions, run_sandbox
from retina_tui.supervisor import Supervisor
from retina_tui.supervisor.api import leases_path, pods_path
from retina_tui.supervisor.ownership import INSTANCE_LABEL, MANAGED_BY_LABEL, format_micro_time
from retina_tui.supervisor.reaper import Reaper
from retina_tui.supervisor.reconcile import plan_deletions

NOW = datetime.now(UTC)


def pod(name: str, instance: str, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {MANAGED_BY_LABEL: "retina-tui", INSTANCE_LABEL: instance},
        },
        "spec": {"nodeName": "node-1", "containers": [{"name": "shell", "image": "x"}]},
        "status": {"phase": "Running"},
    }


def lease(instance: str, renewed: datetime, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": f"retina-tui-{instance}",
            "namespace": namespace,
            "labels": {MANAGED_BY_LABEL: "retina-tui", INSTANCE_LABEL: instance},
        },
        "spec": {"leaseDurationSeconds": 1, "renewTime": format_micro_time(renewed)},
    }


def bench_plan() -> None:
    leases = [lease(f"i{n:07d}", NOW - timedelta(seconds=n % 7)) for n in range(1000)]
    pods = [pod(f"p{n}", f"i{n % 1000:07d}") for n in range(10_000)]
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        planned = plan_deletions(pods, leases, now=NOW, own_instance=None, missing_lease_grace=30)
        runs.append(time.perf_counter() - start)
    print(
        f"plan_deletions, 10,000 pods / 1,000 leases: "
        f"median {statistics.median(runs) * 1000:.1f} ms"
        f" ({len(planned)} deletions)"
    )


async def gone(client: Any, selector: str) -> None:
    async for event in watch_objects(client, "/api/v1/pods", label_selector=selector):
        if isinstance(event, Snapshot) and not event.items:
            return
        if isinstance(event, Change) and event.type == "DELETED":
            listing = await client.request(
                "GET", "/api/v1/pods", params={"labelSelector": selector}
            )
            if not listing["items"]:
                return


async def bench_api() -> None:
    options = SandboxOptions(nodes=3, pods=0, network="host", kubelet=False)
    async with run_sandbox(options) as sandbox:
        client = await connect(kubeconfig=str(sandbox.kubeconfig_path), context="admin")
        try:
            await client.request(
                "POST", leases_path("default"), body=lease("dead", NOW - timedelta(hours=1))
            )
            for n in range(1000):
                await client.request("POST", pods_path("default"), body=pod(f"p{n}", "dead"))
            reaper = Reaper(client, own_instance=None, missing_lease_grace=30)
            runs = []
            for _ in range(5):
                start = time.perf_counter()
                result = await reaper.reap(dry_run=True)
                runs.append(time.perf_counter() - start)
            print(
                f"dry-run reap pass over the API, 1,000 labelled pods: median "
                f"{statistics.median(runs) * 1000:.0f} ms ({len(result.planned)} planned)"
            )
            settings = Settings(
                supervisor=SupervisorSettings(renew_interval_seconds=1, reap_interval_seconds=0.5)
            )
            lifetimes = []
            for round_ in range(5):
                instance = f"gone{round_}"
                selector = f"{INSTANCE_LABEL}={instance}"
                for n in range(5):
                    await client.request(
                        "POST", pods_path("default"), body=pod(f"{instance}-{n}", instance)
                    )
                await client.request(
                    "POST", leases_path("default"), body=lease(instance, datetime.now(UTC))
                )
                died = time.perf_counter()
                async with Supervisor(client, settings, instance_id=f"bench{round_}"):
                    await gone(client, selector)
                lifetimes.append(time.perf_counter() - died)
            print(
                "orphan lifetime after the last renewal (rule: 3 x 1 s + up to 0.5 s): median "
                f"{statistics.median(lifetimes):.2f} s, max {max(lifetimes):.2f} s"
            )
        finally:
            await client.close()


if __name__ == "__main__":
    bench_plan()
    asyncio.run(bench_api())
