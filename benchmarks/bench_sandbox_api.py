"""Benchmark of the sandbox API server: listing 10,000 pods and fanning watch events out.

The sandbox runs in this process; the clients run in a separate process (so they do not
share the server's GIL) over real HTTPS. Prints the time to list 10,000 pods as JSON and
as kubectl's Table (bytes received; then also decoded by the client), `kubectl get pods
-A` wall time, and the watch events per second delivered to 10 concurrent watchers while
the store changes 5,000 pods as fast as it can.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import shutil
import ssl
import statistics
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp

from retina_tui.sandbox import Sandbox, SandboxOptions, run_sandbox

PODS = 10_000
WATCHERS = 10
WATCH_EVENTS = 5_000
RUNS = 7
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def describe(label: str, values: list[float]) -> None:
    print(
        f"{label:<46} median {statistics.median(values) * 1000:8.1f} ms   "
        f"min {min(values) * 1000:8.1f} ms",
        flush=True,
    )


async def timed_lists(
    url: str, token: str, ca: str, accept: str
) -> tuple[list[float], list[float], int]:
    context = ssl.create_default_context(cadata=ca)
    headers = {"Authorization": f"Bearer {token}", "Accept": accept}
    fetch: list[float] = []
    decoded: list[float] = []
    size = 0
    async with aiohttp.ClientSession() as session:
        for _ in range(RUNS):
            start = time.perf_counter()
            async with session.get(url + "/api/v1/pods", headers=headers, ssl=context) as response:
                body = await response.read()
            fetch.append(time.perf_counter() - start)
            document = json.loads(body)
            decoded.append(time.perf_counter() - start)
            count = len(document.get("items") or document.get("rows") or [])
            assert count >= PODS, count
            size = len(body)
    return fetch, decoded, size


async def watch(url: str, token: str, ca: str, rv: str, pipe: Connection) -> float:
    """Open the watchers, tell the server side, return when the last event arrived."""
    context = ssl.create_default_context(cadata=ca)
    headers = {"Authorization": f"Bearer {token}"}
    received = [0] * WATCHERS
    opened = asyncio.Event()
    connected = [0]

    async def watcher(index: int, session: aiohttp.ClientSession) -> None:
        async with session.get(
            url + "/api/v1/namespaces/default/pods",
            params={"watch": "1", "resourceVersion": rv},
            headers=headers,
            ssl=context,
            timeout=aiohttp.ClientTimeout(total=None),
        ) as response:
            connected[0] += 1
            if connected[0] == WATCHERS:
                opened.set()
            async for _line in response.content:
                received[index] += 1
                if received[index] == WATCH_EVENTS:
                    return

    async with aiohttp.ClientSession() as session:
        tasks = [
            asyncio.create_task(watcher(i, session), name=f"bench-watcher-{i}")
            for i in range(WATCHERS)
        ]
        await opened.wait()
        pipe.send("ready")
        await asyncio.gather(*tasks)
        return time.perf_counter()


def client(url: str, token: str, ca: str, kubeconfig: str, pipe: Connection) -> None:
    """The client process: lists, kubectl, then watches."""
    for label, accept in (("JSON", "application/json"), ("Table", TABLE)):
        fetch, decoded, size = asyncio.run(timed_lists(url, token, ca, accept))
        describe(f"list {PODS} pods, {label} ({size / 1e6:.1f} MB), received", fetch)
        describe(f"list {PODS} pods, {label}, received + decoded", decoded)
    kubectl = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which(
        "kubectl"
    )
    if kubectl:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run(
                [kubectl, "--kubeconfig", kubeconfig, "get", "pods", "-A"],
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - start)
        describe("kubectl get pods -A (pages of 500), wall", times)
    pipe.send("lists-done")
    rv = pipe.recv()
    pipe.send(asyncio.run(watch(url, token, ca, rv, pipe)))


async def serve(sandbox: Sandbox, pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, pipe.recv) == "lists-done"
    pipe.send(sandbox.store.resource_version)
    assert await loop.run_in_executor(None, pipe.recv) == "ready"
    names = [p["metadata"]["name"] for p in sandbox.store.list("pods", "default")][:WATCH_EVENTS]
    start = time.perf_counter()
    for index, name in enumerate(names):

        def relabel(obj: dict[str, Any], value: str = str(index)) -> None:
            obj["metadata"]["labels"]["bench"] = value

        sandbox.store.mutate("pods", "default", name, relabel)
        if index % 100 == 99:
            await asyncio.sleep(0)
    produced = time.perf_counter() - start
    finished = await loop.run_in_executor(None, pipe.recv)
    elapsed = finished - start
    total = WATCH_EVENTS * WATCHERS
    print(
        f"watch: {WATCH_EVENTS} changes in {produced:.2f} s, {total} events to {WATCHERS} "
        f"watchers in {elapsed:.2f} s: {total / elapsed:,.0f} events/s delivered "
        f"({WATCH_EVENTS / elapsed:,.0f} per watcher)",
        flush=True,
    )


async def main() -> None:
    options = SandboxOptions(pods=PODS, nodes=3, network="host", kubelet=False, tls=True)
    async with run_sandbox(options) as sandbox:
        await asyncio.sleep(2)
        print(f"sandbox with {sandbox.store.count('pods')} pods at {sandbox.url}", flush=True)
        ours, theirs = multiprocessing.Pipe()
        process = multiprocessing.get_context("spawn").Process(
            target=client,
            args=(
                sandbox.url,
                sandbox.admin_token,
                (sandbox.ca_pem or b"").decode(),
                str(sandbox.kubeconfig_path),
                theirs,
            ),
        )
        process.start()
        try:
            await serve(sandbox, ours)
        finally:
            await asyncio.get_running_loop().run_in_executor(None, process.join, 60)


if __name__ == "__main__":
    asyncio.run(main())
