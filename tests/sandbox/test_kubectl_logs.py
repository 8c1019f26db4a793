"""The real `kubectl logs` and `kubectl events` against the sandbox kubelet and scheduler."""

from __future__ import annotations

import json
import secrets
import selectors
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

TICKER = "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done"


def run_pod(cluster: Any, name: str, script: str, *extra: str) -> None:
    created = cluster.kubectl(
        "run", name, "--image=busybox:1.36", *extra, "--command", "--", "sh", "-c", script
    )
    assert created.returncode == 0, created.stderr


def wait_for(cluster: Any, name: str, condition: str) -> None:
    result = cluster.kubectl("wait", f"--for={condition}", f"pod/{name}", "--timeout=60s")
    assert result.returncode == 0, result.stderr


@pytest.fixture
def ticker(sandbox_cluster: Any) -> Iterator[str]:
    name = f"klogs-{secrets.token_hex(3)}"
    run_pod(sandbox_cluster, name, TICKER, "--restart=Never")
    wait_for(sandbox_cluster, name, "condition=Ready")
    yield name
    sandbox_cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")


def read_lines_until(process: subprocess.Popen[bytes], wanted: bytes, timeout: float) -> bytes:
    """What the process printed until `wanted` appeared (fails after `timeout`)."""
    assert process.stdout is not None
    seen = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while wanted not in seen:
            left = deadline - time.monotonic()
            assert left > 0, f"{wanted!r} not seen in {seen[-500:]!r}"
            if selector.select(left):
                chunk = process.stdout.read1(4096)  # type: ignore[attr-defined]
                assert chunk, f"kubectl ended before {wanted!r}: {seen[-500:]!r}"
                seen += chunk
    return seen


def test_logs_follow_streams_new_lines(sandbox_cluster: Any, ticker: str) -> None:
    argv = ["logs", "-f", ticker]
    process = subprocess.Popen(
        sandbox_cluster.kubectl_argv(*argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        first = read_lines_until(process, b"tick-2\n", 15)
        later = first + read_lines_until(process, b"tick-12\n", 15)
    finally:
        process.terminate()
        process.wait(timeout=10)
    lines = [line for line in later.decode().splitlines() if line]
    numbers = [int(line.removeprefix("tick-")) for line in lines]
    assert numbers == list(range(1, len(numbers) + 1)), lines
    assert numbers[-1] >= 12


def test_logs_tail_since_and_timestamps(sandbox_cluster: Any, ticker: str) -> None:
    wait_lines = sandbox_cluster.kubectl("logs", ticker)
    deadline = time.monotonic() + 15
    while wait_lines.stdout.count("\n") < 8 and time.monotonic() < deadline:
        time.sleep(0.2)
        wait_lines = sandbox_cluster.kubectl("logs", ticker)
    tail = sandbox_cluster.kubectl("logs", ticker, "--tail=2")
    assert tail.returncode == 0, tail.stderr
    assert len(tail.stdout.splitlines()) == 2
    stamped = sandbox_cluster.kubectl("logs", ticker, "--timestamps", "--tail=1")
    stamp, _, text = stamped.stdout.strip().partition(" ")
    assert text.startswith("tick-") and stamp.endswith("Z") and len(stamp) == 30, stamped.stdout
    time.sleep(1.2)
    recent = sandbox_cluster.kubectl("logs", ticker, "--since=1s")
    everything = sandbox_cluster.kubectl("logs", ticker)
    assert recent.returncode == 0, recent.stderr
    assert 0 < len(recent.stdout.splitlines()) < len(everything.stdout.splitlines())
    since_time = sandbox_cluster.kubectl("logs", ticker, f"--since-time={stamp}")
    assert since_time.stdout.splitlines()[0] in (text, *everything.stdout.splitlines()[-12:])


def test_logs_previous_after_a_restart(sandbox_cluster: Any) -> None:
    name = f"klogs-prev-{secrets.token_hex(3)}"
    script = "echo run-$(cat /proc/sys/kernel/random/uuid); sleep 0.5; exit 3"
    run_pod(sandbox_cluster, name, script)
    try:
        none_yet = sandbox_cluster.kubectl("logs", name, "--previous")
        assert none_yet.returncode != 0
        assert "previous terminated container" in none_yet.stderr, none_yet.stderr
        deadline = time.monotonic() + 40
        restarts = 0
        while restarts < 1:
            assert time.monotonic() < deadline, "the container never restarted"
            time.sleep(0.5)
            pod = json.loads(sandbox_cluster.kubectl("get", "pod", name, "-o", "json").stdout)
            statuses = pod["status"].get("containerStatuses") or [{}]
            restarts = statuses[0].get("restartCount", 0)
        wait_for(sandbox_cluster, name, "jsonpath={.status.containerStatuses[0].ready}=true")
        current = sandbox_cluster.kubectl("logs", name)
        previous = sandbox_cluster.kubectl("logs", name, "--previous")
        assert previous.returncode == 0, previous.stderr
        assert previous.stdout.startswith("run-") and current.stdout.startswith("run-")
        assert previous.stdout != current.stdout
    finally:
        sandbox_cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")


def test_logs_of_a_multi_container_pod_need_a_container(sandbox_cluster: Any) -> None:
    name = f"klogs-two-{secrets.token_hex(3)}"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [
                {
                    "name": side,
                    "image": "busybox:1.36",
                    "command": ["sh", "-c", f"echo {side}; sleep 3600"],
                }
                for side in ("left", "right")
            ]
        },
    }
    created = sandbox_cluster.kubectl("create", "-f", "-", input=json.dumps(pod))
    assert created.returncode == 0, created.stderr
    try:
        wait_for(sandbox_cluster, name, "condition=Ready")
        right = sandbox_cluster.kubectl("logs", name, "-c", "right")
        assert right.stdout == "right\n", right.stderr
        both = sandbox_cluster.kubectl("logs", name, "--all-containers", "--prefix")
        assert sorted(both.stdout.splitlines()) == [
            f"[pod/{name}/left] left",
            f"[pod/{name}/right] right",
        ]
        raw = sandbox_cluster.kubectl("get", "--raw", f"/api/v1/namespaces/default/pods/{name}/log")
        assert raw.returncode != 0
        assert "a container name must be specified" in raw.stderr, raw.stderr
    finally:
        sandbox_cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")


def test_events_for_a_pod(sandbox_cluster: Any, ticker: str) -> None:
    result = sandbox_cluster.kubectl("events", "--for", f"pod/{ticker}")
    assert result.returncode == 0, result.stderr
    reasons = [line.split()[2] for line in result.stdout.splitlines()[1:]]
    # kubectl orders by lastTimestamp, whole seconds, so events of one second may swap.
    assert sorted(reasons) == ["Created", "Pulled", "Scheduled", "Started"], result.stdout
    assert "Successfully assigned default/" in result.stdout


def test_a_pull_failure_shows_pulling_failed_and_backoff(sandbox_cluster: Any) -> None:
    name = f"klogs-nopull-{secrets.token_hex(3)}"
    created = sandbox_cluster.kubectl(
        "run", name, "--image=example.com/does-not-exist:1.0", "--restart=Never"
    )
    assert created.returncode == 0, created.stderr
    try:
        deadline = time.monotonic() + 20
        while True:
            events = sandbox_cluster.kubectl(
                "events", "--for", f"pod/{name}", "--types=Warning,Normal"
            )
            reasons = {line.split()[2] for line in events.stdout.splitlines()[1:]}
            if {"Pulling", "Failed", "BackOff"} <= reasons or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert {"Scheduled", "Pulling", "Failed", "BackOff"} <= reasons, events.stdout
        logs = sandbox_cluster.kubectl("logs", name)
        assert logs.returncode != 0
        assert "is waiting to start" in logs.stderr, logs.stderr
    finally:
        sandbox_cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")
