"""A shell whose pod is deleted under it says who deleted it and why.

The scenario seen in the field: a `retina-tui shell` process stalls (here SIGSTOP, as a
laptop lid or a hung network does), its Lease is not renewed, and another process's
`retina-tui gc` rightly deletes the node pod. When the process resumes, its session must
say that, not end with a bare exit status.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from tests.fixtures_sandbox import SandboxProcess
from tests.test_shell_cli_pty import debug_pods, linux_node, reach_prompt, shell_argv, spawn


@pytest.mark.timeout(120)
def test_a_node_pod_reaped_during_a_stall_is_explained(
    sandbox_cluster: SandboxProcess, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[supervisor]\nrenew_interval_seconds = 1\n")
    child = spawn(sandbox_cluster, linux_node(sandbox_cluster)["metadata"]["name"], "--config",
                  str(config))  # fmt: skip
    try:
        reach_prompt(child)
        (pod,) = debug_pods(sandbox_cluster)
        os.kill(child.pid, signal.SIGSTOP)
        try:
            time.sleep(5)  # longer than 3 lease durations of 1 s: the instance looks dead
            gc = subprocess.run(
                [sys.executable, *shell_argv(sandbox_cluster)[:2], "gc", "--kubeconfig",
                 str(sandbox_cluster.kubeconfig), "-n", "default", "--config", str(config)],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
        finally:
            os.kill(child.pid, signal.SIGCONT)
        assert gc.returncode == 0, gc.stderr
        assert f"deleted pod default/{pod}" in gc.stdout
        child.expect_exact("was deleted by another retina-tui's cleanup after this instance's")
        child.expect_exact("Lease expired")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 1
    finally:
        child.close(force=True)
    assert debug_pods(sandbox_cluster) == []
