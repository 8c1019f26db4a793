"""Time to the first prompt byte of a debug session, minus the sandbox's container start delay.

Starts an in-process sandbox, then opens 20 pod sessions and 20 node sessions one after
the other and measures, for each, the time from `start()` to the first output byte of
the shell. The sandbox delays every container start by `start_delay`; subtracting it
leaves the engine's own overhead (requests, watch, attach) plus the sandbox's work.
Prints the median and the spread; the target is well under 50 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retina_tui.kube.client import KubeClient, connect
from retina_tui.sandbox import SandboxOptions, run_sandbox
from retina_tui.sessions.node import NodeSession
from retina_tui.sessions.pod import PodSession
from retina_tui.sessions.session import Session
from retina_tui.sessions.specs import NodeSessionSpec, PodSessionSpec

RUNS = 20
START_DELAY = 0.3


async def first_byte(session: Session, first: asyncio.Event) -> float:
    """Seconds from start() to the first output byte; the session is closed afterwards."""
    began = time.perf_counter()
    await session.start()
    await asyncio.wait_for(first.wait(), 30)
    elapsed = time.perf_counter() - began
    await session.write(b"exit 0\r")
    await asyncio.wait_for(session.wait(), 30)
    await session.close()
    return elapsed


async def measure(client: KubeClient, kind: str, pods: list[str], node: str) -> list[float]:
    samples = []
    for i in range(RUNS):
        first = asyncio.Event()

        def seen(_data: bytes, first: asyncio.Event = first) -> None:
            first.set()

        session: Session
        if kind == "pod":
            spec = PodSessionSpec(namespace="default", pod=pods[i % len(pods)])
            session = PodSession(client, spec, on_output=seen)
        else:
            session = NodeSession(
                client, NodeSessionSpec(node=node, namespace="default"), on_output=seen
            )
        samples.append(await first_byte(session, first) - START_DELAY)
    return samples


def report(kind: str, samples: list[float]) -> None:
    ms = sorted(s * 1000 for s in samples)
    print(
        f"{kind:4} session: time to first prompt byte minus start delay, {len(ms)} runs: "
        f"median {statistics.median(ms):.1f} ms, min {ms[0]:.1f} ms, max {ms[-1]:.1f} ms"
    )


async def main() -> None:
    options = SandboxOptions(nodes=2, pods=RUNS, network="auto", start_delay=START_DELAY)
    async with run_sandbox(options) as sandbox:
        began = time.perf_counter()
        client = await connect(kubeconfig=str(sandbox.kubeconfig_path))
        print(
            f"connect (kubeconfig load, first use): {(time.perf_counter() - began) * 1000:.0f} ms"
        )
        try:
            listed = await client.request("GET", "/api/v1/namespaces/default/pods")
            pods = [
                p["metadata"]["name"]
                for p in listed["items"]
                if (p.get("status") or {}).get("phase") == "Running"
            ]
            nodes = await client.request("GET", "/api/v1/nodes")
            node = nodes["items"][0]["metadata"]["name"]
            report("pod", await measure(client, "pod", pods, node))
            report("node", await measure(client, "node", pods, node))
        finally:
            await client.close()


if __name__ == "__main__":
    asyncio.run(main())
