"""`retina-tui forward` on the session sandbox: kubectl's lines, curl through it, its signals,
and one-line refusals with their exit status."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.fixtures_sandbox import SandboxProcess

WAIT = 60


def forward_argv(sandbox: SandboxProcess, *args: str) -> list[str]:
    return [sys.executable, "-m", "retina_tui", "forward", "--kubeconfig", str(sandbox.kubeconfig),
            *args]  # fmt: skip


@contextmanager
def forwarding(sandbox: SandboxProcess, *args: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """The command running, and the local port of its first "Forwarding from" line."""
    process = subprocess.Popen(
        forward_argv(sandbox, *args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\w+)$", line.strip())
        assert match, f"{line!r} {process.stderr.read() if process.poll() is not None else ''}"
        yield process, int(match.group(1))
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def wait_web(sandbox: SandboxProcess) -> None:
    done = sandbox.kubectl(
        "wait", "-n", "shop", "--for=condition=Ready", "pod/web", f"--timeout={WAIT}s"
    )
    assert done.returncode == 0, done.stderr


def curl(port: int) -> str:
    """What `curl` says of http://127.0.0.1:PORT/: its status code, or why it failed."""
    done = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
         f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, timeout=WAIT,
    )  # fmt: skip
    return done.stdout if done.returncode == 0 else f"curl failed: {done.stderr.strip()}"


def served(port: int) -> None:
    """Wait until the pod's server answers (its container is ready before it listens)."""
    deadline = time.monotonic() + WAIT
    while curl(port) != "200":
        assert time.monotonic() < deadline, f"nothing answered HTTP through port {port}"
        time.sleep(0.1)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_service_forward_answers_two_requests_until_a_signal(
    sandbox_cluster: SandboxProcess, signum: int
) -> None:
    wait_web(sandbox_cluster)
    with forwarding(sandbox_cluster, "svc/web", ":80", "-n", "shop") as (process, port):
        served(port)
        assert curl(port) == "200"
        assert curl(port) == "200"
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"Handling connection for {port}"
        process.send_signal(signum)
        assert process.wait(timeout=WAIT) == 128 + signum
        _, err = process.communicate()
        assert "Traceback" not in err, err
    assert "Couldn't connect" in curl(port)


def test_two_ports_of_a_pod_and_the_error_for_a_closed_one(
    sandbox_cluster: SandboxProcess,
) -> None:
    wait_web(sandbox_cluster)
    with forwarding(sandbox_cluster, "pod/web", ":http", ":8099", "-n", "shop") as (process, port):
        assert process.stdout is not None
        second = process.stdout.readline()
        closed = int(re.findall(r":(\d+) -> 8099", second)[0])
        served(port)
        assert curl(closed).startswith("curl failed")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT) == 128 + signal.SIGTERM
        _, err = process.communicate()
        assert "pod/web:" in err and "8099" in err and "refused" in err, err


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("deploy/web", "80"), 2, "is not something to forward to; give pod/NAME or svc/NAME."),
        (("pod/web", "80000"), 2, "is not a port to forward"),
        (("pod/web",), 2, "Say which ports to forward"),
        (("pod/ghost", "80", "-n", "shop"), 1, "pod/ghost was not found in namespace shop"),
        (("svc/web", "81", "-n", "shop"), 1, "svc/web has no port 81"),
    ],
)
def test_bad_forwards_are_one_line_and_a_status(
    sandbox_cluster: SandboxProcess, args: tuple[str, ...], code: int, words: str
) -> None:
    started = time.monotonic()
    done = subprocess.run(
        forward_argv(sandbox_cluster, *args),
        capture_output=True, text=True, timeout=WAIT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("retina-tui: ") and words in lines[0], lines
    assert time.monotonic() - started < WAIT
