"""Impersonation headers on the sandbox, with Kubernetes' rules and 403 wording."""

from __future__ import annotations

from typing import Any

import pytest
from multidict import CIMultiDict

from tests.sandbox.apiclient import api_only_options


@pytest.fixture
def sandbox_options() -> Any:
    return api_only_options()


SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def _review(verb: str, resource: str, namespace: str = "shop") -> dict[str, Any]:
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {"verb": verb, "resource": resource, "namespace": namespace}
        },
    }


async def test_admin_acting_as_restricted_loses_its_rights(admin_api: Any) -> None:
    as_restricted = {"Impersonate-User": "restricted"}
    read = await admin_api.get("/api/v1/namespaces/shop/pods", headers=as_restricted)
    assert read.status == 200, read.text
    deleted = await admin_api.request(
        "DELETE", "/api/v1/namespaces/shop/pods/web", headers=as_restricted
    )
    assert deleted.status == 403
    assert deleted.body["message"] == (
        'pods "web" is forbidden: User "restricted" cannot delete resource "pods" in API '
        'group "" in the namespace "shop"'
    )
    review = await admin_api.post(SSAR, _review("create", "pods"), headers=as_restricted)
    assert review.body["status"]["allowed"] is False
    assert (await admin_api.get("/api/v1/namespaces/shop/pods/web")).status == 200


async def test_an_unknown_user_has_no_rights_and_system_masters_has_all(admin_api: Any) -> None:
    as_bob = {"Impersonate-User": "bob"}
    listed = await admin_api.get("/api/v1/nodes", headers=as_bob)
    assert listed.status == 403
    assert 'User "bob" cannot list resource "nodes"' in listed.body["message"]
    headers = CIMultiDict(
        [
            ("Authorization", f"Bearer {admin_api.token}"),
            ("Impersonate-User", "bob"),
            ("Impersonate-Group", "devs"),
            ("Impersonate-Group", "system:masters"),
            ("Impersonate-Uid", "1234"),
        ]
    )
    # Several Impersonate-Group headers: the test client's dict headers cannot carry them.
    async with admin_api.session.post(
        admin_api.url + SSAR, json=_review("delete", "pods"), headers=headers, ssl=admin_api._ssl
    ) as answer:
        review = await answer.json()
    assert review["status"]["allowed"] is True


async def test_restricted_may_not_impersonate(restricted_api: Any) -> None:
    for headers, message in [
        (
            {"Impersonate-User": "admin"},
            'users "admin" is forbidden: User "restricted" cannot impersonate resource '
            '"users" in API group "" at the cluster scope',
        ),
        (
            {"Impersonate-User": "restricted", "Impersonate-Group": "system:masters"},
            'users "restricted" is forbidden: User "restricted" cannot impersonate',
        ),
    ]:
        answer = await restricted_api.get("/api/v1/namespaces/shop/pods", headers=headers)
        assert answer.status == 403, answer.text
        assert answer.body["message"].startswith(message)


async def test_groups_or_uid_without_a_user_are_refused(admin_api: Any) -> None:
    for headers in ({"Impersonate-Group": "system:masters"}, {"Impersonate-Uid": "1"}):
        answer = await admin_api.get("/api/v1/namespaces/shop/pods", headers=headers)
        assert answer.status == 400
        assert "need an Impersonate-User" in answer.body["message"]
