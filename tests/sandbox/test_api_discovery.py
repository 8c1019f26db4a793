"""Discovery and authentication, as kubectl and client libraries read them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.apiclient import api_only_options


@pytest.fixture
def sandbox_options() -> Any:
    return api_only_options()


AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"


async def test_version_and_legacy_discovery(admin_api: Any) -> None:
    version = await admin_api.get("/version")
    assert version.status == 200
    assert version.body["major"] == "1" and version.body["gitVersion"].startswith("v1.")

    core = await admin_api.get("/api")
    assert core.body["kind"] == "APIVersions" and core.body["versions"] == ["v1"]

    v1 = await admin_api.get("/api/v1")
    names = {r["name"]: r for r in v1.body["resources"]}
    for expected in (
        "pods",
        "pods/exec",
        "pods/attach",
        "pods/ephemeralcontainers",
        "pods/log",
        "pods/status",
        "nodes",
        "namespaces",
        "events",
    ):
        assert expected in names, expected
    assert names["pods"]["namespaced"] is True and "watch" in names["pods"]["verbs"]
    assert names["nodes"]["namespaced"] is False
    assert names["pods/ephemeralcontainers"]["verbs"] == ["get", "patch", "update"]

    groups = await admin_api.get("/apis")
    by_name = {g["name"]: g for g in groups.body["groups"]}
    assert by_name["coordination.k8s.io"]["preferredVersion"]["version"] == "v1"
    assert "authorization.k8s.io" in by_name

    leases = await admin_api.get("/apis/coordination.k8s.io/v1")
    assert [r["name"] for r in leases.body["resources"]] == ["leases"]
    reviews = await admin_api.get("/apis/authorization.k8s.io/v1")
    assert reviews.body["resources"][0]["name"] == "selfsubjectaccessreviews"


async def test_aggregated_discovery_when_asked(admin_api: Any) -> None:
    core = await admin_api.get("/api", headers={"Accept": AGGREGATED})
    assert core.headers["Content-Type"].startswith("application/json;g=apidiscovery.k8s.io;v=v2")
    assert core.body["kind"] == "APIGroupDiscoveryList"
    resources = {r["resource"]: r for r in core.body["items"][0]["versions"][0]["resources"]}
    subresources = {s["subresource"] for s in resources["pods"]["subresources"]}
    assert {"exec", "attach", "ephemeralcontainers", "log", "status"} <= subresources
    groups = await admin_api.get("/apis", headers={"Accept": AGGREGATED})
    assert {item["metadata"]["name"] for item in groups.body["items"]} == {
        "authentication.k8s.io",
        "coordination.k8s.io",
        "authorization.k8s.io",
        "discovery.k8s.io",
        "networking.k8s.io",
        "policy",
    }


async def test_unknown_paths_are_404_status(admin_api: Any) -> None:
    for path in ("/openapi/v1", "/apis/apps/v1", "/api/v2", "/api/v1/widgets", "/nonsense"):
        answer = await admin_api.get(path)
        assert answer.status == 404, path
        assert answer.body["kind"] == "Status" and answer.body["reason"] == "NotFound"


async def test_missing_or_bad_token_is_401(anonymous_api: Any) -> None:
    for path in ("/version", "/api/v1/pods", "/api/v1/namespaces/default/pods/x"):
        answer = await anonymous_api.get(path)
        assert answer.status == 401
        assert answer.body == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        }
    anonymous_api.token = "not-a-token"
    answer = await anonymous_api.get("/api/v1/nodes")
    assert answer.status == 401 and answer.body["reason"] == "Unauthorized"
