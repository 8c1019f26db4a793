"""`retina-tui forward` against `kubectl port-forward`, the same Service, the same run.

A sandbox runs in its own process, pods in their own network namespaces. Both forwards
listen at once on svc/web (shop); then, batch by batch, A B A B ..., each makes
sequential HTTP GETs, one new connection each (what a browser or curl in a loop does),
and the ratio is taken batch pair by batch pair.
Then the bytes of one large response through each, and what each does after the sandbox
drops every stream (SIGUSR1): kubectl's ends, ours answers the next connection.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench_startup import medians, start_sandbox

BATCHES = int(os.environ.get("RETINA_BENCH_RUNS", "7"))
REQUESTS = 30
FORWARD_LINE = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) ->")


def start(argv: list[str]) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = FORWARD_LINE.search(line)
    if match is None:
        process.kill()
        _, err = process.communicate()
        raise SystemExit(f"{argv[:5]} did not start forwarding: {line!r} {err}")
    return process, int(match.group(1))


def get(port: int, path: str = "/") -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
        return len(answer.read())


def batch(port: int) -> float:
    """Seconds per request over REQUESTS sequential requests."""
    started = time.perf_counter()
    for _ in range(REQUESTS):
        get(port)
    return (time.perf_counter() - started) / REQUESTS


def answers(port: int) -> bool:
    try:
        get(port)
    except OSError:
        return False
    return True


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sandbox, kubeconfig = start_sandbox(Path(tmp), "--network", "auto")
        ours = kubectl = None
        try:
            subprocess.run(
                ["kubectl", "--kubeconfig", str(kubeconfig), "wait", "-n", "shop",
                 "--for=condition=Ready", "pod/web", "--timeout=60s"],
                check=True, capture_output=True,
            )  # fmt: skip
            ours, our_port = start(
                [sys.executable, "-m", "retina_tui", "forward", "--kubeconfig", str(kubeconfig),
                 "-n", "shop", "svc/web", ":80"]
            )  # fmt: skip
            kubectl, kube_port = start(
                ["kubectl", "--kubeconfig", str(kubeconfig), "port-forward", "-n", "shop",
                 "svc/web", ":80"]
            )  # fmt: skip
            batch(our_port), batch(kube_port)  # warm both
            pairs = [(batch(our_port), batch(kube_port)) for _ in range(BATCHES)]
            big = "/usr/bin/python3"
            sizes = []
            for port in (our_port, kube_port):
                started = time.perf_counter()
                size = get(port, big) if answers(port) else 0
                sizes.append((size, time.perf_counter() - started))
            os.kill(sandbox.pid, signal.SIGUSR1)
            time.sleep(1.0)
            after = (answers(our_port), kubectl.poll() is None and answers(kube_port))
        finally:
            for process in (ours, kubectl):
                if process is not None and process.poll() is None:
                    process.terminate()
                    process.wait(timeout=30)
            sandbox.terminate()
            sandbox.wait(timeout=30)
    a, b, ratio = medians(pairs)
    print(
        f"new connection + HTTP GET through the forward: retina-tui {a * 1000:.1f} ms, "
        f"kubectl port-forward {b * 1000:.1f} ms; ratio {ratio:.2f} "
        f"(median of {BATCHES} batch pairs of {REQUESTS} requests)"
    )
    for name, (size, seconds) in zip(("retina-tui", "kubectl"), sizes, strict=True):
        rate = size / seconds / 1e6 if seconds and size else 0.0
        print(f"one {size / 1e6:.1f} MB response through {name}: {seconds:.3f} s, {rate:.0f} MB/s")
    print(
        "after the sandbox dropped every stream (SIGUSR1): "
        f"retina-tui {'answers' if after[0] else 'does not answer'}, "
        f"kubectl {'answers' if after[1] else 'does not answer'}"
    )


if __name__ == "__main__":
    main()
