"""`retina-tui shell` with input that is not a terminal: end of input ends the session.

A tty in a container does not pass a closed stdin on, so without care `shell NODE
</dev/null` would wait for ever; these run the real CLI against the sandbox subprocess
with /dev/null, a closed pipe and piped commands as its stdin.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.fixtures_sandbox import SandboxProcess
from tests.test_shell_cli_pty import debug_pods, linux_node, running_pod, shell_argv

WAIT = 60


def run_shell(
    sandbox: SandboxProcess, target: str, *, stdin: int | None = None, text: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, *shell_argv(sandbox, target)],
        stdin=stdin,
        input=text,
        capture_output=True,
        timeout=WAIT,
    )


@pytest.mark.timeout(WAIT + 30)
def test_node_shell_with_stdin_at_end_of_input_ends_and_deletes_its_pod(
    sandbox_cluster: SandboxProcess,
) -> None:
    result = run_shell(
        sandbox_cluster, linux_node(sandbox_cluster)["metadata"]["name"], stdin=subprocess.DEVNULL
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"Traceback" not in result.stderr
    assert debug_pods(sandbox_cluster) == []


@pytest.mark.timeout(WAIT + 30)
def test_node_shell_with_a_closed_pipe_ends(sandbox_cluster: SandboxProcess) -> None:
    result = run_shell(sandbox_cluster, linux_node(sandbox_cluster)["metadata"]["name"], text=b"")
    assert result.returncode == 0, result.stderr.decode()
    assert debug_pods(sandbox_cluster) == []


@pytest.mark.timeout(WAIT + 30)
def test_piped_commands_run_and_the_session_ends_with_the_shell(
    sandbox_cluster: SandboxProcess,
) -> None:
    pod = running_pod(sandbox_cluster)["metadata"]["name"]
    result = run_shell(sandbox_cluster, f"pod/{pod}", text=b"echo h''i\n")
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.replace(b"\x1b[?2004l", b"").split(b"\n")
    assert b"hi" in [line.strip(b"\r") for line in lines], result.stdout


@pytest.mark.timeout(WAIT + 30)
def test_a_last_line_without_newline_still_runs(sandbox_cluster: SandboxProcess) -> None:
    node = linux_node(sandbox_cluster)["metadata"]["name"]
    result = run_shell(sandbox_cluster, node, text=b"echo d''one; exit 4")
    assert result.returncode == 4, result.stderr.decode()
    assert b"done" in result.stdout
    assert debug_pods(sandbox_cluster) == []
