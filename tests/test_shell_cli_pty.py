"""`retina-tui shell` through a real pty against the sandbox subprocess, as a user runs it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests.fixtures_sandbox import SandboxProcess

PROMPT = "rtui-cli# "
WAIT = 60


def kubectl_json(sandbox: SandboxProcess, *args: str) -> Any:
    result = sandbox.kubectl(*args, "-o", "json", check=True)
    return json.loads(result.stdout)


def running_pod(sandbox: SandboxProcess) -> dict[str, Any]:
    pods = kubectl_json(sandbox, "get", "pods", "-n", "default")
    for pod in pods["items"]:
        if pod["status"].get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp"):
            return dict(pod)
    raise AssertionError("no running pod in default")


def linux_node(sandbox: SandboxProcess) -> dict[str, Any]:
    nodes = kubectl_json(sandbox, "get", "nodes")
    for node in nodes["items"]:
        if node["metadata"]["labels"].get("kubernetes.io/os") == "linux":
            return dict(node)
    raise AssertionError("no linux node")


def debug_pods(sandbox: SandboxProcess) -> list[str]:
    pods = kubectl_json(
        sandbox, "get", "pods", "-A", "-l", "app.kubernetes.io/managed-by=retina-tui"
    )
    return [p["metadata"]["name"] for p in pods["items"]]


def shell_argv(sandbox: SandboxProcess, *args: str) -> list[str]:
    return [
        "-m",
        "retina_tui",
        "shell",
        "--kubeconfig",
        str(sandbox.kubeconfig),
        "-n",
        "default",
        *args,
    ]


def spawn_cli(argv: list[str]) -> pexpect.spawn:
    """`python ARGV` under a real 100x30 pty, as a user runs the CLI."""
    return pexpect.spawn(
        sys.executable,
        argv,
        env={**os.environ, "TERM": "xterm"},
        timeout=WAIT,
        dimensions=(30, 100),
        encoding="utf-8",
        codec_errors="replace",
    )


def spawn(sandbox: SandboxProcess, *args: str) -> pexpect.spawn:
    return spawn_cli(shell_argv(sandbox, *args))


def reach_prompt(child: pexpect.spawn) -> None:
    """Wait for the shell, then give it a known prompt."""
    child.expect(r"\S")
    child.sendline("PS1='rtui''-cli# '")
    child.expect_exact(PROMPT)


def run(child: pexpect.spawn, line: str) -> str:
    """Run a command line and return what it printed before the next prompt."""
    child.sendline(line)
    child.expect_exact(PROMPT)
    return str(child.before)


def finish(child: pexpect.spawn, code: int) -> int:
    child.sendline(f"exit {code}")
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus if child.exitstatus is not None else -1)


def test_pod_shell_reaches_a_prompt_runs_commands_and_exits_with_the_code(
    sandbox_cluster: SandboxProcess,
) -> None:
    pod = running_pod(sandbox_cluster)
    child = spawn(sandbox_cluster, f"pod/{pod['metadata']['name']}")
    try:
        reach_prompt(child)
        assert "hello" in run(child, "echo hel''lo")
        assert "30 100" in run(child, "stty size")
        refreshed = kubectl_json(
            sandbox_cluster, "get", "pod", "-n", "default", pod["metadata"]["name"]
        )
        pod_ip = refreshed["status"]["podIP"]
        assert pod_ip in run(child, "ip addr")
        printed = run(child, r"printf 'a\033]52;c;ZXZpbA==\007b\n'").split("\r\n", 1)[1]
        # The clipboard escape is replaced by a bare ST: no clipboard escape gets through.
        assert "a\x1b\\b" in printed and "]52;" not in printed
        assert finish(child, 7) == 7
    finally:
        child.close(force=True)


def test_node_shell_shows_the_node_ip_and_leaves_no_pod(sandbox_cluster: SandboxProcess) -> None:
    node = linux_node(sandbox_cluster)
    node_ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    child = spawn(sandbox_cluster, node["metadata"]["name"])
    try:
        reach_prompt(child)
        assert "hello" in run(child, "echo hel''lo")
        assert node_ip in run(child, "ip addr")
        assert len(debug_pods(sandbox_cluster)) == 1
        assert finish(child, 7) == 7
    finally:
        child.close(force=True)
    assert debug_pods(sandbox_cluster) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_mid_session_deletes_the_node_pod(
    sandbox_cluster: SandboxProcess, signum: signal.Signals
) -> None:
    child = spawn(sandbox_cluster, linux_node(sandbox_cluster)["metadata"]["name"])
    try:
        reach_prompt(child)
        assert len(debug_pods(sandbox_cluster)) == 1
        child.kill(signum)
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 128 + signum
    finally:
        child.close(force=True)
    assert debug_pods(sandbox_cluster) == []


def test_the_terminal_is_restored_after_the_session(sandbox_cluster: SandboxProcess) -> None:
    pod = running_pod(sandbox_cluster)
    argv = " ".join(shell_argv(sandbox_cluster, "pod/" + pod["metadata"]["name"]))
    script = (
        f"stty -g > before; {sys.executable} {argv}"
        " ; echo code=$?; stty -g > after; cmp before after && echo same-tty"
    )
    child = pexpect.spawn(
        "sh",
        ["-c", script],
        cwd=str(Path(sandbox_cluster.kubeconfig).parent),
        timeout=WAIT,
        encoding="utf-8",
        codec_errors="replace",
    )
    try:
        reach_prompt(child)
        child.sendline("exit 5")
        child.expect_exact("code=5")
        child.expect_exact("same-tty")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def run_cli(sandbox: SandboxProcess, *args: str, kubeconfig: Path | None = None) -> tuple[int, str]:
    argv = [sys.executable, *shell_argv(sandbox, *args)]
    if kubeconfig is not None:
        argv[argv.index(str(sandbox.kubeconfig))] = str(kubeconfig)
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    return result.returncode, result.stderr


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("retina-tui: ")]
    errors = [
        line
        for line in lines
        if not line.startswith(("retina-tui: creating", "retina-tui: waiting"))
    ]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr
    return errors[0]


def test_pod_not_found(sandbox_cluster: SandboxProcess) -> None:
    code, err = run_cli(sandbox_cluster, "pod/no-such-pod")
    assert code != 0
    assert "Pod default/no-such-pod not found" in one_error_line(err)


def test_node_not_found(sandbox_cluster: SandboxProcess) -> None:
    code, err = run_cli(sandbox_cluster, "no-such-node")
    assert code != 0
    assert "Node no-such-node not found" in one_error_line(err)
    assert debug_pods(sandbox_cluster) == []


def test_restricted_context(sandbox_cluster: SandboxProcess) -> None:
    pod = running_pod(sandbox_cluster)["metadata"]["name"]
    code, err = run_cli(sandbox_cluster, f"pod/{pod}", "--context", "restricted")
    assert code != 0
    assert "may not patch pods/ephemeralcontainers in namespace default" in one_error_line(err)


def test_psa_namespace_for_a_node_session(sandbox_cluster: SandboxProcess) -> None:
    node = linux_node(sandbox_cluster)["metadata"]["name"]
    code, err = run_cli(sandbox_cluster, node, "-n", "secure")
    assert code != 0
    line = one_error_line(err)
    assert "pod-security.kubernetes.io/enforce=baseline" in line and "-n NAMESPACE" in line
    assert debug_pods(sandbox_cluster) == []


def test_unpullable_image(sandbox_cluster: SandboxProcess) -> None:
    node = linux_node(sandbox_cluster)["metadata"]["name"]
    code, err = run_cli(sandbox_cluster, node, "--image", "example.test/does-not-exist:1")
    assert code != 0
    line = one_error_line(err)
    assert "ErrImagePull" in line or "ImagePullBackOff" in line
    assert "did not start within" not in line
    assert debug_pods(sandbox_cluster) == []


def test_timeout(sandbox_cluster: SandboxProcess) -> None:
    node = linux_node(sandbox_cluster)["metadata"]["name"]
    code, err = run_cli(sandbox_cluster, node, "--timeout", "0.05s")
    assert code != 0
    assert "did not start within 0.05 s; the last state seen was" in one_error_line(err)
    assert debug_pods(sandbox_cluster) == []


def test_pod_not_running(sandbox_cluster: SandboxProcess) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "cli-stuck", "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "example.test/does-not-exist:1"}]},
    }
    sandbox_cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest), check=True)
    try:
        code, err = run_cli(sandbox_cluster, "pod/cli-stuck")
    finally:
        sandbox_cluster.kubectl("delete", "pod", "-n", "default", "cli-stuck", "--wait=false")
    assert code != 0
    assert "Pod default/cli-stuck is Pending, not Running" in one_error_line(err)


def test_unreachable_server(sandbox_cluster: SandboxProcess, tmp_path: Path) -> None:
    config = json.loads(sandbox_cluster.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:9"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps(config))
    code, err = run_cli(sandbox_cluster, "pod/web", kubeconfig=kubeconfig)
    assert code != 0
    line = one_error_line(err)
    assert "Could not connect to the API server https://127.0.0.1:9" in line
    assert "(context 'admin')" in line


@pytest.fixture
def sandbox_options() -> Any:
    """The in-process sandbox of the re-attach test runs its kubelet."""
    from retina_tui.sandbox import SandboxOptions

    return SandboxOptions(nodes=2, pods=2, network="auto", kubelet=True)


async def test_the_cli_reattaches_after_the_sandbox_drops_streams(api_sandbox: Any) -> None:
    # The sandbox runs in this event loop, so pexpect's blocking calls go to a thread.
    kubeconfig = str(api_sandbox.kubeconfig_path)
    pods = [
        pod
        for pod in api_sandbox.store.list("pods", "default")
        if (pod.get("status") or {}).get("phase") == "Running"
    ]
    argv = ["-m", "retina_tui", "shell", "--kubeconfig", kubeconfig, "-n", "default"]
    child = spawn_cli([*argv, f"pod/{pods[0]['metadata']['name']}"])
    try:
        await asyncio.to_thread(reach_prompt, child)
        await asyncio.to_thread(run, child, "KEEP=sur''vived")
        await api_sandbox.kubelet.drop_streams()
        await asyncio.to_thread(child.expect_exact, "retina-tui: reconnecting")
        # The shell redraws its prompt (maybe twice); the variable's value comes after.
        await asyncio.to_thread(child.sendline, "echo $KEEP")
        await asyncio.to_thread(child.expect_exact, "survived")
        assert await asyncio.to_thread(finish, child, 0) == 0
    finally:
        child.close(force=True)


def test_piped_input_runs_and_ends_the_shell(sandbox_cluster: SandboxProcess) -> None:
    pod = running_pod(sandbox_cluster)["metadata"]["name"]
    result = subprocess.run(
        [sys.executable, *shell_argv(sandbox_cluster, f"pod/{pod}")],
        input="echo piped''-ok; exit 3\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 3, result.stderr
    assert "piped-ok" in result.stdout
