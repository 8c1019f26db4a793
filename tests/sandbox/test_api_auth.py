"""RBAC of the restricted user and SelfSubjectAccessReview, with the real 403 wording."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.apiclient import api_only_options, pod_body


@pytest.fixture
def sandbox_options() -> Any:
    return api_only_options()


SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


async def test_restricted_user_reads_pods_nodes_namespaces(restricted_api: Any) -> None:
    for path in (
        "/api/v1/pods",
        "/api/v1/nodes",
        "/api/v1/namespaces",
        "/api/v1/namespaces/shop/pods/web",
    ):
        answer = await restricted_api.get(path)
        assert answer.status == 200, (path, answer.text)
    events = await restricted_api.watch_lines(
        "/api/v1/namespaces/shop/pods", {"watch": "1", "timeoutSeconds": "1"}, count=2
    )
    assert len(events) == 2


async def test_restricted_user_cannot_patch_ephemeral_containers(restricted_api: Any) -> None:
    answer = await restricted_api.request(
        "PATCH",
        "/api/v1/namespaces/shop/pods/web/ephemeralcontainers",
        body={"spec": {"ephemeralContainers": [{"name": "d", "image": "busybox"}]}},
        content_type="application/strategic-merge-patch+json",
    )
    assert answer.status == 403
    assert answer.body["reason"] == "Forbidden"
    assert answer.body["message"] == (
        'pods "web" is forbidden: User "restricted" cannot patch resource '
        '"pods/ephemeralcontainers" in API group "" in the namespace "shop"'
    )
    assert answer.body["details"] == {"name": "web", "kind": "pods"}


async def test_restricted_user_cannot_create_pods_exec_attach_or_leases(
    restricted_api: Any,
) -> None:
    created = await restricted_api.post("/api/v1/namespaces/kube-system/pods", pod_body("x"))
    assert created.status == 403
    assert created.body["message"] == (
        'pods is forbidden: User "restricted" cannot create resource "pods" in API group "" '
        'in the namespace "kube-system"'
    )
    for sub in ("exec", "attach"):
        answer = await restricted_api.get(
            f"/api/v1/namespaces/shop/pods/web/{sub}", params={"command": "sh", "stdout": "1"}
        )
        assert answer.status == 403
        assert answer.body["message"] == (
            f'pods "web" is forbidden: User "restricted" cannot create resource "pods/{sub}" '
            'in API group "" in the namespace "shop"'
        )
    leases = await restricted_api.get("/apis/coordination.k8s.io/v1/leases")
    assert leases.status == 403
    assert leases.body["message"] == (
        'leases.coordination.k8s.io is forbidden: User "restricted" cannot list resource '
        '"leases" in API group "coordination.k8s.io" at the cluster scope'
    )
    deleted = await restricted_api.request("DELETE", "/api/v1/namespaces/shop/pods/web")
    assert deleted.status == 403


async def test_admin_exec_route_is_authorized_and_needs_a_kubelet(admin_api: Any) -> None:
    answer = await admin_api.get(
        "/api/v1/namespaces/shop/pods/web/exec", params={"command": "sh", "stdout": "1"}
    )
    assert answer.status == 400
    assert "without a kubelet" in answer.body["message"]
    missing = await admin_api.get("/api/v1/namespaces/shop/pods/nope/exec")
    assert missing.status == 404


async def test_self_subject_access_review_answers_from_the_same_rules(
    restricted_api: Any, admin_api: Any
) -> None:
    def review(verb: str, resource: str, sub: str = "", namespace: str = "shop") -> Any:
        return {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {
                "resourceAttributes": {
                    "verb": verb,
                    "resource": resource,
                    "subresource": sub,
                    "namespace": namespace,
                }
            },
        }

    allowed = await restricted_api.post(SSAR, review("list", "pods"))
    assert allowed.status == 201
    assert allowed.body["status"]["allowed"] is True
    assert allowed.body["status"]["reason"]
    denied = await restricted_api.post(SSAR, review("patch", "pods", "ephemeralcontainers"))
    assert denied.body["status"]["allowed"] is False
    exec_denied = await restricted_api.post(SSAR, review("create", "pods", "exec"))
    assert exec_denied.body["status"]["allowed"] is False
    admin = await admin_api.post(SSAR, review("patch", "pods", "ephemeralcontainers"))
    assert admin.body["status"]["allowed"] is True
    broken = await admin_api.post(SSAR, {"spec": "nothing"})
    assert broken.status == 400
