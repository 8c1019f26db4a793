"""`retina-tui shell TARGET -- CMD`: a command instead of a shell, as a script runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import pexpect

from tests.fixtures_sandbox import SandboxProcess
from tests.test_shell_cli_pty import (
    debug_pods,
    kubectl_json,
    linux_node,
    running_pod,
    shell_argv,
    spawn,
)


def run(
    sandbox: SandboxProcess, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, *shell_argv(sandbox, *args)],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=120,
    )


def ephemeral_containers(sandbox: SandboxProcess, pod: str) -> list[str]:
    spec = kubectl_json(sandbox, "get", "pod", "-n", "default", pod)["spec"]
    return [c["name"] for c in spec.get("ephemeralContainers") or []]


def test_stdout_stderr_and_the_exit_code_are_the_remote_ones(
    sandbox_cluster: SandboxProcess,
) -> None:
    pod = running_pod(sandbox_cluster)["metadata"]["name"]
    result = run(sandbox_cluster, f"pod/{pod}", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert result.returncode == 3, result.stderr
    assert result.stdout == b"out\n"
    # Progress lines stay off a stderr that is not a terminal: it holds the remote one only.
    assert result.stderr == b"err\n"


def test_piped_stdin_that_ends_ends_the_command(sandbox_cluster: SandboxProcess) -> None:
    pod = running_pod(sandbox_cluster)["metadata"]["name"]
    result = run(sandbox_cluster, f"pod/{pod}", "--", "cat", stdin=b"abc")
    assert (result.returncode, result.stdout) == (0, b"abc"), result.stderr


def test_a_megabyte_of_binary_goes_through_cat_unchanged(sandbox_cluster: SandboxProcess) -> None:
    pod = running_pod(sandbox_cluster)["metadata"]["name"]
    payload = os.urandom(1024 * 1024)
    result = run(sandbox_cluster, f"pod/{pod}", "--", "cat", stdin=payload)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) == len(payload)
    assert result.stdout == payload


def test_later_commands_reuse_the_pods_command_container(sandbox_cluster: SandboxProcess) -> None:
    pod = running_pod(sandbox_cluster)["metadata"]["name"]
    assert run(sandbox_cluster, f"pod/{pod}", "--", "true").returncode == 0
    before = ephemeral_containers(sandbox_cluster, pod)
    second = run(sandbox_cluster, f"pod/{pod}", "--", "hostname")
    assert second.returncode == 0, second.stderr
    assert second.stdout.decode().strip() == pod
    assert ephemeral_containers(sandbox_cluster, pod) == before


def test_a_missing_command_says_so_with_the_shells_code(sandbox_cluster: SandboxProcess) -> None:
    pod = running_pod(sandbox_cluster)["metadata"]["name"]
    result = run(sandbox_cluster, f"pod/{pod}", "--", "no-such-tool")
    assert result.returncode == 127
    assert b"no-such-tool" in result.stderr and b"Traceback" not in result.stderr


def test_a_node_command_runs_on_the_node_and_leaves_no_pod(
    sandbox_cluster: SandboxProcess,
) -> None:
    node = linux_node(sandbox_cluster)
    node_ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    result = run(sandbox_cluster, node["metadata"]["name"], "--", "ip", "-o", "addr")
    assert result.returncode == 0, result.stderr
    assert node_ip in result.stdout.decode()
    assert debug_pods(sandbox_cluster) == []


def test_dash_t_gives_the_command_a_terminal(sandbox_cluster: SandboxProcess) -> None:
    pod = running_pod(sandbox_cluster)["metadata"]["name"]
    child = spawn(sandbox_cluster, f"pod/{pod}", "-t", "--", "sh", "-c", "stty size; exit 4")
    try:
        child.expect_exact("30 100")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 4
    finally:
        child.close(force=True)


def test_command_mode_usage_errors_are_one_line(sandbox_cluster: SandboxProcess) -> None:
    pod = running_pod(sandbox_cluster)["metadata"]["name"]
    reuse = run(sandbox_cluster, f"pod/{pod}", "--reuse", "--", "true")
    assert reuse.returncode == 2
    assert b"--reuse" in reuse.stderr and b"Traceback" not in reuse.stderr
    tty = run(sandbox_cluster, f"pod/{pod}", "-t")
    assert tty.returncode == 2 and b"-t" in tty.stderr
