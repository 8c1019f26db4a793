"""Keystroke echo: a key typed into a session until its echo is on the terminal.

A sandbox runs in its own process. Both programs run under a real pty whose output is
fed to a terminal emulator (pyte): `kubectl exec -it web -- sh` (the anchor) and the
browser, `retina-tui`, with a shell opened on the same pod from its table (filter
`/web`, Enter, `s`). Letters are typed one at a time at a typist's pace; each is timed
from the write to the moment the emulated screen shows the typed text. Printed: the
median and p95 of each, and the ratio of the medians.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pexpect
import pyte

KEYS = int(os.environ.get("RETINA_BENCH_KEYS", "60"))
COLUMNS, LINES = 150, 40
LETTERS = "abcdefghijklmnopqrstuvwxyz"


class Terminal:
    """A program under a pty, with what it drew on an emulated screen."""

    def __init__(self, argv: list[str]) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        env["TERM"] = "xterm-256color"
        self.child = pexpect.spawn(argv[0], argv[1:], env=env, dimensions=(LINES, COLUMNS))
        self.child.delaybeforesend = None  # pexpect sleeps 50 ms before each write otherwise
        self.screen = pyte.Screen(COLUMNS, LINES)
        self.stream = pyte.ByteStream(self.screen)

    def pump(self, timeout: float) -> None:
        try:
            self.stream.feed(self.child.read_nonblocking(1 << 20, timeout=timeout))
        except pexpect.TIMEOUT:
            return

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, what: str, limit: float = 60.0) -> None:
        deadline = time.monotonic() + limit
        while what not in self.text():
            if time.monotonic() > deadline:
                raise SystemExit(f"never saw {what!r}:\n{self.text()}")
            self.pump(0.05)

    def settle(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.pump(0.02)

    def echo_times(self, count: int) -> list[float]:
        typed = ""
        times = []
        for i in range(count):
            letter = LETTERS[i % len(LETTERS)]
            typed += letter
            start = time.perf_counter()
            self.child.send(letter)
            while typed not in self.text():
                self.pump(0.001)
                if time.perf_counter() - start > 10:
                    raise SystemExit(f"no echo of {letter!r}:\n{self.text()}")
            times.append(time.perf_counter() - start)
            self.settle(0.05)
            if len(typed) >= 40:  # a new line, a fresh prompt
                self.child.send("\x15")  # Ctrl-U: the line is erased, nothing runs
                self.settle(0.2)
                typed = ""
        return times

    def close(self) -> None:
        self.child.close(force=True)


def start_sandbox(directory: Path) -> tuple[subprocess.Popen[bytes], Path]:
    kubeconfig = directory / "kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "-m", "retina_tui", "sandbox", "--kubeconfig-out", str(kubeconfig)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not kubeconfig.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the sandbox did not start")
        time.sleep(0.1)
    return process, kubeconfig


def kubectl_echo(kubeconfig: Path) -> list[float]:
    kubectl = ["kubectl", "--kubeconfig", str(kubeconfig)]
    term = Terminal([*kubectl, "exec", "-it", "-n", "shop", "web", "--", "sh"])
    try:
        term.settle(2.0)
        term.child.send("\r")
        term.settle(1.0)
        return term.echo_times(KEYS)
    finally:
        term.close()


def tui_echo(kubeconfig: Path) -> list[float]:
    script = str(Path(sys.executable).with_name("retina-tui"))
    term = Terminal([script, "--kubeconfig", str(kubeconfig)])
    try:
        term.wait_for("web")
        term.settle(1.0)
        for key in "/web":
            term.child.send(key)
            term.settle(0.3)
        term.child.send("\r")
        term.settle(0.5)
        term.child.send("s")
        term.wait_for("pod shop/web")
        term.settle(3.0)
        term.child.send("\r")
        term.settle(1.0)
        return term.echo_times(KEYS)
    finally:
        term.close()


def describe(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    median = statistics.median(values)
    return f"  {label:<32} median {median * 1000:6.1f} ms   p95 {p95 * 1000:6.1f} ms"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-echo-") as tmp:
        sandbox, kubeconfig = start_sandbox(Path(tmp))
        try:
            time.sleep(3)  # the kubelet starts the pods
            anchor = kubectl_echo(kubeconfig)
            ours = tui_echo(kubeconfig)
            anchor += kubectl_echo(kubeconfig)
        finally:
            sandbox.terminate()
            sandbox.wait(60)
    print(f"bench_echo: {len(ours)} keys in a TUI session, {len(anchor)} in kubectl exec -it")
    print(describe("retina-tui session", ours))
    print(describe("kubectl exec -it (anchor)", anchor))
    ratio = statistics.median(ours) / statistics.median(anchor)
    print(f"  ratio of the medians             {ratio:.2f}")


if __name__ == "__main__":
    main()
