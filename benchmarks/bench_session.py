"""Time to the first prompt byte of a debug session, minus the sandbox's container start delay.

A sandbox runs in a separate process (as a real API server would), its kubelet delaying
every container start by `START_DELAY`. For each of 20 pod sessions and 20 node sessions,
one after the other, the time from `start()` to the first prompt byte is measured and
the start delay subtracted: what is left is the engine's own overhead (requests, watch,
attach) plus the sandbox's work (netns, process start).

The debug image is mapped to a minimal root filesystem whose shell is dash, which is
ready within a millisecond; as a user would, the benchmark presses Enter as soon as the
session runs and waits for the `# ` prompt. The sandbox's default shell for unknown
images is `bash -l`, whose start-up (a second on a loaded machine) says nothing about
the engine; it is measured too, over fewer runs, for reference.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from retina_tui.kube.client import KubeClient, connect  # noqa: E402
from retina_tui.sessions.node import NodeSession  # noqa: E402
from retina_tui.sessions.pod import PodSession  # noqa: E402
from retina_tui.sessions.session import Session  # noqa: E402
from retina_tui.sessions.specs import NodeSessionSpec, Phase, PodSessionSpec  # noqa: E402
from retina_tui.sessions.stream import AttachStream  # noqa: E402

RUNS = 20
BASH_RUNS = 5
START_DELAY = 0.3
FAST_IMAGE = "bench.local/dash:1"
BASH_IMAGE = "bench.local/host-bash:1"

SANDBOX = """
import asyncio, signal, sys
from pathlib import Path
from retina_tui.sandbox import SandboxOptions, run_sandbox

async def main() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    options = SandboxOptions(
        nodes=2, pods=int(sys.argv[3]), network="auto", start_delay=float(sys.argv[4]),
        rootfs={"bench.local/dash": Path(sys.argv[2])}, kubeconfig_out=Path(sys.argv[1]),
    )
    async with run_sandbox(options):
        await stop.wait()

asyncio.run(main())
"""


def dash_rootfs(directory: Path) -> Path:
    """A root filesystem with only dash (as /bin/sh) and the libraries it needs."""
    root = directory / "rootfs"
    for sub in ("bin", "proc", "dev", "sys", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy2(os.path.realpath("/bin/sh"), root / "bin" / "sh")
    libs = subprocess.run(["ldd", "/bin/sh"], capture_output=True, text=True, check=True)
    for line in libs.stdout.splitlines():
        path = next((part for part in line.split() if part.startswith("/")), None)
        if path:
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(os.path.realpath(path), target)
    return root


Stages = dict[str, list[float]]
ATTACH_SECONDS: list[float] = []


def time_attaches() -> None:
    """Record how long each attach WebSocket takes to open (the engine's part of a stage)."""
    from retina_tui.sessions import session as session_module

    opened = session_module.open_attach

    async def timed(*args: Any, **kwargs: Any) -> AttachStream:
        began = time.perf_counter()
        try:
            return await opened(*args, **kwargs)
        finally:
            ATTACH_SECONDS.append(time.perf_counter() - began)

    session_module.open_attach = timed  # type: ignore[assignment]


async def first_prompt(session: Session, got: asyncio.Event, enter: bool, stages: Stages) -> float:
    """Seconds from start() to the first prompt byte; the session is ended afterwards."""
    began = time.perf_counter()
    cpu = time.process_time()
    marks: dict[str, float] = {}

    def on_phase(phase: Phase) -> None:
        marks.setdefault(phase.kind, time.perf_counter())

    session.on_phase = on_phase
    await session.start()
    attached = time.perf_counter()
    if enter:
        await session.write(b"\r")
    await asyncio.wait_for(got.wait(), 60)
    elapsed = time.perf_counter() - began
    waiting = marks.get("waiting", began)
    stages["before the container is asked for"].append(waiting - began)
    stages["asked for -> attached, minus start delay"].append(attached - waiting - START_DELAY)
    stages["attached -> prompt byte"].append(began + elapsed - attached)
    stages["  of which opening the attach WebSocket"].append(ATTACH_SECONDS[-1])
    stages["CPU time of this (client) process"].append(time.process_time() - cpu)
    await session.write(b"exit 0\r")
    await asyncio.wait_for(session.wait(), 30)
    await session.close()
    return elapsed


async def measure(
    client: KubeClient, kind: str, image: str, runs: int, pods: list[str], node: str
) -> list[float]:
    enter = image == FAST_IMAGE
    samples = []
    stages: Stages = {
        "before the container is asked for": [],
        "asked for -> attached, minus start delay": [],
        "  of which opening the attach WebSocket": [],
        "attached -> prompt byte": [],
        "CPU time of this (client) process": [],
    }
    for _ in range(runs):
        got = asyncio.Event()
        seen = bytearray()

        def on_output(data: bytes, got: asyncio.Event = got, seen: bytearray = seen) -> None:
            seen.extend(data)
            if b"# " in seen:
                got.set()

        session: Session
        if kind == "pod":
            pod_spec = PodSessionSpec(namespace="default", pod=pods[0], image=image)
            session = PodSession(client, pod_spec, on_output=on_output)
        else:
            node_spec = NodeSessionSpec(node=node, namespace="default", image=image)
            session = NodeSession(client, node_spec, on_output=on_output)
        samples.append(await first_prompt(session, got, enter, stages) - START_DELAY)
        # Let the sandbox finish with the previous session (status updates, teardown) so
        # that each run starts from a quiet cluster.
        await asyncio.sleep(0.5)
    for stage, values in stages.items():
        print(f"      {stage}: median {statistics.median(values) * 1000:.1f} ms")
    return samples


def report(what: str, samples: list[float]) -> None:
    ms = sorted(s * 1000 for s in samples)
    print(
        f"{what}: median {statistics.median(ms):.1f} ms "
        f"(min {ms[0]:.1f}, max {ms[-1]:.1f}, {len(ms)} runs)"
    )


async def run(kubeconfig: Path) -> None:
    time_attaches()
    began = time.perf_counter()
    client = await connect(kubeconfig=str(kubeconfig))
    pods = await client.request("GET", "/api/v1/namespaces/default/pods")
    print(
        f"first connect and request (kubeconfig load): {(time.perf_counter() - began) * 1e3:.0f} ms"
    )
    try:
        running = [
            p["metadata"]["name"]
            for p in pods["items"]
            if (p.get("status") or {}).get("phase") == "Running"
        ]
        nodes = await client.request("GET", "/api/v1/nodes")
        node = nodes["items"][0]["metadata"]["name"]
        # The first session in a pod makes the sandbox create its network namespace; a
        # real pod has one already, so that one-time cost is paid before measuring.
        await measure(client, "pod", FAST_IMAGE, 1, running, node)
        print("time to first prompt byte minus the container start delay:")
        for kind in ("pod", "node"):
            samples = await measure(client, kind, FAST_IMAGE, RUNS, running, node)
            report(f"  {kind:4} session, dash", samples)
        for kind in ("pod", "node"):
            samples = await measure(client, kind, BASH_IMAGE, BASH_RUNS, running, node)
            report(f"  {kind:4} session, bash -l (includes its start-up)", samples)
    finally:
        await client.close()


def main() -> None:
    if os.geteuid() != 0:
        print("the sandbox maps images to root filesystems only as root; run as root")
        sys.exit(1)
    with tempfile.TemporaryDirectory(prefix="bench-session-") as tmp:
        directory = Path(tmp)
        kubeconfig = directory / "kubeconfig"
        root = dash_rootfs(directory)
        argv = [
            sys.executable,
            "-c",
            SANDBOX,
            str(kubeconfig),
            str(root),
            str(RUNS),
            str(START_DELAY),
        ]
        sandbox = subprocess.Popen(argv, cwd=ROOT, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while not kubeconfig.exists():
                if sandbox.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the sandbox did not start")
                time.sleep(0.05)
            asyncio.run(run(kubeconfig))
        finally:
            sandbox.send_signal(signal.SIGTERM)
            sandbox.wait(timeout=30)


if __name__ == "__main__":
    main()
