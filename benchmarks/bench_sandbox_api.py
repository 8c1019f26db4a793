"""Benchmark of the sandbox API server: listing 10,000 pods and fanning watch events out.

The sandbox runs on its own event loop in a background thread (as it would in its own
process, minus the GIL); the clients run on the main thread over real HTTPS.
Prints: time to list 10,000 pods as JSON and as a kubectl Table (bytes received, then
also decoded), `kubectl get pods -A` wall time, and watch events per second delivered
to 10 concurrent watchers.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp

from retina_tui.sandbox import Sandbox, SandboxOptions, run_sandbox

PODS = 10_000
WATCHERS = 10
WATCH_EVENTS = 5_000
RUNS = 7
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


class Background:
    """The sandbox on a background thread's event loop."""

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.sandbox: Sandbox | None = None
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, name="sandbox", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with run_sandbox(self.options) as sandbox:
            self.sandbox = sandbox
            self.ready.set()
            await self._stop.wait()

    def __enter__(self) -> Sandbox:
        self.thread.start()
        if not self.ready.wait(120) or self.sandbox is None:
            raise RuntimeError("sandbox did not start")
        return self.sandbox

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(30)

    def call(self, fn: Any, *args: Any) -> Any:
        """Run a plain function on the sandbox loop and wait for its result."""

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(60)


async def timed_lists(sandbox: Sandbox, accept: str) -> tuple[list[float], list[float], int]:
    context = ssl.create_default_context(cadata=(sandbox.ca_pem or b"").decode())
    headers = {"Authorization": f"Bearer {sandbox.admin_token}", "Accept": accept}
    fetch: list[float] = []
    decoded: list[float] = []
    size = 0
    async with aiohttp.ClientSession() as session:
        for _ in range(RUNS):
            start = time.perf_counter()
            async with session.get(
                sandbox.url + "/api/v1/pods", headers=headers, ssl=context
            ) as response:
                body = await response.read()
            fetch.append(time.perf_counter() - start)
            document = json.loads(body)
            decoded.append(time.perf_counter() - start)
            count = len(document.get("items") or document.get("rows") or [])
            assert count >= PODS, count
            size = len(body)
    return fetch, decoded, size


async def watch_rate(sandbox: Sandbox, background: Background) -> tuple[float, int]:
    context = ssl.create_default_context(cadata=(sandbox.ca_pem or b"").decode())
    headers = {"Authorization": f"Bearer {sandbox.admin_token}"}
    rv = sandbox.store.resource_version
    received = [0] * WATCHERS
    done = asyncio.Event()
    first: list[float] = []

    async def watcher(index: int, session: aiohttp.ClientSession) -> None:
        params = {"watch": "1", "resourceVersion": rv}
        async with session.get(
            sandbox.url + "/api/v1/namespaces/default/pods",
            params=params,
            headers=headers,
            ssl=context,
            timeout=aiohttp.ClientTimeout(total=None),
        ) as response:
            async for _line in response.content:
                received[index] += 1
                if received[index] == WATCH_EVENTS:
                    if all(count >= WATCH_EVENTS for count in received):
                        done.set()
                    return

    names = [p["metadata"]["name"] for p in sandbox.store.list("pods", "default")][:WATCH_EVENTS]

    def mutate_all() -> None:
        first.append(time.perf_counter())
        for index, name in enumerate(names):

            def relabel(obj: dict[str, Any], value: str = str(index)) -> None:
                obj["metadata"]["labels"]["bench"] = value

            sandbox.store.mutate("pods", "default", name, relabel)

    async with aiohttp.ClientSession() as session:
        tasks = [
            asyncio.create_task(watcher(i, session), name=f"bench-watcher-{i}")
            for i in range(WATCHERS)
        ]
        await asyncio.sleep(1.0)
        background.call(mutate_all)
        await asyncio.wait_for(done.wait(), 300)
        elapsed = time.perf_counter() - first[0]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    total = sum(received)
    return total / elapsed, total


def kubectl_get(sandbox: Sandbox) -> list[float]:
    kubectl = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which(
        "kubectl"
    )
    if kubectl is None:
        return []
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(
            [kubectl, "--kubeconfig", str(sandbox.kubeconfig_path), "get", "pods", "-A"],
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - start)
    return times


def describe(label: str, values: list[float]) -> None:
    print(
        f"{label:<44} median {statistics.median(values) * 1000:8.1f} ms   "
        f"min {min(values) * 1000:8.1f} ms"
    )


def main() -> None:
    options = SandboxOptions(pods=PODS, nodes=3, network="host", kubelet=False, tls=True)
    background = Background(options)
    with background as sandbox:
        print(f"sandbox with {sandbox.store.count('pods')} pods at {sandbox.url}")
        fetch, decoded, size = asyncio.run(timed_lists(sandbox, "application/json"))
        describe(f"list {PODS} pods, JSON ({size / 1e6:.1f} MB), received", fetch)
        describe(f"list {PODS} pods, JSON, received + decoded", decoded)
        fetch, decoded, size = asyncio.run(timed_lists(sandbox, TABLE))
        describe(f"list {PODS} pods, Table ({size / 1e6:.1f} MB), received", fetch)
        describe(f"list {PODS} pods, Table, received + decoded", decoded)
        times = kubectl_get(sandbox)
        if times:
            describe("kubectl get pods -A (pages of 500), wall", times)
        rate, total = asyncio.run(watch_rate(sandbox, background))
        print(
            f"watch: {total} events to {WATCHERS} watchers, "
            f"{rate:,.0f} events/s delivered ({rate / WATCHERS:,.0f} per watcher)"
        )


if __name__ == "__main__":
    main()
