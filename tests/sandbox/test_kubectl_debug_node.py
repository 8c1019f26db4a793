"""hostPath volumes through the real kubectl: `kubectl debug node/N` sees the node's root at
/host, readOnly mounts refuse writes in every container kind, and hostPath types are checked."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests.sandbox.isolation_support import requires_isolation
from tests.sandbox.test_kubectl_exec import wait_ready

pytestmark = requires_isolation


def wait_event(cluster: Any, pod: str, reason: str) -> dict[str, Any]:
    """The first event of `reason` about `pod`, once there is one."""
    deadline = time.monotonic() + 30
    selector = f"involvedObject.name={pod},reason={reason}"
    while True:
        listed = cluster.kubectl("get", "events", "--field-selector", selector, "-o", "json")
        assert listed.returncode == 0, listed.stderr
        items: list[dict[str, Any]] = json.loads(listed.stdout)["items"]
        if items:
            return items[0]
        assert time.monotonic() < deadline, f"no {reason} event for pod {pod}"
        time.sleep(0.2)


def delete_node_debuggers(cluster: Any, node: str) -> None:
    pods = cluster.kubectl("get", "pods", "-o", "name").stdout.split()
    debuggers = [p for p in pods if p.startswith(f"pod/node-debugger-{node}-")]
    if debuggers:
        cluster.kubectl("delete", "--grace-period=0", "--force", *debuggers)


def test_debug_node_lists_the_node_root_under_host(sandbox_cluster: Any) -> None:
    argv = sandbox_cluster.kubectl_argv(
        "debug", "node/node-3", "-it", "--image=busybox:1.36", "--", "ls", "/host/etc"
    )
    child = pexpect.spawn(argv[0], argv[1:], dimensions=(40, 200), timeout=60, encoding="utf-8")
    try:
        child.expect(pexpect.EOF)
        output = str(child.before)
    finally:
        child.close(force=True)
        delete_node_debuggers(sandbox_cluster, "node-3")
    assert child.exitstatus == 0, output
    names = set(output.split())
    assert {"passwd", "hostname"} <= names, output


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """A directory of this machine, the hostPath of the pod below."""
    directory = tmp_path / "shared"
    directory.mkdir()
    (directory / "note").write_text("from the host\n")
    return directory


@pytest.fixture
def host_pod(sandbox_cluster: Any, shared: Path) -> Iterator[str]:
    """A pod mounting `shared` read-only at /ro and read-write at /rw."""
    name = f"hostpath-{secrets.token_hex(3)}"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "volumes": [{"name": "data", "hostPath": {"path": str(shared), "type": "Directory"}}],
            "containers": [
                {
                    "name": "main",
                    "image": "busybox:1.36",
                    "command": ["sleep", "3600"],
                    "volumeMounts": [
                        {"name": "data", "mountPath": "/ro", "readOnly": True},
                        {"name": "data", "mountPath": "/rw"},
                    ],
                }
            ],
        },
    }
    created = sandbox_cluster.kubectl("apply", "-f", "-", input=json.dumps(pod))
    assert created.returncode == 0, created.stderr
    wait_ready(sandbox_cluster, "default", name)
    yield name
    sandbox_cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")


def test_read_only_host_path_refuses_writes(
    sandbox_cluster: Any, host_pod: str, shared: Path
) -> None:
    refused = sandbox_cluster.kubectl("exec", host_pod, "--", "sh", "-c", "echo no > /ro/new")
    assert refused.returncode != 0
    assert "Read-only file system" in refused.stderr
    written = sandbox_cluster.kubectl(
        "exec", host_pod, "--", "sh", "-c", "cat /ro/note; echo yes > /rw/new; cat /ro/new"
    )
    assert written.returncode == 0, written.stderr
    assert written.stdout == "from the host\nyes\n"
    assert (shared / "new").read_text() == "yes\n"


def test_an_ephemeral_container_mounts_the_pod_host_path_read_only(
    sandbox_cluster: Any, host_pod: str, tmp_path: Path
) -> None:
    custom = tmp_path / "custom.json"
    custom.write_text(
        json.dumps({"volumeMounts": [{"name": "data", "mountPath": "/eph", "readOnly": True}]})
    )
    result = sandbox_cluster.kubectl(
        "debug", host_pod, "-i", "--image=busybox:1.36", f"--custom={custom}",
        "--", "sh", "-c", "cat /eph/note; echo no > /eph/new || echo refused",
        input="",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "from the host\n" in result.stdout
    assert "refused\n" in result.stdout
    assert "Read-only file system" in result.stdout + result.stderr


def test_host_path_types_are_checked_and_created(sandbox_cluster: Any, tmp_path: Path) -> None:
    name = f"hosttypes-{secrets.token_hex(3)}"
    made_dir, made_file = tmp_path / "made" / "dir", tmp_path / "made-file"
    volumes = [
        {"name": "dir", "hostPath": {"path": str(made_dir), "type": "DirectoryOrCreate"}},
        {"name": "file", "hostPath": {"path": str(made_file), "type": "FileOrCreate"}},
    ]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "volumes": volumes,
            "containers": [
                {
                    "name": "main",
                    "image": "busybox:1.36",
                    "command": ["sleep", "3600"],
                    "volumeMounts": [
                        {"name": "dir", "mountPath": "/made"},
                        {"name": "file", "mountPath": "/etc/made"},
                    ],
                }
            ],
        },
    }
    created = sandbox_cluster.kubectl("apply", "-f", "-", input=json.dumps(pod))
    assert created.returncode == 0, created.stderr
    try:
        wait_ready(sandbox_cluster, "default", name)
        assert made_dir.is_dir() and oct(made_dir.stat().st_mode & 0o777) == "0o755"
        assert made_file.is_file() and oct(made_file.stat().st_mode & 0o777) == "0o644"
        check = sandbox_cluster.kubectl(
            "exec", name, "--", "sh", "-c", "test -d /made && test -f /etc/made && echo ok"
        )
        assert check.stdout == "ok\n", check.stderr
    finally:
        sandbox_cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")


def test_a_host_path_of_the_wrong_type_keeps_the_pod_creating(
    sandbox_cluster: Any, tmp_path: Path
) -> None:
    name = f"hostwrong-{secrets.token_hex(3)}"
    not_a_dir = tmp_path / "plain-file"
    not_a_dir.write_text("")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "volumes": [
                {"name": "conf", "hostPath": {"path": str(not_a_dir), "type": "Directory"}}
            ],
            "containers": [
                {
                    "name": "main",
                    "image": "busybox:1.36",
                    "command": ["sleep", "3600"],
                    "volumeMounts": [{"name": "conf", "mountPath": "/conf"}],
                }
            ],
        },
    }
    created = sandbox_cluster.kubectl("apply", "-f", "-", input=json.dumps(pod))
    assert created.returncode == 0, created.stderr
    message = (
        f'MountVolume.SetUp failed for volume "conf" : hostPath type check failed: '
        f"{not_a_dir} is not a directory"
    )
    try:
        event = wait_event(sandbox_cluster, name, "FailedMount")
        assert event["message"] == message
        assert event["type"] == "Warning"
        assert event["source"]["component"] == "kubelet"
        got = json.loads(sandbox_cluster.kubectl("get", "pod", name, "-o", "json").stdout)
        assert got["status"]["phase"] == "Pending"
        state = got["status"]["containerStatuses"][0]["state"]
        assert state == {"waiting": {"reason": "ContainerCreating"}}
    finally:
        sandbox_cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")
