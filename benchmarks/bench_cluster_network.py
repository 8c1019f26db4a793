"""Benchmark of the sandbox's cluster network: how long a change takes to become rules.

A netns sandbox with 2,000 synthetic pods, 200 Services (10 endpoints each, in
EndpointSlices of their own) and 50 NetworkPolicies on the 200 pods labelled app=load-0.
For each backend the machine has (nftables, iptables; policies with nftables only), prints
the median and p95 over 40 changes of:
- an EndpointSlice change (an endpoint leaves) until kube-proxy's rules are applied in
  every node namespace;
- a NetworkPolicy change (its allowed peers change) until the policy rules are applied;
and the time to render each rule set once. As root only (namespaces and netfilter).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import time
from typing import Any

from retina_tui.sandbox import SandboxOptions, kubeproxy, netpol, netpol_rules, run_sandbox

SERVICES = 200
ENDPOINTS = 10
POLICIES = 50
ROUNDS = 40


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def populate(store: Any, *, policies: bool) -> None:
    ips = [p["status"]["podIP"] for p in store.list("pods", "default") if p["status"].get("podIP")]
    for index in range(SERVICES):
        name = f"bench-{index}"
        store.create(
            "services",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": "default"},
                "spec": {
                    "clusterIP": f"10.96.{200 + index // 250}.{index % 250 + 1}",
                    "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
                },
            },
        )
        chosen = ips[index * ENDPOINTS % len(ips) :][:ENDPOINTS]
        store.create(
            "endpointslices",
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"{name}-slice",
                    "namespace": "default",
                    "labels": {"kubernetes.io/service-name": name},
                },
                "addressType": "IPv4",
                "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in chosen],
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            },
        )
    for index in range(POLICIES if policies else 0):
        store.create("networkpolicies", policy(index, "frontend"))


def policy(index: int, tier: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"bench-{index}", "namespace": "default"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "load-0"}},
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"tier": tier}}}],
                    "ports": [{"port": 8080}],
                }
            ],
        },
    }


async def timed(change: Any, controller: Any) -> float:
    start = time.perf_counter()
    change()
    await controller.wait_applied()
    return time.perf_counter() - start


async def run(backend: str) -> None:
    os.environ["RETINA_TUI_SANDBOX_NETFILTER"] = backend
    options = SandboxOptions(nodes=3, pods=2000, network="netns", stop_grace=0.0)
    async with run_sandbox(options) as sandbox:
        store = sandbox.store
        populate(store, policies=backend == "nftables")
        await sandbox.kube_proxy.wait_applied()
        await sandbox.network_policy.wait_applied()
        slice_times = []
        for round_ in range(ROUNDS):
            name = f"bench-{round_ % SERVICES}-slice"

            def drop_one(name: str = name, keep: int = ENDPOINTS - 1 - round_ % 2) -> None:
                def update(target: dict[str, Any]) -> None:
                    target["endpoints"] = target["endpoints"][:keep]

                store.mutate("endpointslices", "default", name, update)

            slice_times.append(await timed(drop_one, sandbox.kube_proxy))
        policy_times = []
        for round_ in range(ROUNDS if backend == "nftables" else 0):
            tier = "backend" if round_ % 2 == 0 else "frontend"

            def swap(index: int = round_ % POLICIES, tier: str = tier) -> None:
                store.replace("networkpolicies", {**policy(index, tier)})

            policy_times.append(await timed(swap, sandbox.network_policy))
        start = time.perf_counter()
        rules = kubeproxy.service_rules(store)
        text = (kubeproxy.render_nft if backend == "nftables" else kubeproxy.render_iptables)(rules)
        render_proxy = time.perf_counter() - start
        start = time.perf_counter()
        compiled = netpol.compile_policies(
            store.list("pods"), store.list("namespaces"), store.list("networkpolicies")
        )
        isolated = [v for v in compiled.pods.values() if v.ingress is not None]
        policy_text = netpol_rules.render_nft(isolated)
        render_policy = time.perf_counter() - start
        print(f"{backend}: {SERVICES} services x {ENDPOINTS} endpoints, 2,000 pods")
        proxy = f"median {ms(statistics.median(slice_times))}, p95 {ms(p95(slice_times))}"
        print(f"  EndpointSlice change -> kube-proxy rules applied: {proxy}")
        print(f"    render {ms(render_proxy)} ({len(text) // 1024} KiB)")
        if not policy_times:
            # iptables has no address sets here (no ipset): one rule per peer address.
            print("  NetworkPolicy: not measured with iptables (one rule per peer address)")
            return
        applied = f"median {ms(statistics.median(policy_times))}, p95 {ms(p95(policy_times))}"
        print(f"  {POLICIES} policies, NetworkPolicy change -> rules applied: {applied}")
        print(
            f"    compile+render {ms(render_policy)} "
            f"({len(isolated)} isolated pods, {len(policy_text) // 1024} KiB)"
        )


async def main() -> None:
    if os.geteuid() != 0:
        print("skipped: needs root for namespaces and netfilter")
        return
    for backend, tool in (("nftables", "nft"), ("iptables", "iptables-restore")):
        if shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin"):
            await run(backend)


if __name__ == "__main__":
    asyncio.run(main())
