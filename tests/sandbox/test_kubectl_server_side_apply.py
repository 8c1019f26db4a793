"""`kubectl apply --server-side` against the sandbox: field managers, conflicts, forcing."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException


@pytest.fixture(scope="module")
def namespace(sandbox_cluster: Any) -> Iterator[str]:
    name = f"ssa-{secrets.token_hex(3)}"
    created = sandbox_cluster.kubectl("create", "namespace", name)
    assert created.returncode == 0, created.stderr
    yield name
    sandbox_cluster.kubectl("delete", "namespace", name, "--wait=false")


def manifest(name: str, image: str = "busybox:1.36", **labels: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {"app": name}},
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "image": image,
                        "command": ["sleep", "3600"],
                        "ports": [{"containerPort": 8080}],
                    }
                ]
            },
        }
    )


def apply(cluster: Any, namespace: str, body: str, *flags: str) -> Any:
    return cluster.kubectl("apply", "--server-side", "-n", namespace, "-f", "-", *flags, input=body)


def get(cluster: Any, namespace: str, name: str, *flags: str) -> dict[str, Any]:
    result = cluster.kubectl("get", "pod", name, "-n", namespace, "-o", "json", *flags)
    assert result.returncode == 0, result.stderr
    pod: dict[str, Any] = json.loads(result.stdout)
    return pod


def managers(pod: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m["manager"], m["operation"]): m for m in pod["metadata"]["managedFields"]}


def test_apply_creates_then_updates_the_object(sandbox_cluster: Any, namespace: str) -> None:
    created = apply(sandbox_cluster, namespace, manifest("made"))
    assert created.returncode == 0, created.stderr
    assert created.stdout == "pod/made serverside-applied\n"
    pod = get(sandbox_cluster, namespace, "made", "--show-managed-fields")
    entry = managers(pod)[("kubectl", "Apply")]
    assert entry["apiVersion"] == "v1" and entry["fieldsType"] == "FieldsV1"
    container = entry["fieldsV1"]["f:spec"]["f:containers"]['k:{"name":"c"}']
    assert set(container) == {".", "f:name", "f:image", "f:command", "f:ports"}
    assert 'k:{"containerPort":8080,"protocol":"TCP"}' in container["f:ports"]
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"

    updated = apply(sandbox_cluster, namespace, manifest("made", "busybox:1.37", tier="web"))
    assert updated.returncode == 0, updated.stderr
    pod = get(sandbox_cluster, namespace, "made")
    assert pod["spec"]["containers"][0]["image"] == "busybox:1.37"
    assert pod["metadata"]["labels"] == {"tier": "web"}
    assert "managedFields" not in pod["metadata"]


def test_a_conflict_names_the_other_manager_until_forced(
    sandbox_cluster: Any, namespace: str
) -> None:
    first = apply(sandbox_cluster, namespace, manifest("shared"), "--field-manager=a")
    assert first.returncode == 0, first.stderr
    same = apply(sandbox_cluster, namespace, manifest("shared"), "--field-manager=b")
    assert same.returncode == 0, same.stderr
    changed = manifest("shared", "busybox:1.37")
    refused = apply(sandbox_cluster, namespace, changed, "--field-manager=b")
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        'error: Apply failed with 1 conflict: conflict with "a": .spec.containers[name="c"].image\n'
    )
    assert "--force-conflicts" in refused.stderr
    assert get(sandbox_cluster, namespace, "shared")["spec"]["containers"][0]["image"] == (
        "busybox:1.36"
    )

    forced = apply(sandbox_cluster, namespace, changed, "--field-manager=b", "--force-conflicts")
    assert forced.returncode == 0, forced.stderr
    pod = get(sandbox_cluster, namespace, "shared", "--show-managed-fields")
    assert pod["spec"]["containers"][0]["image"] == "busybox:1.37"
    entries = managers(pod)
    assert set(entries) == {("a", "Apply"), ("b", "Apply")}
    owned_by = {
        name: entry["fieldsV1"]["f:spec"]["f:containers"]['k:{"name":"c"}']
        for (name, _), entry in entries.items()
    }
    assert "f:image" in owned_by["b"] and "f:image" not in owned_by["a"]
    assert "f:command" in owned_by["a"] and "f:command" in owned_by["b"]


def test_apply_conflicts_with_the_manager_of_an_update(
    sandbox_cluster: Any, namespace: str
) -> None:
    created = sandbox_cluster.kubectl(
        "create", "-n", namespace, "-f", "-", input=manifest("edited")
    )
    assert created.returncode == 0, created.stderr
    labelled = sandbox_cluster.kubectl(
        "label", "pod", "edited", "-n", namespace, "app=mine", "--overwrite"
    )
    assert labelled.returncode == 0, labelled.stderr
    pod = get(sandbox_cluster, namespace, "edited", "--show-managed-fields")
    assert set(managers(pod)) == {("kubectl-create", "Update"), ("kubectl-label", "Update")}
    refused = apply(sandbox_cluster, namespace, manifest("edited", app="theirs"))
    assert refused.returncode == 1
    assert (
        'Apply failed with 1 conflict: conflict with "kubectl-label" using v1: '
        ".metadata.labels.app" in refused.stderr
    )


@pytest.fixture(scope="module")
def core(sandbox_cluster: Any) -> Iterator[client.CoreV1Api]:
    api = config.new_client_from_config(config_file=str(sandbox_cluster.kubeconfig))
    yield client.CoreV1Api(api)
    api.close()


def test_apply_requires_a_field_manager(core: client.CoreV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as raised:
        core.patch_namespaced_pod(
            "nobody", namespace, json.loads(manifest("nobody")),
            _content_type="application/apply-patch+yaml",
        )  # fmt: skip
    assert raised.value.status == 422
    status = json.loads(raised.value.body)
    assert status["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required '
        "for apply requests"
    )


def test_a_python_client_update_is_owned_by_its_user_agent(
    core: client.CoreV1Api, namespace: str
) -> None:
    body = json.loads(manifest("agent"))
    core.create_namespaced_pod(namespace, body, field_manager="creator")
    patched = core.patch_namespaced_pod("agent", namespace, {"metadata": {"labels": {"x": "y"}}})
    entries = {(m.manager, m.operation): m for m in patched.metadata.managed_fields}
    assert set(entries) == {("creator", "Update"), ("OpenAPI-Generator", "Update")}
    assert entries[("OpenAPI-Generator", "Update")].fields_v1 == {
        "f:metadata": {"f:labels": {"f:x": {}}}
    }
