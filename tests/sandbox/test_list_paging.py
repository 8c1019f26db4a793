"""List pages (`limit` / `continue`) that never skip or repeat an object under deletions."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from tests.sandbox.apiclient import api_only_options

POD_COUNT = 30


@pytest.fixture
def sandbox_options() -> Any:
    return api_only_options()


@pytest.fixture(scope="module")
def core(sandbox_cluster: Any) -> Iterator[client.CoreV1Api]:
    api = config.new_client_from_config(config_file=str(sandbox_cluster.kubeconfig))
    yield client.CoreV1Api(api)
    api.close()


def pending_pod(name: str) -> client.V1Pod:
    """A pod no node can take: it stays Pending, and a delete removes it at once."""
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"paging": "yes"}),
        spec=client.V1PodSpec(
            node_selector={"paging.example/none": "none"},
            containers=[client.V1Container(name="c", image="busybox:1.36")],
        ),
    )


@pytest.fixture
def namespace(sandbox_cluster: Any, core: client.CoreV1Api) -> Iterator[str]:
    name = f"paging-{secrets.token_hex(3)}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    for index in range(POD_COUNT):
        core.create_namespaced_pod(name, pending_pod(f"p-{index:02d}"))
    yield name
    core.delete_namespace(name)


def names(pods: Any) -> list[str]:
    return [pod.metadata.name for pod in pods.items]


def test_deleting_between_pages_skips_nothing(namespace: str, core: client.CoreV1Api) -> None:
    first = core.list_namespaced_pod(namespace, limit=5)
    assert names(first) == [f"p-{i:02d}" for i in range(5)]
    assert first.metadata.remaining_item_count == POD_COUNT - 5
    for gone in ("p-01", "p-05", "p-06"):
        core.delete_namespaced_pod(gone, namespace)
    seen = names(first)
    token = first.metadata._continue
    while token:
        page = core.list_namespaced_pod(namespace, limit=5, _continue=token)
        assert page.metadata.resource_version == first.metadata.resource_version
        seen += names(page)
        token = page.metadata._continue
    expected = [f"p-{i:02d}" for i in range(POD_COUNT) if i not in (5, 6)]
    assert seen == expected


def test_the_token_is_the_api_servers(namespace: str, core: client.CoreV1Api) -> None:
    page = core.list_namespaced_pod(namespace, limit=3)
    token = page.metadata._continue
    decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert decoded == {
        "v": "meta.k8s.io/v1",
        "rv": int(page.metadata.resource_version),
        "start": "p-02\u0000",
    }
    across = core.list_pod_for_all_namespaces(label_selector="paging=yes", limit=2)
    token = across.metadata._continue
    decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert decoded["start"] == f"{namespace}/p-01\u0000"
    assert across.metadata.remaining_item_count is None


def test_kubectl_chunks_see_every_surviving_pod_once(
    sandbox_cluster: Any, namespace: str, core: client.CoreV1Api
) -> None:
    """Each deletion happens while a chunked `kubectl get` is under way."""
    doomed = [f"p-{i:02d}" for i in range(0, POD_COUNT, 3)]
    survivors = {f"p-{i:02d}" for i in range(POD_COUNT)} - set(doomed)
    listing_started = threading.Semaphore(0)

    def delete_doomed() -> None:
        for name in doomed:
            if not listing_started.acquire(timeout=30):
                return
            core.delete_namespaced_pod(name, namespace)

    deleter = threading.Thread(target=delete_doomed, name="paging-deleter")
    deleter.start()
    listings = []
    try:
        while deleter.is_alive() or not listings:
            listing = sandbox_cluster.kubectl_popen(
                "get", "pods", "-n", namespace, "--chunk-size=5", "--no-headers",
                "-o", "custom-columns=NAME:.metadata.name",
            )  # fmt: skip
            listing_started.release()
            out, err = listing.communicate(timeout=60)
            assert listing.returncode == 0, err
            listings.append(Counter(out.split()))
    finally:
        for _ in doomed:
            listing_started.release()
        deleter.join(30)
    assert len(listings) >= len(doomed)
    for seen in listings:
        assert all(count == 1 for count in seen.values()), seen
        assert survivors <= set(seen), sorted(survivors - set(seen))
        assert set(seen) <= survivors | set(doomed)
    after = sandbox_cluster.kubectl("get", "pods", "-n", namespace, "--chunk-size=5", "-o", "name")
    assert sorted(after.stdout.split()) == sorted(f"pod/{name}" for name in survivors)


async def test_garbled_tokens_are_400(admin_api: Any) -> None:
    def token(payload: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")

    cases = {
        "not base64 !": "invalid continue token: continue key is not valid: incorrect encoded "
        "start resourceVersion (version meta.k8s.io/v1)",
        token({"v": "meta.k8s.io/v1", "rv": 0, "start": "a\u0000"}): "invalid continue token: "
        "continue key is not valid: incorrect encoded start resourceVersion (version "
        "meta.k8s.io/v1)",
        token({"v": "meta.k8s.io/v1", "rv": 5, "start": ""}): "invalid continue token: continue "
        "key is not valid: encoded start key empty (version meta.k8s.io/v1)",
        token({"v": "v9", "rv": 5, "start": "a"}): "invalid continue token: continue key is not "
        "valid: server does not recognize this encoded version v9",
    }
    for value, message in cases.items():
        answer = await admin_api.get("/api/v1/pods", params={"limit": "2", "continue": value})
        assert answer.status == 400, value
        assert answer.body["reason"] == "BadRequest"
        assert answer.body["message"].startswith(message), answer.body["message"]
    first = await admin_api.get("/api/v1/pods", params={"limit": "2"})
    both = await admin_api.get(
        "/api/v1/pods",
        params={
            "limit": "2",
            "continue": first.body["metadata"]["continue"],
            "resourceVersion": "5",
        },
    )
    assert both.status == 400
    assert both.body["message"] == "specifying resource version is not allowed when using continue"


async def test_a_compacted_token_is_410_with_a_token_to_go_on(
    api_sandbox: Any, admin_api: Any
) -> None:
    first = await admin_api.get("/api/v1/namespaces/default/pods", params={"limit": "2"})
    assert first.status == 200
    created = await admin_api.post(
        "/api/v1/namespaces/default/pods",
        {"metadata": {"name": "zz-late"}, "spec": {"containers": [{"name": "c", "image": "x"}]}},
    )
    assert created.status == 201, created.text
    api_sandbox.store.compact()
    expired = await admin_api.get(
        "/api/v1/namespaces/default/pods",
        params={"limit": "2", "continue": first.body["metadata"]["continue"]},
    )
    assert expired.status == 410
    assert expired.body["reason"] == "Expired"
    assert expired.body["message"].startswith(
        "The provided continue parameter is too old to display a consistent list result. You "
        "can start a new list without the continue parameter, or use the continue token in "
        "this response to retrieve the remainder of the results."
    )
    inconsistent = expired.body["metadata"]["continue"]
    decoded = json.loads(base64.urlsafe_b64decode(inconsistent + "=" * (-len(inconsistent) % 4)))
    assert decoded["rv"] == -1
    rest = await admin_api.get(
        "/api/v1/namespaces/default/pods", params={"limit": "500", "continue": inconsistent}
    )
    assert rest.status == 200
    listed = [p["metadata"]["name"] for p in first.body["items"]]
    listed += [p["metadata"]["name"] for p in rest.body["items"]]
    everything = await admin_api.get("/api/v1/namespaces/default/pods")
    assert listed == [p["metadata"]["name"] for p in everything.body["items"]]
    assert "zz-late" in listed
