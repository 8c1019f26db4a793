"""Random ill-typed bodies and patches never make the server answer 5xx or break listings."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.sandbox.apiclient import api_only_options

VALUES: list[Any] = ["x", 5, True, None, [], {}, [1], {"a": 1}, [{"name": 1}], -1, 1.5]
COLLECTIONS = [
    "/api/v1/namespaces/default/pods",
    "/api/v1/nodes",
    "/api/v1/namespaces",
    "/apis/coordination.k8s.io/v1/namespaces/default/leases",
    "/api/v1/namespaces/default/events",
]
OBJECTS = [
    "/api/v1/nodes/node-1",
    "/api/v1/namespaces/default",
    "/api/v1/namespaces/default/pods/load-0000",
    "/api/v1/namespaces/default/pods/load-0001/ephemeralcontainers",
    "/api/v1/namespaces/default/pods/load-0001/status",
    "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1",
]
FIELDS = [
    "metadata",
    "spec",
    "status",
    "kind",
    "involvedObject",
    "metadata.name",
    "metadata.labels",
    "metadata.creationTimestamp",
    "spec.containers",
    "spec.ephemeralContainers",
    "spec.nodeName",
    "spec.unschedulable",
    "spec.holderIdentity",
    "status.conditions",
    "status.addresses",
    "status.nodeInfo",
    "status.containerStatuses",
    "status.phase",
    "lastTimestamp",
]
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
PATCH_TYPES = [
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
]


@pytest.fixture
def sandbox_options() -> Any:
    return api_only_options()


def set_path(obj: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        if not isinstance(obj.get(part), dict):
            obj[part] = {}
        obj = obj[part]
    obj[parts[-1]] = value


async def test_ill_typed_input_gets_4xx_and_listings_keep_working(admin_api: Any) -> None:
    rnd = random.Random(20261126)
    failures = []
    for index in range(300):
        body: dict[str, Any] = {
            "metadata": {"name": f"f{index}"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        }
        for _ in range(rnd.randint(1, 3)):
            set_path(body, rnd.choice(FIELDS), rnd.choice(VALUES))
        created = await admin_api.post(rnd.choice(COLLECTIONS), body)
        if created.status >= 500:
            failures.append(("POST", body, created.text))
        patch: dict[str, Any] = {}
        set_path(patch, rnd.choice(FIELDS), rnd.choice(VALUES))
        patched = await admin_api.request(
            "PATCH", rnd.choice(OBJECTS), body=patch, content_type=rnd.choice(PATCH_TYPES)
        )
        if patched.status >= 500:
            failures.append(("PATCH", patch, patched.text))
    for path in [*COLLECTIONS, "/api/v1/pods"]:
        for accept in ("application/json", TABLE):
            listed = await admin_api.get(path, headers={"Accept": accept})
            assert listed.status == 200, (path, accept, listed.text)
    assert failures == []
