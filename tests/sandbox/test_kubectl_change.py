"""The real kubectl changes the sandbox: run, get -w, label, patch, apply, debug, delete."""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any

WAIT = 30.0


class LineReader:
    """Collects a running kubectl's output lines on a thread, for waiting on them."""

    def __init__(self, process: Any) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(process,), daemon=True).start()

    def _pump(self, process: Any) -> None:
        for line in process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def until(self, needle: str, timeout: float = WAIT) -> str:
        """The first new line containing `needle` (fails after `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            self.seen.append(line)
            if needle in line:
                return line
        raise AssertionError(f"{needle!r} never appeared; kubectl printed {self.seen!r}")


def test_get_watch_sees_a_pod_created_afterwards(sandbox_cluster: Any) -> None:
    watcher = sandbox_cluster.kubectl_popen("get", "pods", "-n", "default", "-w")
    try:
        output = LineReader(watcher)
        output.until("load-0000")
        created = sandbox_cluster.kubectl(
            "run",
            "watched",
            "--image=busybox:1.36",
            "--restart=Never",
            "-n",
            "default",
            "--",
            "sleep",
            "3600",
        )
        assert created.returncode == 0, created.stderr
        assert created.stdout.strip() == "pod/watched created"
        line = output.until("watched")
        assert line.split()[0] == "watched"
    finally:
        watcher.terminate()
        watcher.wait(10)
    sandbox_cluster.kubectl(
        "delete", "pod", "watched", "-n", "default", "--grace-period=0", "--force"
    )


def test_delete_pod(sandbox_cluster: Any) -> None:
    created = sandbox_cluster.kubectl(
        "run",
        "doomed",
        "--image=busybox:1.36",
        "--restart=Never",
        "-n",
        "default",
        "--",
        "sleep",
        "3600",
    )
    assert created.returncode == 0, created.stderr
    deleted = sandbox_cluster.kubectl(
        "delete", "pod", "doomed", "-n", "default", "--grace-period=1", timeout=90
    )
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == 'pod "doomed" deleted from default namespace' or (
        deleted.stdout.strip() == 'pod "doomed" deleted'
    )
    gone = sandbox_cluster.kubectl("get", "pod", "doomed", "-n", "default")
    assert gone.returncode == 1
    assert 'pods "doomed" not found' in gone.stderr


def test_label_annotate_and_patch(sandbox_cluster: Any) -> None:
    sandbox_cluster.kubectl(
        "run",
        "patched",
        "--image=busybox:1.36",
        "--restart=Never",
        "-n",
        "default",
        "--",
        "sleep",
        "3600",
        check=True,
    )
    try:
        assert sandbox_cluster.kubectl("label", "pod", "patched", "tier=db").returncode == 0
        assert sandbox_cluster.kubectl("annotate", "pod", "patched", "note=hi").returncode == 0
        merge = sandbox_cluster.kubectl(
            "patch", "pod", "patched", "--type=merge", "-p", '{"metadata":{"labels":{"m":"1"}}}'
        )
        assert merge.returncode == 0, merge.stderr
        jsonpatch = sandbox_cluster.kubectl(
            "patch",
            "pod",
            "patched",
            "--type=json",
            "-p",
            '[{"op":"add","path":"/metadata/labels/j","value":"2"}]',
        )
        assert jsonpatch.returncode == 0, jsonpatch.stderr
        image = sandbox_cluster.kubectl("set", "image", "pod/patched", "patched=busybox:1.37")
        assert image.returncode == 0, image.stderr
        pod = json.loads(sandbox_cluster.kubectl("get", "pod", "patched", "-o", "json").stdout)
        assert pod["metadata"]["labels"]["tier"] == "db"
        assert pod["metadata"]["labels"]["m"] == "1" and pod["metadata"]["labels"]["j"] == "2"
        assert pod["metadata"]["annotations"]["note"] == "hi"
        assert pod["spec"]["containers"][0]["image"] == "busybox:1.37"
        bad = sandbox_cluster.kubectl("patch", "pod", "patched", "--type=merge", "-p", "{oops")
        assert bad.returncode != 0
    finally:
        sandbox_cluster.kubectl("delete", "pod", "patched", "--grace-period=0", "--force")


def test_apply_creates_then_updates(sandbox_cluster: Any, tmp_path: Any) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "applied", "namespace": "default", "labels": {"v": "1"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "1"]}]},
    }
    path = tmp_path / "pod.json"
    path.write_text(json.dumps(manifest))
    first = sandbox_cluster.kubectl("apply", "-f", str(path))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "pod/applied created"
    manifest["metadata"]["labels"]["v"] = "2"
    path.write_text(json.dumps(manifest))
    second = sandbox_cluster.kubectl("apply", "-f", str(path))
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "pod/applied configured"
    labels = sandbox_cluster.kubectl(
        "get", "pod", "applied", "-o", "jsonpath={.metadata.labels.v}"
    ).stdout
    assert labels == "2"
    sandbox_cluster.kubectl("delete", "pod", "applied", "--grace-period=0", "--force")


def test_duplicate_container_names_are_refused_by_the_server(
    sandbox_cluster: Any, tmp_path: Any
) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "twins"},
        "spec": {
            "containers": [
                {"name": "same", "image": "busybox:1.36"},
                {"name": "same", "image": "busybox:1.36"},
            ]
        },
    }
    path = tmp_path / "twins.json"
    path.write_text(json.dumps(manifest))
    result = sandbox_cluster.kubectl("create", "-f", str(path))
    assert result.returncode == 1
    assert 'The Pod "twins" is invalid: spec.containers[1].name: Duplicate value: "same"' in (
        result.stderr
    )


def test_debug_adds_an_ephemeral_container(sandbox_cluster: Any) -> None:
    sandbox_cluster.kubectl(
        "run",
        "debuggee",
        "--image=busybox:1.36",
        "--restart=Never",
        "-n",
        "default",
        "--",
        "sleep",
        "3600",
        check=True,
    )
    try:
        result = sandbox_cluster.kubectl(
            "debug",
            "debuggee",
            "--image=busybox:1.36",
            "--target=debuggee",
            "--container=probe",
            "--",
            "sleep",
            "5",
        )
        assert result.returncode == 0, result.stderr
        pod = json.loads(sandbox_cluster.kubectl("get", "pod", "debuggee", "-o", "json").stdout)
        probe = [c for c in pod["spec"]["ephemeralContainers"] if c["name"] == "probe"]
        assert probe and probe[0]["targetContainerName"] == "debuggee"
        again = sandbox_cluster.kubectl(
            "debug", "debuggee", "--image=busybox:1.36", "--container=probe", "--", "true"
        )
        assert again.returncode != 0
    finally:
        sandbox_cluster.kubectl("delete", "pod", "debuggee", "--grace-period=0", "--force")


def test_restricted_context_debug_is_forbidden(sandbox_cluster: Any) -> None:
    result = sandbox_cluster.kubectl(
        "debug",
        "web",
        "-n",
        "shop",
        "-i",
        "--image=busybox:1.36",
        "--target=web",
        "--",
        "true",
        context="restricted",
    )
    assert result.returncode != 0
    assert "Error from server (Forbidden)" in result.stderr
    assert (
        'pods "web" is forbidden: User "restricted" cannot patch resource '
        '"pods/ephemeralcontainers" in API group "" in the namespace "shop"'
    ) in result.stderr
    run = sandbox_cluster.kubectl(
        "run", "nope", "--image=busybox:1.36", "-n", "kube-system", context="restricted"
    )
    assert run.returncode != 0 and "Forbidden" in run.stderr
    listing = sandbox_cluster.kubectl("get", "pods", "-A", context="restricted")
    assert listing.returncode == 0 and "web" in listing.stdout


def test_psa_refuses_a_privileged_debug_container(sandbox_cluster: Any) -> None:
    sandbox_cluster.kubectl(
        "run",
        "guarded",
        "--image=busybox:1.36",
        "--restart=Never",
        "-n",
        "secure",
        "--",
        "sleep",
        "3600",
        check=True,
    )
    try:
        result = sandbox_cluster.kubectl(
            "debug",
            "guarded",
            "-n",
            "secure",
            "--image=busybox:1.36",
            "--profile=sysadmin",
            "--",
            "true",
        )
        assert result.returncode != 0
        assert 'violates PodSecurity "baseline:latest"' in result.stderr
        assert "privileged" in result.stderr
    finally:
        sandbox_cluster.kubectl(
            "delete", "pod", "guarded", "-n", "secure", "--grace-period=0", "--force"
        )


def test_debug_node_and_copy_are_decoded_from_protobuf(sandbox_cluster: Any) -> None:
    node = sandbox_cluster.kubectl(
        "debug", "node/node-3", "-n", "default", "--image=busybox:1.36", "--", "true"
    )
    assert node.returncode == 0, node.stderr
    name = next(word for word in node.stdout.split() if word.startswith("node-debugger-"))
    pod = json.loads(sandbox_cluster.kubectl("get", "pod", name, "-o", "json").stdout)
    assert pod["spec"]["nodeName"] == "node-3"
    assert pod["spec"]["hostNetwork"] is True and pod["spec"]["hostPID"] is True
    assert pod["spec"]["volumes"] == [{"name": "host-root", "hostPath": {"path": "/"}}]
    assert pod["spec"]["containers"][0]["volumeMounts"] == [
        {"name": "host-root", "mountPath": "/host"}
    ]
    assert pod["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "kubectl-debug"}
    sandbox_cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")

    copy = sandbox_cluster.kubectl(
        "debug",
        "web",
        "-n",
        "shop",
        "--copy-to=web-copy",
        "--image=busybox:1.36",
        "--container=dbg",
        "--",
        "true",
    )
    assert copy.returncode == 0, copy.stderr
    copied = json.loads(
        sandbox_cluster.kubectl("get", "pod", "web-copy", "-n", "shop", "-o", "json").stdout
    )
    assert [c["name"] for c in copied["spec"]["containers"]] == ["web", "dbg"]
    assert copied["spec"]["containers"][0]["ports"] == [
        {"containerPort": 8080, "name": "http", "protocol": "TCP"}
    ]
    sandbox_cluster.kubectl(
        "delete", "pod", "web-copy", "-n", "shop", "--grace-period=0", "--force"
    )


def test_psa_refuses_a_node_debug_pod_in_a_baseline_namespace(sandbox_cluster: Any) -> None:
    result = sandbox_cluster.kubectl(
        "debug", "node/node-1", "-n", "secure", "--image=busybox:1.36", "--", "true"
    )
    assert result.returncode != 0
    assert "Error from server (Forbidden)" in result.stderr
    assert (
        'violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true, '
        'hostPID=true, hostIPC=true), hostPath volumes (volume "host-root")'
    ) in result.stderr


def test_kubectl_create_with_a_typo_is_refused_strictly(
    sandbox_cluster: Any, tmp_path: Any
) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "typo"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "imagePullPolicyy": "x"}]},
    }
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(manifest))
    result = sandbox_cluster.kubectl("create", "-f", str(path))
    assert result.returncode == 1
    assert 'strict decoding error: unknown field "spec.containers[0].imagePullPolicyy"' in (
        result.stderr
    )
    assert sandbox_cluster.kubectl("get", "pod", "typo").returncode == 1


def test_namespace_lifecycle_with_restricted_pod_security(sandbox_cluster: Any) -> None:
    created = sandbox_cluster.kubectl("create", "namespace", "team")
    assert created.returncode == 0, created.stderr
    try:
        labelled = sandbox_cluster.kubectl(
            "label", "namespace", "team", "pod-security.kubernetes.io/enforce=restricted"
        )
        assert labelled.returncode == 0, labelled.stderr
        refused = sandbox_cluster.kubectl("run", "x", "-n", "team", "--image=busybox:1.36")
        assert refused.returncode != 0
        assert (
            'pods "x" is forbidden: violates PodSecurity "restricted:latest": '
            "allowPrivilegeEscalation != false"
        ) in refused.stderr
    finally:
        deleted = sandbox_cluster.kubectl("delete", "namespace", "team", timeout=90)
    assert deleted.returncode == 0, deleted.stderr
    assert sandbox_cluster.kubectl("get", "namespace", "team").returncode == 1


def test_cordon_marks_the_node_and_stops_scheduling(sandbox_cluster: Any) -> None:
    assert sandbox_cluster.kubectl("cordon", "node-3").returncode == 0
    try:
        nodes = sandbox_cluster.kubectl("get", "node", "node-3").stdout
        assert "Ready,SchedulingDisabled" in nodes
        for index in range(3):
            sandbox_cluster.kubectl(
                "run",
                f"placed-{index}",
                "--image=busybox:1.36",
                "--restart=Never",
                "--",
                "sleep",
                "3600",
                check=True,
            )
        placed = sandbox_cluster.kubectl(
            "get",
            "pods",
            "-o",
            "jsonpath={.items[*].spec.nodeName}",
            "-l",
            "run",
        ).stdout.split()
        assert len(placed) == 3 and "node-3" not in placed
    finally:
        sandbox_cluster.kubectl("uncordon", "node-3")
        for index in range(3):
            sandbox_cluster.kubectl(
                "delete", "pod", f"placed-{index}", "--grace-period=0", "--force"
            )
