"""Capture throughput: a UDP flood between two pods, captured by `retina-tui capture` and, as
the anchor, by tcpdump and dumpcap run directly in the same network namespace.

A sandbox runs in its own process. In each round a flood of 1400-byte UDP datagrams goes
from shop/api to shop/web for FLOOD_SECONDS while one of three captures runs on shop/web's
eth0: tcpdump writing to /dev/null in the pod (the anchor), dumpcap writing to /dev/null in
the pod (the tool our capture runs), and `retina-tui capture` streaming it over exec into a
local pcapng file. Printed per capture: packets/s and MB/s captured, the share of the
packets sent that were captured, and the kernel's drop count; then our figures as a ratio
of the anchor's in the same round. Rounds alternate so machine noise hits all three alike.
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
FLOOD_SECONDS = 4
PORT = 9999
FLOOD = f"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
data = b"x" * 1400
end = time.monotonic() + {FLOOD_SECONDS}
n = 0
while time.monotonic() < end:
    for _ in range(64):
        s.sendto(data, (sys.argv[1], {PORT}))
    n += 64
print(n)
"""


def cli(kubeconfig: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "retina_tui",
        *args[:1],
        "--kubeconfig",
        str(kubeconfig),
        *args[1:],
    ]


def in_pod(kubeconfig: Path, pod: str, script: str, caps: str) -> list[str]:
    return cli(
        kubeconfig, "shell", "-n", "shop", f"pod/{pod}", "-c", caps, "--", "sh", "-c", script
    )


def flood(kubeconfig: Path, ip: str) -> int:
    argv = cli(kubeconfig, "shell", "-n", "shop", "pod/api", "--", "python3", "-c", FLOOD, ip)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True)
    return int(done.stdout.split()[-1])


def measure(argv: list[str], kubeconfig: Path, ip: str, ready: str) -> tuple[int, str]:
    """Start a capture, flood once it is ready, stop it; (packets sent, its stderr)."""
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    said: list[str] = []
    while ready not in "".join(said):
        line = process.stderr.readline()
        if not line:
            raise RuntimeError(f"capture ended before it was ready: {''.join(said)}")
        said.append(line)
    time.sleep(0.5)
    sent = flood(kubeconfig, ip)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    rest = process.communicate(timeout=60)[1]
    return sent, "".join(said) + rest


def direct(tool: str) -> str:
    if tool == "tcpdump":
        run = f"tcpdump -Z root -n -i eth0 -w /dev/null udp port {PORT}"
    else:
        run = f"dumpcap -q -P -i eth0 -w /dev/null -f 'udp port {PORT}'"
    # Started in the background so the shell can say it runs; stopped when stdin ends.
    return f"{run} & p=$!; sleep 1; echo ready >&2; read -r _; kill -INT $p; wait $p"


def direct_measure(kubeconfig: Path, ip: str, tool: str) -> tuple[int, int, int]:
    # Debian's tcpdump resets its groups before it captures, which takes SETGID.
    caps = "NET_RAW,SETGID" if tool == "tcpdump" else "NET_RAW"
    argv = in_pod(kubeconfig, "web", direct(tool), caps)
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None and process.stdin is not None
    said: list[str] = []
    while "ready" not in "".join(said):
        line = process.stderr.readline()
        if not line:
            raise RuntimeError(f"{tool} ended before it was ready: {''.join(said)}")
        said.append(line)
    sent = flood(kubeconfig, ip)
    time.sleep(0.5)
    rest = "".join(said) + process.communicate(timeout=60)[1]
    if tool == "tcpdump":
        captured = int(re.search(r"(\d+) packets? captured", rest).group(1))  # type: ignore[union-attr]
        dropped = int(re.search(r"(\d+) packets? dropped by kernel", rest).group(1))  # type: ignore[union-attr]
    else:
        match = re.search(r"Packets received/dropped on interface '[^']*': (\d+)/(\d+)", rest)
        assert match is not None, rest
        captured, dropped = int(match.group(1)), int(match.group(2))
    return sent, captured, dropped


def ours(kubeconfig: Path, ip: str, out: Path) -> tuple[int, int, int, int]:
    argv = cli(
        kubeconfig, "capture", "-n", "shop", "pod/web", "-f", f"udp port {PORT}", "-o", str(out)
    )
    sent, stderr = measure(argv, kubeconfig, ip, "capturing on")
    written = re.search(r"wrote (\d+) packets", stderr)
    dropped = re.search(r"(\d+) dropped by kernel", stderr)
    assert written is not None and dropped is not None, stderr
    return sent, int(written.group(1)), int(dropped.group(1)), out.stat().st_size


def start_sandbox(directory: Path) -> tuple[subprocess.Popen[bytes], Path]:
    kubeconfig = directory / "kubeconfig"
    log = (directory / "sandbox.log").open("wb")
    argv = [
        sys.executable,
        "-m",
        "retina_tui",
        "sandbox",
        "--kubeconfig-out",
        str(kubeconfig),
        "--port",
        "0",
    ]
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 60
    while not kubeconfig.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((directory / "sandbox.log").read_text())
        time.sleep(0.1)
    return process, kubeconfig


def pod_ip(kubeconfig: Path, name: str) -> str:
    kubectl = str(Path(sys.executable).with_name("kubectl"))
    out = subprocess.run(
        [kubectl, "--kubeconfig", str(kubeconfig), "get", "pod", "-n", "shop", name, "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return str(json.loads(out)["status"]["podIP"])


def spread(values: list[float]) -> str:
    return (
        f"min {min(values):,.0f}  median {statistics.median(values):,.0f}  max {max(values):,.0f}"
    )


def main() -> None:
    if os.geteuid() != 0:
        print("bench_capture: needs root (the sandbox's network namespaces); skipped.")
        return
    with tempfile.TemporaryDirectory(prefix="bench-capture-") as tmp:
        directory = Path(tmp)
        process, kubeconfig = start_sandbox(directory)
        try:
            ip = pod_ip(kubeconfig, "web")
            rows: dict[str, list[tuple[int, int, int, int]]] = {
                "tcpdump": [],
                "dumpcap": [],
                "ours": [],
            }
            for round_number in range(ROUNDS):
                for tool in ("tcpdump", "dumpcap"):
                    sent, captured, dropped = direct_measure(kubeconfig, ip, tool)
                    rows[tool].append((sent, captured, dropped, captured * 1442))
                out = directory / f"round{round_number}.pcapng"
                rows["ours"].append(ours(kubeconfig, ip, out))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    print(
        f"UDP flood of 1400-byte datagrams for {FLOOD_SECONDS}s, {ROUNDS} rounds, "
        "shop/api -> shop/web"
    )
    rates: dict[str, list[float]] = {}
    for name, results in rows.items():
        pps = [captured / FLOOD_SECONDS for _sent, captured, _d, _b in results]
        mbs = [size / FLOOD_SECONDS / 1e6 for *_rest, size in results]
        share = [captured / sent for sent, captured, _d, _b in results]
        drops = [dropped for _s, _c, dropped, _b in results]
        rates[name] = pps
        print(f"  {name:8} captured pkts/s {spread(pps)}")
        print(
            f"  {'':8} MB/s {statistics.median(mbs):.1f}  captured/sent median "
            f"{statistics.median(share):.0%}  kernel drops {drops}"
        )
    for anchor in ("tcpdump", "dumpcap"):
        ratios = [o / a for o, a in zip(rates["ours"], rates[anchor], strict=True) if a]
        print(
            f"  ours / {anchor} direct, same round: {', '.join(f'{r:.2f}' for r in ratios)} "
            f"(median {statistics.median(ratios):.2f})"
        )


if __name__ == "__main__":
    main()
