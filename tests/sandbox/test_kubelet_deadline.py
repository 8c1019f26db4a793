"""A pod past its activeDeadlineSeconds is stopped and left Failed (DeadlineExceeded), as the
kubelet does; seen with the real kubectl, and for synthetic pods through the store."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import pytest

from retina_tui.sandbox import SandboxOptions
from tests.sandbox.kubelet_support import wait_pod
from tests.sandbox.test_kubelet_lifecycle import pid_alive

MESSAGE = "Pod was active on the node longer than the specified deadline"
POLITE = "echo pid=$$; exec sleep 600"
STUBBORN = "trap '' TERM; echo pid=$$; while :; do sleep 1; done"


def manifest(name: str, scripts: dict[str, str], **spec: Any) -> str:
    containers = [
        {"name": container, "image": "busybox:1.36", "command": ["sh", "-c", script]}
        for container, script in scripts.items()
    ]
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        # hostPID: the shells print the pids this test checks on the machine, and are not
        # PID 1 of a namespace of their own (which ignores SIGTERM without a handler).
        "spec": {"containers": containers, "hostPID": True, **spec},
    }
    return json.dumps(body)


def create(cluster: Any, name: str, scripts: dict[str, str], **spec: Any) -> None:
    created = cluster.kubectl("create", "-f", "-", input=manifest(name, scripts, **spec))
    assert created.returncode == 0, created.stderr
    ready = cluster.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
    assert ready.returncode == 0, ready.stderr


def container_pid(cluster: Any, pod: str, container: str) -> int:
    """The pid the container's shell printed first (its main process)."""
    ready = cluster.kubectl(
        "wait", f"pod/{pod}", "--timeout=30s",
        f"--for=jsonpath={{.status.containerStatuses[?(@.name=='{container}')].started}}=true",
    )  # fmt: skip
    assert ready.returncode == 0, ready.stderr
    for _ in range(50):
        logs = cluster.kubectl("logs", pod, "-c", container)
        found = re.search(r"pid=(\d+)", logs.stdout)
        if found:
            return int(found.group(1))
    raise AssertionError(f"{pod}/{container} never printed its pid: {logs.stdout!r}")


def wait_failed(cluster: Any, pod: str, timeout: int = 30) -> None:
    failed = cluster.kubectl(
        "wait", f"pod/{pod}", "--for=jsonpath={.status.phase}=Failed", f"--timeout={timeout}s"
    )
    assert failed.returncode == 0, failed.stderr


def jsonpath(cluster: Any, pod: str, expression: str) -> str:
    result = cluster.kubectl("get", "pod", pod, "-o", f"jsonpath={expression}")
    assert result.returncode == 0, result.stderr
    return str(result.stdout)


def delete(cluster: Any, *pods: str) -> None:
    cluster.kubectl("delete", "pod", *pods, "--grace-period=0", "--force", "--wait=false")


def test_deadline_kills_the_processes_and_fails_the_pod(sandbox_cluster: Any) -> None:
    suffix = secrets.token_hex(3)
    doomed, spared = f"deadline-{suffix}", f"nodeadline-{suffix}"
    try:
        create(
            sandbox_cluster, doomed, {"polite": POLITE, "stubborn": STUBBORN},
            activeDeadlineSeconds=3, terminationGracePeriodSeconds=2,
        )  # fmt: skip
        create(sandbox_cluster, spared, {"main": POLITE})
        pids = {c: container_pid(sandbox_cluster, doomed, c) for c in ("polite", "stubborn")}
        spared_pid = container_pid(sandbox_cluster, spared, "main")

        wait_failed(sandbox_cluster, doomed)
        for container in pids:  # the stubborn one only at the end of the grace period
            ended = sandbox_cluster.kubectl(
                "wait", f"pod/{doomed}", "--timeout=30s",
                "--for=jsonpath={.status.containerStatuses[?(@.name=='"
                + container + "')].state.terminated.reason}=Error",
            )  # fmt: skip
            assert ended.returncode == 0, ended.stderr

        summary = jsonpath(sandbox_cluster, doomed, "{.status.phase}/{.status.reason}")
        assert summary == "Failed/DeadlineExceeded"
        assert jsonpath(sandbox_cluster, doomed, "{.status.message}") == MESSAGE
        codes = jsonpath(
            sandbox_cluster,
            doomed,
            "{range .status.containerStatuses[*]}{.name}={.state.terminated.exitCode} {end}",
        )
        assert sorted(codes.split()) == ["polite=143", "stubborn=137"]
        assert not any(pid_alive(pid) for pid in pids.values())

        described = sandbox_cluster.kubectl("describe", "pod", doomed)
        assert described.returncode == 0, described.stderr
        assert re.search(r"^Reason:\s+DeadlineExceeded$", described.stdout, re.M), described.stdout
        assert re.search(r"Warning\s+DeadlineExceeded\s.*" + MESSAGE, described.stdout)

        refused = sandbox_cluster.kubectl("exec", doomed, "-c", "polite", "--", "true")
        assert refused.returncode != 0
        assert "cannot exec into a container in a completed pod" in refused.stderr

        assert jsonpath(sandbox_cluster, spared, "{.status.phase}") == "Running"
        assert jsonpath(sandbox_cluster, spared, "{.status.reason}") == ""
        assert pid_alive(spared_pid)
    finally:
        delete(sandbox_cluster, doomed, spared)


def test_lowering_the_deadline_by_a_patch_takes_effect(sandbox_cluster: Any) -> None:
    name = f"deadline-lowered-{secrets.token_hex(3)}"
    try:
        create(sandbox_cluster, name, {"main": POLITE}, activeDeadlineSeconds=600)
        pid = container_pid(sandbox_cluster, name, "main")
        patched = sandbox_cluster.kubectl(
            "patch", "pod", name, "-p", '{"spec":{"activeDeadlineSeconds":1}}'
        )
        assert patched.returncode == 0, patched.stderr

        wait_failed(sandbox_cluster, name)

        assert jsonpath(sandbox_cluster, name, "{.status.reason}") == "DeadlineExceeded"
        assert not pid_alive(pid)
        deleted = sandbox_cluster.kubectl("delete", "pod", name, "--timeout=30s")
        assert deleted.returncode == 0, deleted.stderr  # a failed pod still goes when deleted
    finally:
        delete(sandbox_cluster, name)


@pytest.fixture
def sandbox_options() -> Any:
    return SandboxOptions(nodes=2, pods=3, network="host", kubelet=True, start_delay=0.1)


async def test_a_synthetic_pod_past_its_deadline_fails(api_sandbox: Any, admin_api: Any) -> None:
    store = api_sandbox.store
    doomed, spared = "load-0000", "load-0001"
    answer = await admin_api.request(
        "PATCH",
        f"/api/v1/namespaces/default/pods/{doomed}",
        body={"spec": {"activeDeadlineSeconds": 1}},
        content_type="application/merge-patch+json",
    )
    assert answer.status == 200, answer.text

    pod = await wait_pod(store, "default", doomed, lambda p: p["status"]["phase"] == "Failed")

    assert pod is not None
    assert (pod["status"]["reason"], pod["status"]["message"]) == ("DeadlineExceeded", MESSAGE)
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (137, "ContainerStatusUnknown")
    ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"]
    assert ready == "False"
    events = [
        e
        for e in store.list("events", "default")
        if e["involvedObject"]["name"] == doomed and e["reason"] == "DeadlineExceeded"
    ]
    assert [(e["type"], e["message"]) for e in events] == [("Warning", MESSAGE)]
    assert store.get("pods", "default", spared)["status"]["phase"] == "Running"
