"""Benchmark of the sandbox under long churn: memory over time, then the time to stop.

`retina-tui sandbox --churn 100` runs in its own process with two watchers on it
(`kubectl get pods -A -w` and a raw watch of the churn namespace) for MINUTES minutes
(environment RETINA_BENCH_MINUTES, default 30). Its RSS is sampled every SAMPLE seconds;
printed: RSS at 1, 2, 5, 10, 20 and 30 minutes, the last as a ratio of the 2-minute figure
(by then the 75 s watch window is full; flat means within 10 %), then how long SIGTERM
takes to stop it and whether its output has a traceback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHURN = 100
SAMPLE = 10.0
SANDBOX = [sys.executable, "-m", "retina_tui", "sandbox", "--network", "host"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    minutes = float(os.environ.get("RETINA_BENCH_MINUTES", "30"))
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        log = Path(tmp) / "sandbox.log"
        with log.open("wb") as out:
            sandbox = subprocess.Popen(
                [*SANDBOX, "--kubeconfig-out", str(kubeconfig), "--churn", str(CHURN)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while not kubeconfig.exists():
            if sandbox.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the sandbox did not start")
            time.sleep(0.1)
        kubectl = ["kubectl", "--kubeconfig", str(kubeconfig)]
        watchers = [
            subprocess.Popen([*kubectl, "get", "pods", "-A", "-w"], stdout=subprocess.DEVNULL),
            subprocess.Popen(
                [*kubectl, "get", "--raw", "/api/v1/namespaces/churn/pods?watch=1"],
                stdout=subprocess.DEVNULL,
            ),
        ]
        samples: list[tuple[float, float]] = []
        start = time.monotonic()
        try:
            while time.monotonic() - start < minutes * 60:
                time.sleep(SAMPLE)
                samples.append((time.monotonic() - start, rss_mb(sandbox.pid)))
            stop_started = time.monotonic()
            sandbox.send_signal(signal.SIGTERM)
            sandbox.wait(timeout=60)
            stop_seconds = time.monotonic() - stop_started
        finally:
            for watcher in watchers:
                watcher.kill()
                watcher.wait()
            if sandbox.poll() is None:
                sandbox.kill()
                sandbox.wait()
        output = log.read_text(errors="replace")

    def at(minute: float) -> float:
        return next((mb for when, mb in samples if when >= minute * 60), samples[-1][1])

    warm = at(2)
    last = samples[-1][1]
    print(f"bench_sandbox_memory: --churn {CHURN} for {minutes:g} min, two watchers")
    for minute in (1, 2, 5, 10, 20, 30):
        if minute <= minutes:
            print(f"  RSS at {minute:2d} min          {at(minute):8.1f} MB")
    print(f"  RSS largest           {max(mb for _, mb in samples):8.1f} MB")
    print(f"  RSS at the end        {last:8.1f} MB   ratio to 2 min {last / warm:.3f}")
    print(f"  stop on SIGTERM       {stop_seconds:8.2f} s    exit status {sandbox.returncode}")
    print(f"  traceback in output   {'yes' if 'Traceback' in output else 'no'}")
    if "Traceback" in output:
        print(output[-3000:])


if __name__ == "__main__":
    main()
