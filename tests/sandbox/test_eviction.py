"""Evicting pods through `pods/eviction`: `kubectl drain` and the official Python client."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from retina_tui.sandbox import budgets
from retina_tui.sandbox.store import Store
from tests.sandbox.apiclient import api_only_options

DRAINED_NODE = "node-3"
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."


@pytest.fixture(scope="module")
def namespace(sandbox_cluster: Any) -> Iterator[str]:
    name = f"evict-{secrets.token_hex(3)}"
    created = sandbox_cluster.kubectl("create", "namespace", name)
    assert created.returncode == 0, created.stderr
    yield name
    sandbox_cluster.kubectl("delete", "namespace", name, "--wait=false")


@pytest.fixture(scope="module")
def core(sandbox_cluster: Any) -> Iterator[client.CoreV1Api]:
    api = config.new_client_from_config(config_file=str(sandbox_cluster.kubeconfig))
    yield client.CoreV1Api(api)
    api.close()


def run_pods(cluster: Any, namespace: str, label: str, *names: str, node: str = "") -> None:
    overrides = json.dumps({"spec": {"nodeName": node}}) if node else "{}"
    for name in names:
        created = cluster.kubectl(
            "run", name, "-n", namespace, "--image=busybox:1.36", "--restart=Never",
            f"--labels=batch={label}", f"--overrides={overrides}", "--", "sleep", "infinity",
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
    ready = cluster.kubectl(
        "wait", "-n", namespace, "--for=condition=Ready", "--timeout=60s",
        *[f"pod/{name}" for name in names],
    )  # fmt: skip
    assert ready.returncode == 0, ready.stderr


def eviction(name: str, **options: Any) -> client.V1Eviction:
    return client.V1Eviction(
        metadata=client.V1ObjectMeta(name=name),
        delete_options=client.V1DeleteOptions(**options) if options else None,
    )


def test_drain_evicts_the_selected_pods_of_a_node(sandbox_cluster: Any, namespace: str) -> None:
    run_pods(sandbox_cluster, namespace, "drain", "drain-a", "drain-b", node=DRAINED_NODE)
    run_pods(sandbox_cluster, namespace, "stay", "stay-a", node=DRAINED_NODE)
    try:
        drained = sandbox_cluster.kubectl(
            "drain", DRAINED_NODE, "--ignore-daemonsets", "--delete-emptydir-data", "--force",
            "--pod-selector=batch=drain", "--grace-period=1", "--timeout=60s",
        )  # fmt: skip
        assert drained.returncode == 0, drained.stderr
        assert "pod/drain-a evicted" in drained.stdout
        assert "pod/drain-b evicted" in drained.stdout
        assert f"node/{DRAINED_NODE} drained" in drained.stdout
    finally:
        uncordoned = sandbox_cluster.kubectl("uncordon", DRAINED_NODE)
    assert uncordoned.returncode == 0, uncordoned.stderr
    left = sandbox_cluster.kubectl(
        "get", "pods", "-n", namespace, "-l", "batch in (drain,stay)", "-o", "name"
    )
    assert left.stdout.split() == ["pod/stay-a"]


def test_python_client_evicts_a_pod(
    sandbox_cluster: Any, namespace: str, core: client.CoreV1Api
) -> None:
    run_pods(sandbox_cluster, namespace, "client", "by-client")
    answer = core.create_namespaced_pod_eviction(
        "by-client",
        namespace,
        eviction("by-client", grace_period_seconds=0),
        _preload_content=False,
    )
    assert answer.status == 201
    assert json.loads(answer.data) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "code": 201,
    }
    gone = sandbox_cluster.kubectl(
        "wait", "-n", namespace, "--for=delete", "pod/by-client", "--timeout=60s"
    )
    assert gone.returncode == 0, gone.stderr


def test_eviction_honours_delete_options_and_marks_the_pod(
    sandbox_cluster: Any, namespace: str, core: client.CoreV1Api
) -> None:
    run_pods(sandbox_cluster, namespace, "graceful", "graceful")
    try:
        core.create_namespaced_pod_eviction(
            "graceful", namespace, eviction("graceful", dry_run=["All"])
        )
        untouched = core.read_namespaced_pod("graceful", namespace)
        assert untouched.metadata.deletion_timestamp is None
        with pytest.raises(ApiException) as stale:
            core.create_namespaced_pod_eviction(
                "graceful", namespace,
                eviction("graceful", preconditions=client.V1Preconditions(uid="not-the-uid")),
            )  # fmt: skip
        assert stale.value.status == 409
        core.create_namespaced_pod_eviction(
            "graceful", namespace, eviction("graceful", grace_period_seconds=45)
        )
        pod = core.read_namespaced_pod("graceful", namespace)
        assert pod.metadata.deletion_timestamp is not None
        assert pod.metadata.deletion_grace_period_seconds == 45
        target = [c for c in pod.status.conditions if c.type == "DisruptionTarget"]
        assert [(c.status, c.reason) for c in target] == [("True", "EvictionByEvictionAPI")]
    finally:
        sandbox_cluster.kubectl(
            "delete", "pod", "graceful", "-n", namespace, "--grace-period=0", "--force"
        )


def test_eviction_errors_are_the_api_servers(
    sandbox_cluster: Any, namespace: str, core: client.CoreV1Api
) -> None:
    with pytest.raises(ApiException) as missing:
        core.create_namespaced_pod_eviction("nope", namespace, eviction("nope"))
    assert missing.value.status == 404
    assert json.loads(missing.value.body)["message"] == 'pods "nope" not found'
    with pytest.raises(ApiException) as mismatch:
        core.create_namespaced_pod_eviction("nope", namespace, eviction("other"))
    assert mismatch.value.status == 400
    assert json.loads(mismatch.value.body)["message"] == (
        "name in URL does not match name in Eviction object"
    )
    fetched = sandbox_cluster.kubectl("get", "--raw", "/api/v1/namespaces/shop/pods/web/eviction")
    assert fetched.returncode == 1
    assert fetched.stderr.strip() == (
        "Error from server (MethodNotAllowed): the server does not allow this method on the "
        "requested resource"
    )


def test_restricted_user_may_not_evict(sandbox_cluster: Any) -> None:
    api = config.new_client_from_config(
        config_file=str(sandbox_cluster.kubeconfig), context="restricted"
    )
    try:
        with pytest.raises(ApiException) as refused:
            client.CoreV1Api(api).create_namespaced_pod_eviction("web", "shop", eviction("web"))
    finally:
        api.close()
    assert refused.value.status == 403
    assert json.loads(refused.value.body)["message"] == (
        'pods "web" is forbidden: User "restricted" cannot create resource "pods/eviction" '
        'in API group "" in the namespace "shop"'
    )


def test_discovery_lists_eviction_in_the_policy_group(sandbox_cluster: Any) -> None:
    listed = sandbox_cluster.kubectl("get", "--raw", "/api/v1")
    resources = {r["name"]: r for r in json.loads(listed.stdout)["resources"]}
    entry = resources["pods/eviction"]
    assert (entry["group"], entry["version"], entry["kind"]) == ("policy", "v1", "Eviction")
    assert entry["verbs"] == ["create"]


def _field(number: int, payload: bytes | int) -> bytes:
    """One protobuf field: a varint, or length-delimited bytes."""

    def varint(value: int) -> bytes:
        out = b""
        while True:
            low, value = value & 0x7F, value >> 7
            out += bytes([low | (0x80 if value else 0)])
            if not value:
                return out

    if isinstance(payload, int):
        return varint(number << 3) + varint(payload)
    return varint(number << 3 | 2) + varint(len(payload)) + payload


@pytest.fixture
def sandbox_options() -> Any:
    return api_only_options()


async def test_protobuf_and_v1beta1_evictions_are_understood(admin_api: Any) -> None:
    """Clients built on client-go's protobuf content type post Evictions that way."""
    meta = _field(1, b"web") + _field(3, b"shop")
    body = _field(1, meta) + _field(2, _field(1, 0))
    type_meta = _field(1, b"policy/v1") + _field(2, b"Eviction")
    envelope = b"k8s\x00" + _field(1, type_meta) + _field(2, body)
    answer = await admin_api.request(
        "POST",
        "/api/v1/namespaces/shop/pods/web/eviction",
        raw=envelope,
        content_type="application/vnd.kubernetes.protobuf",
    )
    assert answer.status == 201, answer.text
    assert answer.body["status"] == "Success"
    assert (await admin_api.get("/api/v1/namespaces/shop/pods/web")).status == 404
    wrong = _field(1, _field(1, b"other"))
    mismatch = await admin_api.request(
        "POST",
        "/api/v1/namespaces/shop/pods/db/eviction",
        raw=b"k8s\x00" + _field(1, type_meta) + _field(2, wrong),
        content_type="application/vnd.kubernetes.protobuf",
    )
    assert mismatch.status == 400
    assert mismatch.body["message"] == "name in URL does not match name in Eviction object"
    older = await admin_api.post(
        "/api/v1/namespaces/shop/pods/db/eviction",
        {"apiVersion": "policy/v1beta1", "kind": "Eviction", "metadata": {"name": "db"}},
    )
    assert older.status == 201, older.text
    assert (await admin_api.get("/api/v1/namespaces/shop/pods/db")).status == 404


def _budget(namespace: str, name: str, spec: dict[str, Any]) -> str:
    return json.dumps(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
    )


def test_a_disruption_budget_stops_the_eviction_it_forbids(
    sandbox_cluster: Any, namespace: str, core: client.CoreV1Api
) -> None:
    pods = ("guarded-a", "guarded-b", "guarded-c")
    run_pods(sandbox_cluster, namespace, "guarded", *pods, node=DRAINED_NODE)
    spec = {"minAvailable": 2, "selector": {"matchLabels": {"batch": "guarded"}}}
    made = sandbox_cluster.kubectl("create", "-f", "-", input=_budget(namespace, "keep-two", spec))
    assert made.returncode == 0, made.stderr
    counted = sandbox_cluster.kubectl(
        "wait", "-n", namespace, "pdb/keep-two", "--timeout=30s",
        "--for=jsonpath={.status.disruptionsAllowed}=1",
    )  # fmt: skip
    assert counted.returncode == 0, counted.stderr
    shown = sandbox_cluster.kubectl("get", "pdb", "-n", namespace, "keep-two", "-o", "json")
    status = json.loads(shown.stdout)["status"]
    assert (status["currentHealthy"], status["desiredHealthy"], status["expectedPods"]) == (3, 2, 3)
    try:
        core.create_namespaced_pod_eviction(
            "guarded-a", namespace, eviction("guarded-a", grace_period_seconds=0)
        )
        with pytest.raises(ApiException) as refused:
            core.create_namespaced_pod_eviction("guarded-b", namespace, eviction("guarded-b"))
        assert refused.value.status == 429
        body = json.loads(refused.value.body)
        assert (body["reason"], body["message"]) == ("TooManyRequests", VIOLATION)
        assert body["details"]["causes"] == [
            {
                "reason": "DisruptionBudget",
                "message": "The disruption budget keep-two needs 2 healthy pods and has 2 "
                "currently",
            }
        ]
        assert core.read_namespaced_pod("guarded-b", namespace).metadata.deletion_timestamp is None
        drained = sandbox_cluster.kubectl(
            "drain", DRAINED_NODE, "--force", "--pod-selector=batch=guarded", "--timeout=2s",
        )  # fmt: skip
        assert drained.returncode == 1
        assert f'evicting pods/"guarded-b" -n "{namespace}" (will retry after 5s): ' in (
            drained.stderr
        )
        assert VIOLATION in drained.stderr
    finally:
        sandbox_cluster.kubectl("uncordon", DRAINED_NODE)
        sandbox_cluster.kubectl("delete", "pdb", "-n", namespace, "keep-two")
    allowed = core.create_namespaced_pod_eviction(
        "guarded-b", namespace, eviction("guarded-b", grace_period_seconds=0),
        _preload_content=False,
    )  # fmt: skip
    assert allowed.status == 201


def test_budget_status_follows_min_available_and_max_unavailable() -> None:
    store = Store()
    for index, ready in enumerate((True, True, True, False)):
        store.create(
            "pods",
            {
                "metadata": {"name": f"p{index}", "namespace": "ns", "labels": {"app": "x"}},
                "status": {"conditions": [{"type": "Ready", "status": str(ready)}]},
            },
        )
    selector = {"matchLabels": {"app": "x"}}

    def status(spec: dict[str, Any]) -> tuple[int, int, int]:
        budget = store.create(
            "poddisruptionbudgets",
            {"metadata": {"name": secrets.token_hex(3), "namespace": "ns"}, "spec": spec},
        )
        found = budgets.compute_status(store, budget)
        return found["currentHealthy"], found["desiredHealthy"], found["disruptionsAllowed"]

    assert status({"minAvailable": 2, "selector": selector}) == (3, 2, 1)
    assert status({"minAvailable": "50%", "selector": selector}) == (3, 2, 1)
    assert status({"maxUnavailable": 1, "selector": selector}) == (3, 3, 0)
    assert status({"maxUnavailable": "30%", "selector": selector}) == (3, 2, 1)
    assert status({"minAvailable": 1, "selector": {}}) == (3, 1, 2)
    assert status({"minAvailable": 1}) == (0, 1, 0)
