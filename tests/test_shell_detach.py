"""A pod debug shell whose client is gone ends by itself (the detach watchdog).

The CLI runs through a real pty against the sandbox subprocess; the container's state is
read with the real kubectl. The limit is set short through the config file.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest

from retina_tui.sessions.watchdog import WRAPPER, heartbeat_path
from tests.fixtures_sandbox import SandboxProcess
from tests.test_shell_cli_pty import reach_prompt, run, running_pod, shell_argv, spawn_cli

LIMIT = 3


def _config(tmp_path: Path, limit: int) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"[debug]\ndetach_timeout_seconds = {limit}\n")
    return path


def _spawn(sandbox: SandboxProcess, config: Path, pod: str) -> pexpect.spawn:
    return spawn_cli([*shell_argv(sandbox, f"pod/{pod}"), "--config", str(config)])


def _debug_container_states(sandbox: SandboxProcess, pod: str) -> dict[str, dict[str, Any]]:
    result = sandbox.kubectl("get", "pod", "-n", "default", pod, "-o", "json", check=True)
    statuses = json.loads(result.stdout)["status"].get("ephemeralContainerStatuses") or []
    return {s["name"]: s.get("state") or {} for s in statuses if s["name"].startswith("rtui-")}


def _running(sandbox: SandboxProcess, pod: str) -> set[str]:
    return {
        name for name, state in _debug_container_states(sandbox, pod).items() if "running" in state
    }


@pytest.mark.timeout(120)
def test_a_killed_client_leaves_a_shell_that_ends_within_the_detach_limit(
    sandbox_cluster: SandboxProcess, tmp_path: Path
) -> None:
    pod = running_pod(sandbox_cluster)["metadata"]["name"]
    before = _running(sandbox_cluster, pod)
    child = _spawn(sandbox_cluster, _config(tmp_path, LIMIT), pod)
    try:
        reach_prompt(child)
        # Kept alive while the client runs: the shell survives several limits.
        time.sleep(3 * LIMIT)
        assert "still-here" in run(child, "echo still-''here")
        (container,) = _running(sandbox_cluster, pod) - before
        child.kill(signal.SIGKILL)
        killed = time.monotonic()
    finally:
        child.close(force=True)
    deadline = killed + 30
    while container in _running(sandbox_cluster, pod):
        assert time.monotonic() < deadline, f"{container} still runs 30 s after its client died"
        time.sleep(0.25)
    lived = time.monotonic() - killed
    state = _debug_container_states(sandbox_cluster, pod)[container]
    assert "terminated" in state, state
    # The last heartbeat came at most one interval before the kill; the watchdog checks
    # every limit/4 seconds and the shell gets its SIGHUP at once.
    assert lived <= LIMIT + 2 + 5, f"the shell lived {lived:.1f} s after its client died"
    # The heartbeat file lived in the container's own /tmp, never on this machine.
    assert not Path(heartbeat_path(container)).exists()
    print(f"\ndetach limit {LIMIT} s: the shell ended {lived:.1f} s after its client was killed")


@pytest.mark.timeout(60)
def test_the_wrapper_ends_a_shell_nobody_keeps_alive_and_spares_one_that_is(
    tmp_path: Path,
) -> None:
    beat = tmp_path / "alive"
    started = time.monotonic()
    orphan = subprocess.run(
        ["sh", "-c", WRAPPER, "retina-tui-shell", "2", str(beat), "sleep", "60"],
        timeout=30,
        check=False,
    )
    assert orphan.returncode == 128 + signal.SIGHUP or orphan.returncode == -signal.SIGHUP
    assert time.monotonic() - started < 20

    kept = subprocess.Popen(["sh", "-c", WRAPPER, "retina-tui-shell", "2", str(beat), "sleep", "6"])
    try:
        while kept.poll() is None:
            beat.touch()
            time.sleep(0.5)
    finally:
        kept.kill()
        kept.wait()
    assert kept.returncode == 0, "a shell whose heartbeat is kept must run to its own end"


def test_a_limit_of_zero_runs_the_shell_without_a_watchdog(tmp_path: Path) -> None:
    done = subprocess.run(
        ["sh", "-c", WRAPPER, "retina-tui-shell", "0", str(tmp_path / "b"), "sh", "-c", "exit 4"],
        timeout=30,
        check=False,
    )
    assert done.returncode == 4
    assert not (tmp_path / "b").exists()


def test_a_reattached_shell_keeps_the_limit_it_was_started_with() -> None:
    from retina_tui.sessions.pod import ephemeral_container
    from retina_tui.sessions.specs import PodSessionSpec
    from retina_tui.sessions.watchdog import watchdog_limit

    started = ephemeral_container(PodSessionSpec("ns", "web", detach_timeout_seconds=120), "rtui-a")
    plain = {"name": "rtui-b", "image": "busybox"}
    pod = {"spec": {"ephemeralContainers": [started, plain]}}
    assert watchdog_limit(pod, "rtui-a") == 120
    assert watchdog_limit(pod, "rtui-b") == 0
    assert watchdog_limit(pod, "rtui-c") == 0
