"""Create, get, list, update, patch and delete, with the API server's answers and errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.apiclient import api_only_options, pod_body


@pytest.fixture
def sandbox_options() -> Any:
    return api_only_options()


PODS = "/api/v1/namespaces/default/pods"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases"


async def test_create_get_and_generate_name(admin_api: Any) -> None:
    created = await admin_api.post(PODS, pod_body("alpha"))
    assert created.status == 201, created.text
    pod = created.body
    assert pod["metadata"]["uid"] and pod["metadata"]["resourceVersion"]
    assert pod["metadata"]["namespace"] == "default"
    assert pod["spec"]["nodeName"].startswith("node-")
    assert pod["status"]["phase"] == "Pending"
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"

    fetched = await admin_api.get(f"{PODS}/alpha")
    assert fetched.body == pod

    body = pod_body("")
    body["metadata"] = {"generateName": "worker-"}
    generated = await admin_api.post(PODS, body)
    assert generated.status == 201
    name = generated.body["metadata"]["name"]
    assert name.startswith("worker-") and len(name) == len("worker-") + 5


async def test_create_conflicts_and_missing_namespace(admin_api: Any) -> None:
    assert (await admin_api.post(PODS, pod_body("twice"))).status == 201
    again = await admin_api.post(PODS, pod_body("twice"))
    assert again.status == 409
    assert again.body["reason"] == "AlreadyExists"
    assert again.body["message"] == 'pods "twice" already exists'

    nowhere = await admin_api.post("/api/v1/namespaces/nowhere/pods", pod_body("lost"))
    assert nowhere.status == 404
    assert nowhere.body["message"] == 'namespaces "nowhere" not found'


async def test_get_missing_is_not_found(admin_api: Any) -> None:
    answer = await admin_api.get(f"{PODS}/ghost")
    assert answer.status == 404
    assert answer.body["message"] == 'pods "ghost" not found'
    assert answer.body["details"] == {"name": "ghost", "kind": "pods"}


async def test_list_with_label_and_field_selectors(admin_api: Any) -> None:
    for name, labels in (("s1", {"app": "a", "tier": "x"}), ("s2", {"app": "b"}), ("s3", {})):
        body = pod_body(name)
        body["metadata"]["labels"] = labels
        assert (await admin_api.post(PODS, body)).status == 201

    async def names(**params: str) -> list[str]:
        answer = await admin_api.get(PODS, params=params)
        assert answer.status == 200, answer.text
        assert answer.body["kind"] == "PodList"
        return sorted(
            p["metadata"]["name"] for p in answer.body["items"] if p["metadata"]["name"][0] == "s"
        )

    assert await names(labelSelector="app=a") == ["s1"]
    assert await names(labelSelector="app==a") == ["s1"]
    assert await names(labelSelector="app!=a") == ["s2", "s3"]
    assert await names(labelSelector="app in (a, b)") == ["s1", "s2"]
    assert await names(labelSelector="app notin (a)") == ["s2", "s3"]
    assert await names(labelSelector="tier") == ["s1"]
    assert await names(labelSelector="!tier") == ["s2", "s3"]
    assert await names(labelSelector="app,!tier") == ["s2"]
    assert await names(fieldSelector="metadata.name=s2") == ["s2"]
    assert await names(fieldSelector="metadata.name!=s2") == ["s1", "s3"]
    assert await names(fieldSelector="status.phase=Pending") == ["s1", "s2", "s3"]
    node = (await admin_api.get(f"{PODS}/s1")).body["spec"]["nodeName"]
    on_node = await admin_api.get("/api/v1/pods", params={"fieldSelector": f"spec.nodeName={node}"})
    assert on_node.body["items"]
    assert all(p["spec"]["nodeName"] == node for p in on_node.body["items"])
    by_ns = await admin_api.get("/api/v1/pods", params={"fieldSelector": "metadata.namespace=shop"})
    assert {p["metadata"]["name"] for p in by_ns.body["items"]} == {"api", "client", "db", "web"}


async def test_list_pages_with_limit_and_continue(admin_api: Any) -> None:
    everything = (await admin_api.get("/api/v1/pods")).body["items"]
    seen: list[str] = []
    params = {"limit": "2"}
    while True:
        page = await admin_api.get("/api/v1/pods", params=params)
        seen += [p["metadata"]["name"] for p in page.body["items"]]
        token = page.body["metadata"].get("continue")
        if not token:
            break
        params = {"limit": "2", "continue": token}
    assert seen == [p["metadata"]["name"] for p in everything]
    keys = [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in everything]
    assert keys == sorted(keys)


async def test_update_with_stale_resource_version_conflicts(admin_api: Any) -> None:
    pod = (await admin_api.post(PODS, pod_body("upd"))).body
    pod["metadata"]["labels"]["color"] = "blue"
    updated = await admin_api.request("PUT", f"{PODS}/upd", body=pod)
    assert updated.status == 200, updated.text
    assert updated.body["metadata"]["labels"]["color"] == "blue"
    assert int(updated.body["metadata"]["resourceVersion"]) > int(
        pod["metadata"]["resourceVersion"]
    )

    stale = await admin_api.request("PUT", f"{PODS}/upd", body=pod)
    assert stale.status == 409
    assert stale.body["reason"] == "Conflict"
    assert stale.body["message"].startswith('Operation cannot be fulfilled on pods "upd"')

    fresh = updated.body
    fresh["spec"]["restartPolicy"] = "Never"
    forbidden = await admin_api.request("PUT", f"{PODS}/upd", body=fresh)
    assert forbidden.status == 422
    assert "pod updates may not change fields" in forbidden.body["message"]


async def test_three_patch_types_and_unsupported_media(admin_api: Any) -> None:
    await admin_api.post(PODS, pod_body("pat"))
    merge = await admin_api.request(
        "PATCH",
        f"{PODS}/pat",
        body={"metadata": {"labels": {"a": "1"}}},
        content_type="application/merge-patch+json",
    )
    assert merge.status == 200 and merge.body["metadata"]["labels"]["a"] == "1"
    strategic = await admin_api.request(
        "PATCH",
        f"{PODS}/pat",
        body={"spec": {"containers": [{"name": "main", "image": "busybox:1.37"}]}},
        content_type="application/strategic-merge-patch+json",
    )
    assert strategic.status == 200, strategic.text
    assert strategic.body["spec"]["containers"][0]["image"] == "busybox:1.37"
    assert strategic.body["spec"]["containers"][0]["terminationMessagePath"]
    jsonpatch = await admin_api.request(
        "PATCH",
        f"{PODS}/pat",
        body=[
            {"op": "test", "path": "/metadata/labels/a", "value": "1"},
            {"op": "replace", "path": "/metadata/labels/a", "value": "2"},
            {"op": "add", "path": "/metadata/annotations", "value": {"note": "x"}},
        ],
        content_type="application/json-patch+json",
    )
    assert jsonpatch.status == 200, jsonpatch.text
    assert jsonpatch.body["metadata"]["labels"]["a"] == "2"
    assert jsonpatch.body["metadata"]["annotations"] == {"note": "x"}
    failed_test = await admin_api.request(
        "PATCH",
        f"{PODS}/pat",
        body=[{"op": "test", "path": "/metadata/labels/a", "value": "9"}],
        content_type="application/json-patch+json",
    )
    assert failed_test.status == 422
    unsupported = await admin_api.request(
        "PATCH", f"{PODS}/pat", body={}, content_type="text/plain"
    )
    assert unsupported.status == 415
    assert unsupported.body["reason"] == "UnsupportedMediaType"


async def test_delete_returns_the_object_and_removes_it(admin_api: Any) -> None:
    created = (await admin_api.post(PODS, pod_body("bye"))).body
    deleted = await admin_api.request("DELETE", f"{PODS}/bye")
    assert deleted.status == 200
    assert deleted.body["metadata"]["uid"] == created["metadata"]["uid"]
    assert (await admin_api.get(f"{PODS}/bye")).status == 404
    assert (await admin_api.request("DELETE", f"{PODS}/bye")).status == 404


async def test_pod_deletion_goes_through_terminating_when_a_kubelet_owns_it(
    api_sandbox: Any, admin_api: Any
) -> None:
    api_sandbox.server.resources.finish_deletions = False
    await admin_api.post(PODS, pod_body("slow"))
    deleted = await admin_api.request("DELETE", f"{PODS}/slow", params={"gracePeriodSeconds": "7"})
    assert deleted.body["metadata"]["deletionTimestamp"]
    assert deleted.body["metadata"]["deletionGracePeriodSeconds"] == 7
    table = await admin_api.get(
        f"{PODS}/slow", headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
    )
    assert table.body["rows"][0]["cells"][2] == "Terminating"
    api_sandbox.store.remove("pods", "default", "slow")
    assert (await admin_api.get(f"{PODS}/slow")).status == 404


async def test_dry_run_admits_without_storing(admin_api: Any) -> None:
    answer = await admin_api.post(PODS, pod_body("dry"), params={"dryRun": "All"})
    assert answer.status == 201 and answer.body["metadata"]["name"] == "dry"
    assert (await admin_api.get(f"{PODS}/dry")).status == 404


async def test_leases_lifecycle(admin_api: Any) -> None:
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "holder", "labels": {"owner": "me"}},
        "spec": {
            "holderIdentity": "me",
            "leaseDurationSeconds": 30,
            "renewTime": "2026-11-26T17:00:00.000000Z",
        },
    }
    created = await admin_api.post(LEASES, lease)
    assert created.status == 201, created.text
    assert created.body["spec"]["renewTime"] == "2026-11-26T17:00:00.000000Z"
    assert (await admin_api.post(LEASES, lease)).status == 409
    current = created.body
    current["spec"]["holderIdentity"] = "you"
    renewed = await admin_api.request("PUT", f"{LEASES}/holder", body=current)
    assert renewed.status == 200 and renewed.body["spec"]["holderIdentity"] == "you"
    stale = await admin_api.request("PUT", f"{LEASES}/holder", body=current)
    assert stale.status == 409
    assert stale.body["message"].startswith(
        'Operation cannot be fulfilled on leases.coordination.k8s.io "holder"'
    )
    listed = await admin_api.get(
        "/apis/coordination.k8s.io/v1/leases", params={"labelSelector": "owner=me"}
    )
    assert [item["metadata"]["name"] for item in listed.body["items"]] == ["holder"]
    assert listed.body["kind"] == "LeaseList"
    assert (await admin_api.request("DELETE", f"{LEASES}/holder")).status == 200
    gone = await admin_api.get(f"{LEASES}/holder")
    assert gone.status == 404
    assert gone.body["message"] == 'leases.coordination.k8s.io "holder" not found'


async def test_namespace_deletion_takes_its_pods(admin_api: Any) -> None:
    made = await admin_api.post("/api/v1/namespaces", {"metadata": {"name": "temp"}})
    assert made.status == 201
    await admin_api.post("/api/v1/namespaces/temp/pods", pod_body("inside"))
    assert (await admin_api.request("DELETE", "/api/v1/namespaces/temp")).status == 200
    assert (await admin_api.get("/api/v1/namespaces/temp/pods/inside")).status == 404
    assert (await admin_api.get("/api/v1/namespaces/temp")).status == 404
