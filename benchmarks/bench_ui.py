"""Benchmark of the TUI on a big, busy cluster.

The sandbox runs in its own process (`retina-tui sandbox --pods 10000 --churn 50`), so
the memory figure is the app's alone. Prints:
- start time to first frame: `retina-tui` started under a pty until its first screen;
- time to first full table: app start until the pods table holds every pod;
- key-handling latency during churn: cursor keys pressed while 50 events/s arrive,
  each measured until the key is handled and the screen updated (median, p95, max);
- filter latency: typing a filter over 10,000 rows;
- peak memory (max RSS) of the app process.
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

PODS = 10_000
CHURN = 100.0
KEYS = 300


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def start_sandbox(directory: Path) -> tuple[subprocess.Popen[bytes], Path]:
    kubeconfig = directory / "kubeconfig"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "retina_tui",
            "sandbox",
            "--kubeconfig-out",
            str(kubeconfig),
            "--pods",
            str(PODS),
            "--churn",
            str(CHURN),
            "--network",
            "host",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not kubeconfig.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the sandbox did not start")
        time.sleep(0.1)
    return process, kubeconfig


def first_frame(kubeconfig: Path) -> float:
    """Seconds from exec of `retina-tui` to its first painted screen (under a pty)."""
    import pexpect

    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    start = time.perf_counter()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "retina_tui", "--kubeconfig", str(kubeconfig)],
        env=env,
        dimensions=(40, 150),
    )
    child.expect("Browser", timeout=60)
    elapsed = time.perf_counter() - start
    child.send("q")
    child.expect(pexpect.EOF, timeout=30)
    return elapsed


async def key_latencies(app: Any) -> tuple[list[float], list[float]]:
    """Seconds from a key event to the frame that shows the cursor on its new row.

    Also returns the CPU seconds this process spent meanwhile (the key, the repaint and
    any watch events that arrived): on a shared, busy machine the wall-clock figure
    mostly measures waiting for a core.
    """
    from textual import events

    table = app.browser.pods
    painted = asyncio.Event()
    before: list[str | None] = [None]
    original = table.render_line

    def render_line(y: int) -> Any:
        # Painted: the line under the cursor is drawn, and the cursor has left its row.
        strip = original(y)
        if int(table.scroll_offset.y) + y - 1 == table._cursor and table.cursor_key != before[0]:
            painted.set()
        return strip

    table.render_line = render_line
    latencies = []
    cpu = []
    for i in range(KEYS):
        key = "j" if (i // 50) % 2 == 0 else "k"
        # Rows coming and going above the cursor move its row up or down; never press
        # into an edge, where the key has nothing to do and nothing is painted.
        if table._cursor == 0:
            key = "j"
        elif table._cursor >= table.row_count - 1:
            key = "k"
        before[0] = table.cursor_key
        painted.clear()
        start = time.perf_counter()
        cpu_start = time.process_time()
        app.post_message(events.Key(key, key))
        await asyncio.wait_for(painted.wait(), 30)
        latencies.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
        await asyncio.sleep(0.02)  # a fast typist, not a flood
    table.render_line = original
    return latencies, cpu


async def in_process(kubeconfig: Path) -> dict[str, float | list[float]]:
    from retina_tui.config import Settings
    from retina_tui.ui.app import ClusterTarget, make_app

    app = make_app(Settings(), target=ClusterTarget(kubeconfig=str(kubeconfig)))
    figures: dict[str, float | list[float]] = {}
    start = time.perf_counter()
    cpu_start = time.process_time()
    async with app.run_test(size=(150, 45)) as pilot:
        while not (app.browser.pods_loaded and app.browser.pods.total_count >= PODS):
            await pilot.pause(0.01)
        await pilot.pause()
        figures["full_table"] = time.perf_counter() - start
        figures["full_table_cpu"] = time.process_time() - cpu_start
        await asyncio.sleep(2)  # churn running, details settled
        figures["keys"], figures["keys_cpu"] = await key_latencies(app)
        table = app.browser.pods
        t0 = time.perf_counter()
        table.set_filter("load-00")
        figures["filter"] = time.perf_counter() - t0
        figures["filtered_rows"] = float(table.row_count)
        await pilot.press("q")
    return figures


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as directory:
        sandbox, kubeconfig = start_sandbox(Path(directory))
        try:
            frame = first_frame(kubeconfig)
            figures = asyncio.run(in_process(kubeconfig))
        finally:
            sandbox.terminate()
            sandbox.wait(30)
    keys = sorted(figures["keys"])  # type: ignore[arg-type]
    p95 = keys[int(len(keys) * 0.95) - 1]
    cpu = sorted(figures["keys_cpu"])  # type: ignore[arg-type]
    cpu_p95 = cpu[int(len(cpu) * 0.95) - 1]
    load = os.getloadavg()[0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bench_ui: sandbox with {PODS} pods and {CHURN:.0f} events/s of churn")
    print(f"  (load average {load:.1f} on {os.cpu_count()} CPUs while measuring)")
    print(f"  start to first frame:          {ms(frame)}")
    print(
        f"  time to first full table:      {ms(figures['full_table'])}"  # type: ignore[arg-type]
        f" (CPU time of the app: {ms(figures['full_table_cpu'])})"  # type: ignore[arg-type]
    )
    print(
        f"  key handling during churn:     median {ms(statistics.median(keys))}, "
        f"p95 {ms(p95)} (target < 100 ms), max {ms(keys[-1])} over {len(keys)} keys"
    )
    print(
        f"  ... CPU time of the app then:  median {ms(statistics.median(cpu))}, p95 {ms(cpu_p95)}"
    )
    print(
        f"  applying a filter:             {ms(figures['filter'])} "  # type: ignore[arg-type]
        f"-> {int(figures['filtered_rows'])} rows"  # type: ignore[arg-type]
    )
    print(f"  peak memory of the app:        {peak:.0f} MB (target < 300 MB)")


if __name__ == "__main__":
    main()
