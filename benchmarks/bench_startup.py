"""Whole-process start-up figures against kubectl, measured in the same run.

A sandbox runs in its own process (0.3 s container start delay, as by default). Each
figure is a pair of commands started in turn under a pty, A B A B ..., the ratio taken
pair by pair (the machine's speed drifts; pairing keeps the ratio meaningful):
- `retina-tui shell pod/web` to its prompt vs `kubectl debug -it web --image=IMG -- bash -l`;
- `retina-tui shell node-2` to its prompt vs `kubectl debug node/node-2 -it -- bash -l`;
- `retina-tui --version` and `--help` vs `kubectl version --client`.
Enter is typed at once in every run (a shell's first prompt can come before a client
attaches, and kubectl then shows none), and "to the prompt" means until a `# ` or `$ `
ends the output. Then the import profile of the shell's hot path (`-X importtime`,
the ten most costly top-level imports).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pexpect

RUNS = int(os.environ.get("RETINA_BENCH_RUNS", "7"))
IMAGE = "ghcr.io/retina-tui/debug:bench"
SANDBOX = [sys.executable, "-m", "retina_tui", "sandbox"]
DEBUG_BASH = [f"--image={IMAGE}", "--", "bash", "-l"]
PROMPT = re.compile(rb"[#$] (\x1b\[[0-9;?]*[a-zA-Z])*$")


def start_sandbox(directory: Path, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    kubeconfig = directory / "kubeconfig"
    process = subprocess.Popen(
        [*SANDBOX, "--kubeconfig-out", str(kubeconfig), "--network", "host", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not kubeconfig.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the sandbox did not start")
        time.sleep(0.1)
    return process, kubeconfig


def to_prompt(argv: list[str], prompt: re.Pattern[bytes] = PROMPT) -> float:
    """Seconds from spawning argv under a pty until its output ends in `prompt`."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    start = time.perf_counter()
    child = pexpect.spawn(argv[0], argv[1:], env=env, dimensions=(40, 120))
    child.send("\r")
    seen = b""
    deadline = start + 60
    while not prompt.search(seen):
        if time.perf_counter() > deadline:
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


def run_once(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def medians(pairs: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Each side's median and the median of the pair-by-pair ratios."""
    ours = statistics.median(x for x, _ in pairs)
    theirs = statistics.median(y for _, y in pairs)
    return ours, theirs, statistics.median(x / y for x, y in pairs)


def paired(label: str, a: Callable[[], float], b: Callable[[], float], anchor: str) -> None:
    a(), b()
    ours, theirs, ratio = medians([(a(), b()) for _ in range(RUNS)])
    print(
        f"  {label:<34} {ours * 1000:7.0f} ms   {anchor:<38} {theirs * 1000:7.0f} ms   "
        f"ratio {ratio:.2f}",
        flush=True,
    )


def import_profile(kubeconfig: Path) -> None:
    probe = (
        "import asyncio\n"
        "from retina_tui.commands import shell_main\n"
        "from retina_tui.kube.client import connect\n"
        "from retina_tui.config import load_settings\n"
        "from retina_tui.sessions.pod import PodSession\n"
        "from retina_tui.sessions.node import NodeSession\n"
        "from retina_tui.supervisor import Supervisor\n"
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", probe], capture_output=True, text=True
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].startswith(" ") and not parts[2].startswith("  "):
            try:
                rows.append((int(parts[1]), parts[2].strip()))
            except ValueError:
                continue
    total = sum(us for us, _ in rows)
    print(f"  imports of the shell's hot path: {total / 1000:.0f} ms in all; the largest:")
    for us, name in sorted(rows, reverse=True)[:10]:
        print(f"    {us / 1000:7.1f} ms  {name}")
    generated = [name for _, name in rows if name.startswith("kubernetes_asyncio")]
    print(f"  kubernetes_asyncio imported: {'yes' if generated else 'no'}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sandbox, kubeconfig = start_sandbox(Path(tmp))
        kc = ["--kubeconfig", str(kubeconfig)]
        ours = [str(Path(sys.executable).with_name("retina-tui"))]
        kubectl = ["kubectl", *kc]
        try:
            print(f"bench_startup: {RUNS} pairs each, medians and the median of pair ratios")
            paired(
                "retina-tui shell pod/web",
                lambda: to_prompt([*ours, "shell", *kc, "-n", "shop", "--image", IMAGE, "pod/web"]),
                lambda: to_prompt([*kubectl, "debug", "-it", "-n", "shop", "web", *DEBUG_BASH]),
                "kubectl debug -it pod (bash -l)",
            )
            paired(
                "retina-tui shell node-2",
                lambda: to_prompt([*ours, "shell", *kc, "--image", IMAGE, "node-2"]),
                lambda: to_prompt([*kubectl, "debug", "node/node-2", "-it", *DEBUG_BASH]),
                "kubectl debug node/N -it (bash -l)",
            )
            paired(
                "retina-tui --version",
                lambda: run_once([*ours, "--version"]),
                lambda: run_once([*kubectl, "version", "--client"]),
                "kubectl version --client",
            )
            paired(
                "retina-tui --help",
                lambda: run_once([*ours, "--help"]),
                lambda: run_once([*kubectl, "version", "--client"]),
                "kubectl version --client",
            )
            import_profile(kubeconfig)
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=60)


if __name__ == "__main__":
    main()
