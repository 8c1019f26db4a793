"""The real kubectl (and kubernetes_asyncio) exec, attach and debug through the sandbox kubelet."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from retina_tui.sessions import protocol


@pytest.fixture(scope="module")
def pod(sandbox_cluster: Any) -> Iterator[str]:
    """A pod of this module's own (its container has the pod's name), running a shell."""
    name = f"kexec-{secrets.token_hex(3)}"
    created = sandbox_cluster.kubectl(
        "run", name, "--image=busybox:1.36", "--restart=Never", "--stdin", "--attach=false"
    )
    assert created.returncode == 0, created.stderr
    wait_ready(sandbox_cluster, "default", name)
    yield name
    sandbox_cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")


def wait_ready(cluster: Any, namespace: str, pod: str) -> None:
    result = cluster.kubectl(
        "wait", "-n", namespace, "--for=condition=Ready", f"pod/{pod}", "--timeout=60s"
    )
    assert result.returncode == 0, result.stderr


def test_exec_prints_the_command_output(sandbox_cluster: Any, pod: str) -> None:
    result = sandbox_cluster.kubectl("exec", pod, "-c", pod, "--", "echo", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi\n"


def test_exec_exit_code_becomes_kubectl_exit_code(sandbox_cluster: Any, pod: str) -> None:
    result = sandbox_cluster.kubectl("exec", pod, "-c", pod, "--", "sh", "-c", "exit 3")
    assert result.returncode == 3
    assert "command terminated with exit code 3" in result.stderr


def test_exec_stdin_and_stderr(sandbox_cluster: Any, pod: str) -> None:
    result = sandbox_cluster.kubectl(
        "exec", "-i", pod, "-c", pod, "--", "sh", "-c", "tr a-z A-Z; echo oops >&2",
        input="shout\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "SHOUT\n"
    assert result.stderr == "oops\n"


def test_kubectl_offers_only_v5_over_websocket(sandbox_cluster: Any, pod: str) -> None:
    result = sandbox_cluster.kubectl("-v=8", "exec", pod, "-c", pod, "--", "true")
    assert result.returncode == 0, result.stderr
    offered = [
        line for line in result.stderr.splitlines() if "sec-websocket-protocol" in line.lower()
    ]
    assert offered, result.stderr[-2000:]
    assert all(protocol.PROTOCOL_V5 in line for line in offered)
    assert not any(protocol.PROTOCOL_V4 in line for line in offered)
    assert "spdy" not in result.stderr.lower()


def test_debug_pod_with_target_runs_commands_from_stdin(sandbox_cluster: Any, pod: str) -> None:
    result = sandbox_cluster.kubectl(
        "debug", pod, "-i", "--image=busybox:1.36", f"--target={pod}",
        input="echo from-debug\nhostname\nexit\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"from-debug\n{pod}\n" in result.stdout
    pod = json.loads(sandbox_cluster.kubectl("get", "pod", pod, "-o", "json").stdout)
    statuses = pod["status"]["ephemeralContainerStatuses"]
    assert any(s["state"].get("terminated", {}).get("reason") == "Completed" for s in statuses)


def test_debug_node_runs_in_the_node(sandbox_cluster: Any) -> None:
    result = sandbox_cluster.kubectl(
        "debug", "node/node-2", "-i", "--image=busybox:1.36",
        input="echo from-node\nhostname\nexit\n",
    )  # fmt: skip
    try:
        assert result.returncode == 0, result.stderr
        assert "from-node\nnode-2\n" in result.stdout
    finally:
        pods = sandbox_cluster.kubectl("get", "pods", "-o", "name").stdout.split()
        debuggers = [p for p in pods if p.startswith("pod/node-debugger-node-2-")]
        if debuggers:
            sandbox_cluster.kubectl("delete", "--grace-period=0", "--force", *debuggers)


def test_attach_to_a_running_container(sandbox_cluster: Any) -> None:
    name = f"attach-{secrets.token_hex(3)}"
    created = sandbox_cluster.kubectl(
        "run", name, "--image=busybox:1.36", "--restart=Never", "--stdin", "--attach=false"
    )
    assert created.returncode == 0, created.stderr
    wait_ready(sandbox_cluster, "default", name)
    try:
        result = sandbox_cluster.kubectl("attach", "-i", name, input="echo attached-ok\nexit 5\n")
        assert "attached-ok\n" in result.stdout
        # An attach ends in Success whatever the exit code: kubectl attach exits 0.
        assert result.returncode == 0, result.stderr
        exited = sandbox_cluster.kubectl(
            "wait", f"pod/{name}", "--timeout=30s",
            "--for=jsonpath={.status.containerStatuses[0].state.terminated.exitCode}=5",
        )  # fmt: skip
        assert exited.returncode == 0, exited.stderr
    finally:
        sandbox_cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")


def test_kubernetes_asyncio_exec_with_resize(sandbox_cluster: Any, pod: str) -> None:
    output = asyncio.run(_asyncio_exec_with_resize(str(sandbox_cluster.kubeconfig), pod))
    assert "24 80" in output
    assert "40 120" in output


async def _asyncio_exec_with_resize(kubeconfig: str, pod: str) -> str:
    from kubernetes_asyncio import client, config
    from kubernetes_asyncio.stream import WsApiClient

    configuration = client.Configuration()
    await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    output = b""
    async with WsApiClient(configuration=configuration) as api:
        core = client.CoreV1Api(api_client=api)
        context = await core.connect_get_namespaced_pod_exec(
            pod,
            "default",
            container=pod,
            command=["sh", "-c", "stty size; read line; stty size"],
            stdin=True,
            stdout=True,
            stderr=True,
            tty=True,
            _preload_content=False,
        )
        async with context as ws, asyncio.timeout(30):
            resized = False
            async for message in ws:
                frame = protocol.decode(message.data)
                if frame.channel == protocol.STDOUT:
                    output += frame.data
                if frame.channel == protocol.ERROR:
                    assert protocol.parse_status(frame.data).success
                    break
                if b"24 80" in output and not resized:
                    resized = True
                    await ws.send_bytes(protocol.encode_resize(120, 40))
                    await ws.send_bytes(protocol.encode(protocol.STDIN, b"\r"))
    return output.decode(errors="replace")


def test_interactive_exec_follows_the_terminal_size(sandbox_cluster: Any, pod: str) -> None:
    import pexpect

    argv = sandbox_cluster.kubectl_argv("exec", "-it", pod, "-c", pod, "--", "sh")
    child = pexpect.spawn(argv[0], argv[1:], dimensions=(30, 100), timeout=30)
    try:
        child.sendline("stty size; echo TERM=$TERM")
        child.expect(r"30 100\r\n")
        child.expect(r"TERM=xterm\r\n")
        child.setwinsize(45, 132)
        child.sendline("stty size")
        child.expect(r"45 132\r\n")
        child.sendline("exit 4")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 4
