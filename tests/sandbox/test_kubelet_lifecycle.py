"""The kubelet runs pods as real processes and reports what happens to them in the pod status."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from retina_tui.sandbox import SandboxOptions
from tests.sandbox.apiclient import pod_body
from tests.sandbox.kubelet_support import container_state, exec_in, wait_pod

PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture
def sandbox_options() -> Any:
    return SandboxOptions(nodes=2, pods=4, network="host", kubelet=True, start_delay=0.3)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory of this machine that a test mounts into a pod (a hostPath volume)."""
    with tempfile.TemporaryDirectory(dir="/var/tmp", prefix="retina-tui-test-") as path:
        yield Path(path)


def command_pod(name: str, script: str, **spec: Any) -> dict[str, Any]:
    body = pod_body(name, **spec)
    body["spec"]["containers"][0]["command"] = ["sh", "-c", script]
    return body


def sharing_pod(name: str, script: str, shared: Path, **spec: Any) -> dict[str, Any]:
    """A pod that sees the machine's process ids (hostPID) and `shared` (a hostPath), so
    the pids it writes there can be checked from here."""
    volume = {"name": "shared", "hostPath": {"path": str(shared)}}
    body = command_pod(name, script, hostPID=True, volumes=[volume], **spec)
    mount = {"name": "shared", "mountPath": str(shared)}
    body["spec"]["containers"][0]["volumeMounts"] = [mount]
    return body


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def test_status_goes_creating_running_completed(api_sandbox: Any, admin_api: Any) -> None:
    body = command_pod("done", "sleep 0.5", restartPolicy="Never")
    assert (await admin_api.post(PODS, body)).status == 201
    seen: list[dict[str, Any]] = []
    pod = await wait_pod(
        api_sandbox.store,
        "default",
        "done",
        lambda p: p["status"]["phase"] == "Succeeded",
        seen=seen,
    )
    states = [container_state(p, "main") for p in seen]
    assert "waiting:ContainerCreating" in states
    assert states.index("waiting:ContainerCreating") < states.index("running")
    assert states[-1] == "terminated:Completed"
    assert pod is not None
    status = pod["status"]
    terminated = status["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 0
    assert terminated["containerID"].startswith("containerd://")
    assert status["podIP"].startswith("127.1.") and status["hostIP"] == api_sandbox.network.node_ip(
        pod["spec"]["nodeName"]
    )


async def test_failing_container_fails_the_pod(api_sandbox: Any, admin_api: Any) -> None:
    body = command_pod("broken", "echo about to fail; exit 7", restartPolicy="Never")
    await admin_api.post(PODS, body)
    pod = await wait_pod(
        api_sandbox.store, "default", "broken", lambda p: p["status"]["phase"] == "Failed"
    )
    assert pod is not None
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (7, "Error")
    logs = await admin_api.get(f"{PODS}/broken/log")
    assert logs.text == "about to fail\n"
    events = await admin_api.get(
        "/api/v1/namespaces/default/events", params={"fieldSelector": "involvedObject.name=broken"}
    )
    reasons = [e["reason"] for e in events.body["items"]]
    assert sorted(reasons) == ["Created", "Pulled", "Scheduled", "Started"]
    kubelet = [e for e in events.body["items"] if e["source"]["component"] == "kubelet"]
    assert kubelet[0]["involvedObject"]["fieldPath"] == "spec.containers{main}"


async def test_restart_policy_always_backs_off(api_sandbox: Any, admin_api: Any) -> None:
    await admin_api.post(PODS, command_pod("crashy", "exit 1"))
    pod = await wait_pod(
        api_sandbox.store,
        "default",
        "crashy",
        lambda p: container_state(p, "main") == "waiting:CrashLoopBackOff",
    )
    assert pod is not None
    status = pod["status"]["containerStatuses"][0]
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert pod["status"]["phase"] == "Running"


async def test_unpullable_image_never_runs(api_sandbox: Any, admin_api: Any) -> None:
    body = pod_body("nopull")
    body["spec"]["containers"][0]["image"] = "example.com/does-not-exist:1.0"
    await admin_api.post(PODS, body)
    seen: list[dict[str, Any]] = []
    pod = await wait_pod(
        api_sandbox.store,
        "default",
        "nopull",
        lambda p: container_state(p, "main") == "waiting:ImagePullBackOff",
        seen=seen,
    )
    assert "waiting:ErrImagePull" in [container_state(p, "main") for p in seen]
    pull_error = next(
        p["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
        for p in seen
        if container_state(p, "main") == "waiting:ErrImagePull"
    )
    assert re.fullmatch(
        r'Failed to pull image "example.com/does-not-exist:1.0": rpc error: code = NotFound '
        r'desc = failed to pull and unpack image "example.com/does-not-exist:1.0": .* not found',
        pull_error,
    )
    assert pod is not None
    assert pod["status"]["phase"] == "Pending"
    assert "containerID" not in pod["status"]["containerStatuses"][0]
    events = await admin_api.get(
        "/api/v1/namespaces/default/events", params={"fieldSelector": "involvedObject.name=nopull"}
    )
    reasons = [(e["type"], e["reason"], e["message"]) for e in events.body["items"]]
    assert ("Warning", "Failed", pull_error) in reasons
    assert ("Normal", "BackOff", 'Back-off pulling image "example.com/does-not-exist:1.0"') in (
        reasons
    )


async def test_default_shell_without_stdin_keeps_running(api_sandbox: Any, admin_api: Any) -> None:
    await admin_api.post(PODS, pod_body("idle"))
    await wait_pod(
        api_sandbox.store, "default", "idle", lambda p: p["status"]["phase"] == "Running"
    )
    result = await exec_in(api_sandbox, "default", "idle", "sh", "-c", "echo $HOSTNAME")
    assert result.stdout == b"idle\n"
    pod = api_sandbox.store.get("pods", "default", "idle")
    assert container_state(pod, "main") == "running"


async def test_deletion_kills_processes_after_the_grace_period(
    api_sandbox: Any, admin_api: Any, shared_dir: Path
) -> None:
    pid_file = shared_dir / "pid"
    script = f"trap '' TERM; echo $$ > {pid_file}.tmp; mv {pid_file}.tmp {pid_file}; "
    script += "while true; do sleep 0.2; done"
    body = sharing_pod("stubborn", script, shared_dir, terminationGracePeriodSeconds=1)
    await admin_api.post(PODS, body)
    await wait_pod(
        api_sandbox.store, "default", "stubborn", lambda p: container_state(p, "main") == "running"
    )
    result = await exec_in(
        api_sandbox, "default", "stubborn", "sh", "-c", f"while [ ! -f {pid_file} ]; do :; done"
    )
    assert result.status is not None and result.status.success
    pid = int(pid_file.read_text())
    assert pid_alive(pid)
    answer = await admin_api.request("DELETE", f"{PODS}/stubborn")
    assert answer.status == 200 and answer.body["metadata"]["deletionTimestamp"]
    assert await wait_pod(api_sandbox.store, "default", "stubborn", lambda p: p is None) is None
    assert not pid_alive(pid)


async def test_synthetic_pod_gets_network_and_processes_only_on_demand(
    api_sandbox: Any,
) -> None:
    store, network = api_sandbox.store, api_sandbox.network
    synthetic = next(
        p for p in store.list("pods", "default") if p["metadata"]["name"] == "load-0001"
    )
    assert synthetic["status"]["phase"] == "Running"
    key = f"default/load-0001/{synthetic['metadata']['uid']}"
    assert network.pod_ip(key) is None
    result = await exec_in(api_sandbox, "default", "load-0001", "echo", "woken")
    assert result.stdout == b"woken\n"
    ip = network.pod_ip(key)
    assert ip is not None
    pod = await wait_pod(store, "default", "load-0001", lambda p: p["status"]["podIP"] == ip)
    assert pod is not None
    other = store.get("pods", "default", "load-0002")
    assert network.pod_ip(f"default/load-0002/{other['metadata']['uid']}") is None


async def test_ephemeral_container_runs_with_its_env(api_sandbox: Any, admin_api: Any) -> None:
    await admin_api.post(PODS, pod_body("target"))
    await wait_pod(
        api_sandbox.store, "default", "target", lambda p: p["status"]["phase"] == "Running"
    )
    patch = {
        "spec": {
            "ephemeralContainers": [
                {
                    "name": "debugger",
                    "image": "busybox:1.36",
                    "command": ["sh", "-c", 'echo "TMOUT=$TMOUT"; sleep 0.3'],
                    "env": [{"name": "TMOUT", "value": "77"}],
                    "targetContainerName": "main",
                }
            ]
        }
    }
    answer = await admin_api.request(
        "PATCH",
        f"{PODS}/target/ephemeralcontainers",
        body=patch,
        content_type="application/strategic-merge-patch+json",
    )
    assert answer.status == 200, answer.text
    seen: list[dict[str, Any]] = []
    await wait_pod(
        api_sandbox.store,
        "default",
        "target",
        lambda p: container_state(p, "debugger", ephemeral=True) == "terminated:Completed",
        seen=seen,
    )
    states = [container_state(p, "debugger", ephemeral=True) for p in seen]
    assert states.index("waiting:ContainerCreating") < states.index("running")
    logs = await admin_api.get(f"{PODS}/target/log", params={"container": "debugger"})
    assert logs.text == "TMOUT=77\n"
    assert container_state(api_sandbox.store.get("pods", "default", "target"), "main") == "running"


async def test_exec_errors_are_statuses(api_sandbox: Any, admin_api: Any) -> None:
    await admin_api.post(PODS, pod_body("errs"))
    await wait_pod(
        api_sandbox.store, "default", "errs", lambda p: p["status"]["phase"] == "Running"
    )
    missing = await exec_in(api_sandbox, "default", "errs", "no-such-program-here")
    assert missing.status is not None and missing.status.code is None
    assert 'exec: "no-such-program-here": executable file not found in $PATH' in (
        missing.status.message
    )
    bad = await admin_api.get(f"{PODS}/errs/exec", params={"command": "true", "container": "nope"})
    assert bad.status == 400
    assert bad.body["message"] == "container nope is not valid for pod errs"


async def test_stopping_the_sandbox_leaves_no_process(shared_dir: Path) -> None:
    from retina_tui.sandbox import run_sandbox
    from tests.sandbox.apiclient import Api

    pid_file = shared_dir / "pids"
    script = (
        f"sleep 1000 & echo $$ $! > {pid_file}.tmp; mv {pid_file}.tmp {pid_file}; "
        "while true; do sleep 0.2; done"
    )
    options = SandboxOptions(nodes=1, pods=0, network="host", kubelet=True, start_delay=0.0)
    async with run_sandbox(options) as sandbox:
        api = Api(sandbox.url, sandbox.admin_token, sandbox.ca_pem)
        try:
            await api.post(PODS, sharing_pod("lingering", script, shared_dir))
        finally:
            await api.close()
        await wait_pod(
            sandbox.store, "default", "lingering", lambda p: container_state(p, "main") == "running"
        )
        wait_file = f"while [ ! -f {pid_file} ]; do :; done"
        result = await exec_in(sandbox, "default", "lingering", "sh", "-c", wait_file)
        assert result.status is not None and result.status.success
        exec_bg = await exec_in(
            sandbox, "default", "lingering", "sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo $!"
        )
        pids = [int(word) for word in pid_file.read_text().split()] + [int(exec_bg.stdout)]
        assert all(pid_alive(pid) for pid in pids)
    assert [pid for pid in pids if pid_alive(pid)] == []
