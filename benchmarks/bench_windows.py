"""A Windows node shell to its prompt, next to a Linux node shell, measured in the same run.

A sandbox with one (simulated) Windows node runs in its own process. The two commands run
in turn under a pty, A B A B ..., and the ratio is taken pair by pair: a HostProcess pod
on a Windows node should cost what a node pod on a Linux node costs (the extra work is
one node read that the Linux path does too, and no extra request).
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from bench_startup import RUNS, medians, start_sandbox, to_prompt

SHELL = [sys.executable, "-m", "retina_tui", "shell"]
WINDOWS_PROMPT = re.compile(rb"PS C:\\Windows\\system32> (\x1b\[[0-9;?]*[a-zA-Z])*$")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        process, kubeconfig = start_sandbox(Path(tmp), "--nodes", "3", "--windows-nodes", "1")
        try:
            common = [*SHELL, "--kubeconfig", str(kubeconfig), "-n", "default"]
            windows, linux = [*common, "node-3"], [*common, "node-2"]
            to_prompt(windows, WINDOWS_PROMPT)  # warm the page cache and the sandbox
            pairs = [(to_prompt(windows, WINDOWS_PROMPT), to_prompt(linux)) for _ in range(RUNS)]
        finally:
            process.terminate()
            process.wait(timeout=30)
    a_med, b_med, ratio = medians(pairs)
    print(
        f"shell WINDOWS-NODE to prompt: {a_med:.3f} s; shell LINUX-NODE: {b_med:.3f} s; "
        f"ratio {ratio:.2f} (median of {RUNS} pairs)"
    )


if __name__ == "__main__":
    main()
