"""The installed TUI, in tmux, leaves nothing behind however it is ended.

A person opens a node session with the keys (`n` for the nodes view, `s` for a session)
and waits for the shell's prompt; then the app is ended by SIGTERM, or by closing its
terminal window (tmux hangs up the pty and sends SIGHUP). What is checked is what a
person would check: kubectl shows neither the node debug pod nor the Lease, the
terminal is back to the shell, and the exit status is 128 + the signal. The demo,
ended either way, leaves none of its network namespaces.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_sandbox import SandboxProcess, sandbox_process
from tests.ui.tmux_app import TmuxApp, process_gone, wait_until

INSTANCE_LABEL = "retina-tui.io/instance"
BOUND = 10.0  # the default ui.shutdown_timeout_seconds


@pytest.fixture
def tmux() -> Iterator[TmuxApp]:
    app = TmuxApp(f"retina-tui-exit-{os.getpid()}-{secrets.token_hex(2)}")
    yield app
    app.kill_server()


def owned(sandbox: SandboxProcess, kind: str, instance: str) -> list[str]:
    """Names of the pods or leases of one retina-tui instance, in every namespace."""
    result = sandbox.kubectl(
        "get", kind, "-A", "-l", f"{INSTANCE_LABEL}={instance}", "-o", "json", check=True
    )
    items: list[dict[str, Any]] = json.loads(result.stdout)["items"]
    return [f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in items]


def start_with_node_session(
    tmux: TmuxApp, sandbox: SandboxProcess, tmp_path: Path, config: str = ""
) -> tuple[str, int]:
    """Start the TUI on the sandbox, open a node session by keys; (instance id, pid)."""
    instance = f"exit{secrets.token_hex(3)}"
    config_file = tmp_path / "config.toml"
    config_file.write_text(config)
    tmux.start(
        ["--kubeconfig", str(sandbox.kubeconfig)],
        {"RETINA_TUI_CONFIG": str(config_file), "RETINA_TUI_INSTANCE": instance},
    )
    tmux.wait_for(lambda s: "context admin" in s and "load-0000" in s, "the pods table")
    tmux.keys("n")
    tmux.wait_for(lambda s: "nodes " in s and "node-1" in s and "Ready" in s, "the nodes table")
    tmux.keys("s")
    tmux.wait_for(lambda s: "root@node-" in s and "#" in s, "the node shell's prompt")
    assert len(owned(sandbox, "pods", instance)) == 1
    assert len(owned(sandbox, "leases", instance)) == 1
    return instance, tmux.app_pid()


@pytest.mark.timeout(120)
def test_sigterm_deletes_the_node_pod_and_lease_and_restores_the_terminal(
    tmux: TmuxApp, sandbox_cluster: SandboxProcess, tmp_path: Path
) -> None:
    instance, pid = start_with_node_session(tmux, sandbox_cluster, tmp_path)
    assert tmux.alternate_on()
    os.kill(pid, signal.SIGTERM)
    screen = tmux.wait_for(lambda s: "EXITED=" in s, "the app to exit", limit=BOUND)
    assert f"EXITED={128 + signal.SIGTERM}" in screen
    assert not tmux.alternate_on()
    assert "Traceback" not in screen
    assert owned(sandbox_cluster, "pods", instance) == []
    assert owned(sandbox_cluster, "leases", instance) == []


@pytest.mark.timeout(120)
def test_closing_the_terminal_deletes_the_node_pod_and_lease(
    tmux: TmuxApp, sandbox_cluster: SandboxProcess, tmp_path: Path
) -> None:
    instance, pid = start_with_node_session(tmux, sandbox_cluster, tmp_path)
    tmux.kill_window()
    wait_until(lambda: process_gone(pid), "the app's exit after the hangup", BOUND)
    assert owned(sandbox_cluster, "pods", instance) == []
    assert owned(sandbox_cluster, "leases", instance) == []


@pytest.fixture
def own_sandbox(tmp_path: Path) -> Iterator[SandboxProcess]:
    """A sandbox of this test's own, which it may stop with SIGSTOP."""
    directory = tmp_path / "sandbox"
    directory.mkdir()
    with sandbox_process(directory) as running:
        try:
            yield running
        finally:
            running.process.send_signal(signal.SIGCONT)


@pytest.mark.timeout(150)
def test_a_second_signal_says_what_is_still_removed_then_the_bound_ends_it(
    tmux: TmuxApp, own_sandbox: SandboxProcess, tmp_path: Path
) -> None:
    bound = 5
    instance, pid = start_with_node_session(
        tmux, own_sandbox, tmp_path, f"[ui]\nshutdown_timeout_seconds = {bound}\n"
    )
    [pod] = owned(own_sandbox, "pods", instance)
    own_sandbox.process.send_signal(signal.SIGSTOP)  # every delete now hangs
    os.kill(pid, signal.SIGTERM)
    tmux.wait_for(lambda s: "Closing 1 session" in s, "the closing notification", limit=5)
    os.kill(pid, signal.SIGTERM)
    tmux.wait_for(lambda s: "Still removing" in s, "what is still being removed", limit=5)
    screen = tmux.wait_for(lambda s: "EXITED=" in s, "the exit after the bound", limit=bound + 5)
    assert f"EXITED={128 + signal.SIGTERM}" in screen
    assert not tmux.alternate_on()
    lines = [line for line in screen.splitlines() if line.startswith("retina-tui: ")]
    still, left = lines[-2:]
    assert f"Still removing debug pod {pod}" in still
    assert f"Cleanup did not finish within {bound} s" in left
    assert f"debug pod {pod}" in left and f"lease default/retina-tui-{instance}" in left
    assert (
        f"`retina-tui gc --kubeconfig {own_sandbox.kubeconfig} --context admin -n default`" in left
    )
    own_sandbox.process.send_signal(signal.SIGCONT)
    assert owned(own_sandbox, "pods", instance) == [pod]  # left, and said so


@pytest.mark.timeout(150)
def test_a_third_signal_leaves_at_once_and_says_what_is_left(
    tmux: TmuxApp, own_sandbox: SandboxProcess, tmp_path: Path
) -> None:
    instance, pid = start_with_node_session(
        tmux, own_sandbox, tmp_path, "[ui]\nshutdown_timeout_seconds = 600\n"
    )
    own_sandbox.process.send_signal(signal.SIGSTOP)
    os.kill(pid, signal.SIGINT)
    tmux.wait_for(lambda s: "Closing 1 session" in s, "the closing notification", limit=5)
    os.kill(pid, signal.SIGTERM)
    tmux.wait_for(lambda s: "Still removing" in s, "what is still being removed", limit=5)
    os.kill(pid, signal.SIGTERM)
    screen = tmux.wait_for(lambda s: "EXITED=" in s, "the exit at once", limit=BOUND)
    assert f"EXITED={128 + signal.SIGINT}" in screen  # the first signal's status
    assert not tmux.alternate_on()
    assert "Left at once on a third signal; left behind in context admin: debug pod" in screen
    assert f"lease default/retina-tui-{instance}" in screen


def run_namespaces(pid: int) -> list[str]:
    """Network namespaces of the demo run in process `pid`, as `ip netns list` shows them."""
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    names = (line.split()[0] for line in listing.stdout.splitlines() if line.strip())
    return [name for name in names if name.startswith(f"rtui{pid}x")]


@pytest.mark.netns
@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and iproute2"
)
@pytest.mark.timeout(120)
@pytest.mark.parametrize("ending", ["closing the terminal", "SIGTERM"])
def test_the_demo_removes_its_network_namespaces(
    tmux: TmuxApp, tmp_path: Path, ending: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    tmux.start(["demo"], {"RETINA_TUI_CONFIG": str(config)})
    tmux.wait_for(lambda s: "load-0000" in s and "coredns" in s, "the pods table")
    pid = tmux.app_pid()
    tmux.keys("n")
    tmux.wait_for(lambda s: "nodes " in s and "node-1" in s, "the nodes table")
    tmux.keys("s")
    tmux.wait_for(lambda s: "root@node-" in s and "#" in s, "the node shell's prompt")
    assert run_namespaces(pid), "the demo runs without network namespaces"
    if ending == "SIGTERM":
        os.kill(pid, signal.SIGTERM)
        screen = tmux.wait_for(lambda s: "EXITED=" in s, "the demo to exit", limit=BOUND)
        assert f"EXITED={128 + signal.SIGTERM}" in screen
        assert not tmux.alternate_on()
    else:
        tmux.kill_window()
        wait_until(lambda: process_gone(pid), "the demo's exit after the hangup", BOUND)
    assert run_namespaces(pid) == []
