"""Benchmark of the TUI: start-up, a big busy cluster, keys, tab switches, each with its anchor.

Two sandboxes run in their own processes (the memory figures are the app's alone): the
default one (24 pods, with a kubelet, for sessions) and a big one (`--pods 10000 --churn
100`). Printed, each beside its anchor measured in the same run and the ratio:
- whole process under a pty: the first frame (the plain "connecting to" frame), the app's
  own first frame, and the full 24-pod table (the header shows the count and no longer
  "loading"), against `kubectl get pods -A`;
- in process: the 10,000-pod table complete, against `kubectl get pods -A --chunk-size=0`;
  the app's CPU while idle under 100 events/s (percent of one core, over 20 s); the key
  latency p95 there against the same keys on the 24-pod cluster; the CPU of a switch
  between two session tabs (and how many widgets it built).
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pexpect

BIG_PODS = 10_000
CHURN = 100.0
KEYS = 200
RUNS = int(os.environ.get("RETINA_BENCH_RUNS", "5"))
IDLE_SECONDS = 20.0
SANDBOX = [sys.executable, "-m", "retina_tui", "sandbox", "--network", "host"]
STYLE = rb"(?:\x1b\[[0-9;]*m)*"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.0f} ms"


def start_sandbox(directory: Path, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    kubeconfig = directory / "kubeconfig"
    process = subprocess.Popen(
        [*SANDBOX, "--kubeconfig-out", str(kubeconfig), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not kubeconfig.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the sandbox did not start")
        time.sleep(0.1)
    return process, kubeconfig


def start_up(kubeconfig: Path, pods: int) -> tuple[float, float, float]:
    """Seconds to the plain frame, to the app's first frame, to the full table."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    script = str(Path(sys.executable).with_name("retina-tui"))
    start = time.perf_counter()
    child = pexpect.spawn(script, ["--kubeconfig", str(kubeconfig)], env=env, dimensions=(40, 150))
    child.expect("connecting to", timeout=60)
    splash = time.perf_counter() - start
    child.expect("Browser", timeout=60)
    frame = time.perf_counter() - start
    child.expect(rb"pods" + STYLE + rb" " + str(pods).encode() + rb"\b", timeout=60)
    full = time.perf_counter() - start
    child.send("q")
    child.expect(pexpect.EOF, timeout=30)
    return splash, frame, full


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def pod_count(kubeconfig: Path) -> int:
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "get", "pods", "-A", "--no-headers"],
        capture_output=True,
        text=True,
        check=True,
    )
    return len(done.stdout.splitlines())


async def key_latencies(app: Any, count: int) -> list[float]:
    """Seconds from a key event to the frame that shows the cursor on its new row."""
    from textual import events

    table = app.browser.pods
    painted = asyncio.Event()
    before: list[str | None] = [None]
    original = table.render_line

    def render_line(y: int) -> Any:
        strip = original(y)
        if int(table.scroll_offset.y) + y - 1 == table._cursor and table.cursor_key != before[0]:
            painted.set()
        return strip

    table.render_line = render_line
    latencies = []
    for i in range(count):
        key = "j" if (i // 10) % 2 == 0 else "k"
        if table._cursor == 0:
            key = "j"
        elif table._cursor >= table.row_count - 1:
            key = "k"
        before[0] = table.cursor_key
        painted.clear()
        start = time.perf_counter()
        app.post_message(events.Key(key, key))
        await asyncio.wait_for(painted.wait(), 30)
        latencies.append(time.perf_counter() - start)
        await asyncio.sleep(0.02)
    table.render_line = original
    return latencies


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(len(ordered) * 0.95) - 1]


async def big_cluster(kubeconfig: Path, expected: int) -> dict[str, Any]:
    from retina_tui.config import Settings
    from retina_tui.ui.app import ClusterTarget, make_app

    app = make_app(Settings(), target=ClusterTarget(kubeconfig=str(kubeconfig)))
    figures: dict[str, Any] = {}
    start = time.perf_counter()
    async with app.run_test(size=(150, 45)) as pilot:
        while not (app.browser.pods_loaded and app.browser.pods.total_count >= expected):
            await pilot.pause(0.01)
        figures["full"] = time.perf_counter() - start
        await asyncio.sleep(2)
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(IDLE_SECONDS)
        figures["idle"] = (time.process_time() - cpu) / (time.perf_counter() - wall)
        figures["keys"] = await key_latencies(app, KEYS)
        await pilot.press("q")
    return figures


async def small_cluster(kubeconfig: Path) -> dict[str, Any]:
    from textual import events

    from retina_tui.config import Settings
    from retina_tui.ui.app import ClusterTarget, make_app
    from retina_tui.ui.keybar import KeyBar

    app = make_app(Settings(), target=ClusterTarget(kubeconfig=str(kubeconfig)))
    figures: dict[str, Any] = {}
    async with app.run_test(size=(150, 45)) as pilot:
        while not app.browser.pods_loaded:
            await pilot.pause(0.01)
        await asyncio.sleep(1)
        figures["keys"] = await key_latencies(app, KEYS)
        for name in ("web", "client"):
            key = app.browser.find_pod("shop", name)
            while key is None or app.browser.pods.get_row(key).cells[3] != "Running":
                await pilot.pause(0.1)
                key = app.browser.find_pod("shop", name)
            app.workspace.show("browser")
            await pilot.pause()
            app.browser.pods.move_cursor_to(key)
            before = len(app.workspace.panes)
            await pilot.press("s")
            while len(app.workspace.panes) == before or app.workspace.panes[-1].phase.kind != (
                "running"
            ):
                await pilot.pause(0.1)
        await asyncio.sleep(1)
        bar = app.screen.query_one(KeyBar)
        widgets = len(app.screen.query("*"))
        costs = []
        for i in range(20):
            action = "previous_tab" if i % 2 == 0 else "next_tab"
            cpu = time.process_time()
            await app.run_action(action)
            await pilot.pause()
            await pilot.pause(0.02)
            costs.append(time.process_time() - cpu)
        figures["switch"] = costs
        figures["built"] = len(app.screen.query("*")) - widgets
        figures["bar_children"] = len(bar.children)
        app.post_message(events.Key("ctrl+b", None))
        await pilot.pause()
        app.post_message(events.Key("q", "q"))
        await pilot.wait_for_scheduled_animations()
        for _ in range(600):
            if app.return_code is not None:
                break
            await pilot.pause(0.05)
    return figures


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as directory:
        small, small_kc = start_sandbox(Path(directory) / "small")
        big, big_kc = start_sandbox(
            Path(directory) / "big", "--pods", str(BIG_PODS), "--churn", str(CHURN), "--no-kubelet"
        )
        try:
            count = pod_count(small_kc)
            kubectl = ["kubectl", "--kubeconfig"]
            starts, anchors = [], []
            start_up(small_kc, count)
            for _ in range(RUNS):
                starts.append(start_up(small_kc, count))
                anchors.append(timed([*kubectl, str(small_kc), "get", "pods", "-A"]))
            small_figures = asyncio.run(small_cluster(small_kc))
            expected = pod_count(big_kc) - 60
            big_figures, chunkless = [], []
            for _ in range(3):
                big_figures.append(asyncio.run(big_cluster(big_kc, expected)))
                chunkless.append(
                    timed([*kubectl, str(big_kc), "get", "pods", "-A", "--chunk-size=0"])
                )
        finally:
            for process in (small, big):
                process.terminate()
                process.wait(30)
    splash = statistics.median(s for s, _, _ in starts)
    frame = statistics.median(f for _, f, _ in starts)
    full = statistics.median(t for _, _, t in starts)
    anchor = statistics.median(anchors)
    full_ratio = statistics.median(t / a for (_, _, t), a in zip(starts, anchors, strict=True))
    big_full = [f["full"] for f in big_figures]
    big_ratio = statistics.median(f / a for f, a in zip(big_full, chunkless, strict=True))
    idle = statistics.median(f["idle"] for f in big_figures)
    big_p95 = statistics.median(p95(f["keys"]) for f in big_figures)
    small_p95 = p95(small_figures["keys"])
    switch = statistics.median(small_figures["switch"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bench_ui: {RUNS} start-ups on {count} pods; 3 runs on {BIG_PODS} pods, {CHURN:.0f}/s")
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"  first frame (connecting to CONTEXT)   {ms(splash)}")
    print(f"  the app's first frame                 {ms(frame)}")
    print(
        f"  full {count}-pod table                  {ms(full)}   kubectl get pods -A "
        f"{ms(anchor)}   ratio {full_ratio:.2f}"
    )
    print(
        f"  full {BIG_PODS}-pod table (in process)  {ms(statistics.median(big_full))}   "
        f"kubectl --chunk-size=0 {ms(statistics.median(chunkless))}   ratio {big_ratio:.2f}"
    )
    print(f"  idle CPU under {CHURN:.0f} events/s          {idle * 100:6.1f} % of a core")
    print(
        f"  key p95 there                         {ms(big_p95)}   on {count} pods "
        f"{ms(small_p95)}   ratio {big_p95 / small_p95:.2f}"
    )
    print(
        f"  switching session tabs                {ms(switch)} of CPU, "
        f"{small_figures['built']} widgets built, key bar children "
        f"{small_figures['bar_children']}"
    )
    print(f"  peak memory of the app process        {peak:7.0f} MB")


if __name__ == "__main__":
    main()
