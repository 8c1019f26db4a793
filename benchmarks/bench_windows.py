"""A Windows node shell to its prompt, next to a Linux node shell, measured in the same run.

A sandbox with one (simulated) Windows node runs in its own process. The two commands run
in turn under a pty, A B A B ..., and the ratio is taken pair by pair: a HostProcess pod
on a Windows node should cost what a node pod on a Linux node costs (the extra work is
one node read that the Linux path does too, and no extra request).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pexpect

RUNS = int(os.environ.get("RETINA_BENCH_RUNS", "7"))
SHELL = [sys.executable, "-m", "retina_tui", "shell"]
LINUX_PROMPT = re.compile(rb"[#$] (\x1b\[[0-9;?]*[a-zA-Z])*$")
WINDOWS_PROMPT = re.compile(rb"PS C:\\Windows\\system32> (\x1b\[[0-9;?]*[a-zA-Z])*$")


def start_sandbox(directory: Path) -> tuple[subprocess.Popen[bytes], Path]:
    kubeconfig = directory / "kubeconfig"
    argv = [sys.executable, "-m", "retina_tui", "sandbox", "--kubeconfig-out", str(kubeconfig)]
    process = subprocess.Popen(
        [*argv, "--network", "host", "--nodes", "3", "--windows-nodes", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not kubeconfig.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the sandbox did not start")
        time.sleep(0.1)
    return process, kubeconfig


def to_prompt(argv: list[str], prompt: re.Pattern[bytes]) -> float:
    """Seconds from spawning argv under a pty until its output ends in `prompt`."""
    start = time.perf_counter()
    child = pexpect.spawn(argv[0], argv[1:], env={**os.environ, "TERM": "xterm"})
    child.send("\r")
    seen = b""
    while not prompt.search(seen):
        if time.perf_counter() - start > 60:
            child.close(force=True)
            raise SystemExit(f"no prompt from {' '.join(argv)}: {seen[-300:]!r}")
        try:
            seen += child.read_nonblocking(65536, timeout=0.05)
        except pexpect.TIMEOUT:
            continue
    elapsed = time.perf_counter() - start
    child.send("exit\r")
    child.expect(pexpect.EOF, timeout=60)
    child.close()
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        process, kubeconfig = start_sandbox(Path(tmp))
        try:
            common = [*SHELL, "--kubeconfig", str(kubeconfig), "-n", "default"]
            windows = [*common, "node-3"]
            linux = [*common, "node-2"]
            to_prompt(windows, WINDOWS_PROMPT)  # warm the page cache and the sandbox
            pairs = []
            for _ in range(RUNS):
                a = to_prompt(windows, WINDOWS_PROMPT)
                b = to_prompt(linux, LINUX_PROMPT)
                pairs.append((a, b))
        finally:
            process.terminate()
            process.wait(timeout=30)
    a_med = statistics.median(a for a, _ in pairs)
    b_med = statistics.median(b for _, b in pairs)
    ratio = statistics.median(a / b for a, b in pairs)
    print(
        f"shell WINDOWS-NODE to prompt: {a_med:.3f} s; shell LINUX-NODE: {b_med:.3f} s; "
        f"ratio {ratio:.2f} (median of {RUNS} pairs)"
    )


if __name__ == "__main__":
    main()
