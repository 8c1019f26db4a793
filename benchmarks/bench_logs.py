"""Logs: reading a big container log, beside `kubectl logs` of the same pod, and drawing it.

An in-process sandbox runs a pod that prints LINES lines. Timed, interleaved over RUNS:
`kubectl logs POD` (the anchor) and our reader (`kube.logs.follow_log`, timestamps on,
as a log tab reads it) until it has every line, beside `kubectl logs --timestamps` (the
same request) and plain `kubectl logs`. The sandbox serves from this process, so its
work on our requests is in our figure, as it is in kubectl's. Then a log tab's view in a
headless app: the time to take every line in batches as a tab does, and the time to draw
a screen of rows at the end of the log and in its middle with a search highlighting,
which is what scrolling costs. Printed: medians, and the reader's ratio to kubectl.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from textual.app import App, ComposeResult

from retina_tui.kube.client import connect
from retina_tui.kube.logs import LogLine, LogSource, follow_log
from retina_tui.sandbox import SandboxOptions, run_sandbox
from retina_tui.ui.log_view import LogView

LINES = int(os.environ.get("RETINA_BENCH_LOG_LINES", "100000"))
RUNS = int(os.environ.get("RETINA_BENCH_RUNS", "5"))
KUBECTL = str(Path(sys.executable).parent / "kubectl")


class Viewer(App[None]):
    def compose(self) -> ComposeResult:
        yield LogView(prefixed=False)


async def kubectl_logs(kubeconfig: Path, *flags: str) -> float:
    start = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        KUBECTL, "--kubeconfig", str(kubeconfig), "logs", "printer", *flags,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await process.communicate()
    elapsed = time.perf_counter() - start
    assert out.count(b"\n") == LINES, out[-200:]
    return elapsed


async def ours(client: object) -> tuple[float, list[LogLine]]:
    start = time.perf_counter()
    lines = [
        line
        async for line in follow_log(
            client,  # type: ignore[arg-type]
            LogSource("default", "printer", "main"),
            follow=False,
        )
    ]
    elapsed = time.perf_counter() - start
    assert len(lines) == LINES, len(lines)
    return elapsed, lines


async def draw(lines: list[LogLine]) -> tuple[float, float, float]:
    app = Viewer()
    async with app.run_test(size=(160, 50)) as pilot:
        view = app.query_one(LogView)
        start = time.perf_counter()
        for index in range(0, len(lines), 1000):
            view.add(lines[index : index + 1000])
        taken = time.perf_counter() - start
        await pilot.pause()
        start = time.perf_counter()
        for y in range(view.size.height):
            view.render_line(y)
        at_end = time.perf_counter() - start
        view.search("line-5")
        view.scroll_to(y=len(lines) // 2, animate=False)
        await pilot.pause()
        start = time.perf_counter()
        for y in range(view.size.height):
            view.render_line(y)
        searched = time.perf_counter() - start
    return taken, at_end, searched


async def main() -> None:
    options = SandboxOptions(nodes=1, pods=0, network="host", start_delay=0.05)
    async with run_sandbox(options) as sandbox:
        client = await connect(kubeconfig=str(sandbox.kubeconfig_path))
        try:
            script = f"seq 1 {LINES} | sed 's/^/line-/'; sleep 3600"
            body = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "printer", "namespace": "default"},
                "spec": {
                    "containers": [
                        {"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", script]}
                    ]
                },
            }
            await client.request("POST", "/api/v1/namespaces/default/pods", body=body)
            while True:
                try:
                    lines = [x async for x in follow_log(
                        client, LogSource("default", "printer", "main"), follow=False
                    )]  # fmt: skip
                except Exception:
                    lines = []
                if len(lines) == LINES:
                    break
                await asyncio.sleep(0.5)
            anchor, stamped, reader = [], [], []
            kept: list[LogLine] = []
            for _ in range(RUNS):
                anchor.append(await kubectl_logs(sandbox.kubeconfig_path))
                stamped.append(await kubectl_logs(sandbox.kubeconfig_path, "--timestamps"))
                elapsed, kept = await ours(client)
                reader.append(elapsed)
        finally:
            await client.close()
    taken, at_end, searched = await draw(kept)
    a, r = statistics.median(anchor), statistics.median(reader)
    s = statistics.median(stamped)
    print(f"log of {LINES} lines, median of {RUNS} interleaved runs (the sandbox in-process)")
    print(f"  kubectl logs                     {a:.3f} s")
    print(f"  kubectl logs --timestamps        {s:.3f} s (anchor: the same request as ours)")
    print(
        f"  retina-tui reader (timestamps)   {r:.3f} s   ratio {r / s:.2f} ({r / a:.2f} to plain)"
    )
    print(f"  log view takes every line        {taken:.3f} s (batches of 1000)")
    print(f"  a 50-row screen at the end       {at_end * 1000:.2f} ms")
    print(f"  a 50-row screen, mid-log, search {searched * 1000:.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
