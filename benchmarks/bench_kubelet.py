"""Benchmark of the sandbox kubelet: exec round trips, pod start, lazy synthetic pods, scale.

Prints, for the host network mode and (as root with iproute2) the netns mode:
- the median time of an exec of `true` over WebSocket (upgrade, spawn, exit status);
- the median time from POST of a pod to its container running (start_delay 0);
- the first exec into a synthetic pod (creates its namespace) against a second one;
- starting and stopping a sandbox with 10,000 synthetic pods, and the namespaces it made.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import time
from typing import Any

from retina_tui.sandbox import SandboxOptions, run_sandbox
from retina_tui.sandbox.network import our_namespaces
from tests.sandbox.apiclient import Api, pod_body
from tests.sandbox.kubelet_support import container_state, exec_in, wait_pod


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def exec_round_trips(sandbox: Any, pod: str, rounds: int = 20) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        result = await exec_in(sandbox, "default", pod, "true")
        assert result.status is not None and result.status.success
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def pod_starts(sandbox: Any, rounds: int = 10) -> float:
    api = Api(sandbox.url, sandbox.admin_token, sandbox.ca_pem)
    times = []
    try:
        for index in range(rounds):
            name = f"bench-{index}"
            body = pod_body(name)
            body["spec"]["containers"][0]["command"] = ["sleep", "60"]
            start = time.perf_counter()
            await api.post("/api/v1/namespaces/default/pods", body)
            await wait_pod(
                sandbox.store, "default", name, lambda p: container_state(p, "main") == "running"
            )
            times.append(time.perf_counter() - start)
    finally:
        await api.close()
    return statistics.median(times)


async def bench_mode(network: str) -> None:
    options = SandboxOptions(nodes=3, pods=50, network=network, start_delay=0.0)
    async with run_sandbox(options) as sandbox:
        first = time.perf_counter()
        await exec_in(sandbox, "default", "load-0007", "true")
        first_exec = time.perf_counter() - first
        print(f"[{network}] first exec into a synthetic pod: {ms(first_exec)}")
        round_trip = await exec_round_trips(sandbox, "load-0007")
        print(f"[{network}] exec round trip (median of 20): {ms(round_trip)}")
        print(f"[{network}] pod POST -> running (median of 10): {ms(await pod_starts(sandbox))}")


async def bench_scale() -> None:
    mode = "netns" if os.geteuid() == 0 and shutil.which("ip") else "host"
    options = SandboxOptions(nodes=3, pods=10_000, network=mode, start_delay=0.0)
    before = set(our_namespaces())
    start = time.perf_counter()
    async with run_sandbox(options) as sandbox:
        started = time.perf_counter() - start
        prefix = sandbox.network.run_prefix + "-"
        made = [n for n in our_namespaces() if n not in before and n.startswith(prefix)]
        print(f"[{mode}] sandbox with 10,000 synthetic pods up in {ms(started)}; "
              f"namespaces created: {len(made)}")  # fmt: skip
        stop = time.perf_counter()
        del sandbox
    print(f"[{mode}] and stopped in {ms(time.perf_counter() - stop)}")


async def main() -> None:
    await bench_mode("host")
    if os.geteuid() == 0 and shutil.which("ip"):
        await bench_mode("netns")
    await bench_scale()


if __name__ == "__main__":
    asyncio.run(main())
