"""Authentication (bearer tokens) and authorization (a small RBAC) of the embedded cluster.

Two users exist:
- `admin` (group system:masters) may do everything;
- `restricted` may only `get`, `list` and `watch` pods, nodes and namespaces. It cannot
  create or patch anything: not pods (in any namespace, kube-system included), not
  `pods/ephemeralcontainers` (so `kubectl debug` is refused), not `pods/exec` or
  `pods/attach` (which, as in Kubernetes 1.35 and later, need the `create` verb).
Every authenticated user may read discovery documents and create
SelfSubjectAccessReviews, which answer from the same rules.

Impersonation (`Impersonate-User`, `-Group`, `-Uid` headers) works as in Kubernetes: the
requester needs the `impersonate` verb on each user, group and uid named (only `admin`
has it), and the request is then authorized as the impersonated user.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from multidict import CIMultiDictProxy

from retina_tui.sandbox.errors import ApiError, bad_request

READ_VERBS = frozenset({"get", "list", "watch"})
RESTRICTED_RESOURCES = frozenset({"pods", "nodes", "namespaces"})


@dataclass(frozen=True)
class User:
    """An authenticated user."""

    name: str
    groups: tuple[str, ...]
    admin: bool


@dataclass(frozen=True)
class Attributes:
    """What a request wants to do, as an authorizer sees it."""

    verb: str
    resource: str
    subresource: str = ""
    group: str = ""
    namespace: str = ""
    name: str = ""


ADMIN = User("admin", ("system:masters", "system:authenticated"), admin=True)
RESTRICTED = User("restricted", ("system:authenticated",), admin=False)


class Authenticator:
    """Maps bearer tokens to users; tokens are random per sandbox run."""

    def __init__(self, admin_token: str | None = None, restricted_token: str | None = None):
        self.admin_token = admin_token or secrets.token_urlsafe(24)
        self.restricted_token = restricted_token or secrets.token_urlsafe(24)
        self._users = {self.admin_token: ADMIN, self.restricted_token: RESTRICTED}

    def authenticate(self, authorization: str | None) -> User:
        """The user of an Authorization header; 401 if missing or unknown."""
        if authorization and authorization.startswith("Bearer "):
            user = self._users.get(authorization[len("Bearer ") :].strip())
            if user is not None:
                return user
        raise ApiError(401, "Unauthorized", "Unauthorized")


def decide(user: User, attrs: Attributes) -> tuple[bool, str]:
    """(allowed, reason) for one request."""
    if user.admin:
        return True, 'allowed by sandbox rule "admin": group system:masters may do everything'
    if (
        attrs.group == "authorization.k8s.io"
        and attrs.resource == "selfsubjectaccessreviews"
        and attrs.verb == "create"
    ):
        return True, "every authenticated user may review its own access"
    if (
        user.name == RESTRICTED.name
        and attrs.group == ""
        and attrs.resource in RESTRICTED_RESOURCES
        and not attrs.subresource
        and attrs.verb in READ_VERBS
    ):
        return True, (
            'allowed by sandbox rule "restricted": get, list and watch of pods, nodes '
            "and namespaces"
        )
    return False, ""


def forbidden_message(user: User, attrs: Attributes) -> str:
    """The API server's 403 message for a refused request."""
    qualified = f"{attrs.resource}.{attrs.group}" if attrs.group else attrs.resource
    what = f'{qualified} "{attrs.name}"' if attrs.name else qualified
    full = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    return (
        f'{what} is forbidden: User "{user.name}" cannot {attrs.verb} resource "{full}" '
        f'in API group "{attrs.group}" {scope}'
    )


def authorize(user: User, attrs: Attributes) -> None:
    """Raise 403 Forbidden unless the user may do this."""
    allowed, _ = decide(user, attrs)
    if not allowed:
        raise ApiError(
            403,
            "Forbidden",
            forbidden_message(user, attrs),
            name=attrs.name or None,
            kind=attrs.resource,
            group=attrs.group,
        )


def impersonate(requester: User, headers: CIMultiDictProxy[str]) -> User:
    """The user a request acts as: the requester, or whom it may impersonate (else 403)."""
    name = headers.get("Impersonate-User")
    groups = tuple(headers.getall("Impersonate-Group", ()))
    uid = headers.get("Impersonate-Uid")
    if name is None:
        if groups or uid is not None:
            raise bad_request("Impersonate-Group and Impersonate-Uid need an Impersonate-User")
        return requester
    wanted = [Attributes(verb="impersonate", resource="users", name=name)]
    wanted += [Attributes(verb="impersonate", resource="groups", name=group) for group in groups]
    if uid is not None:
        wanted.append(
            Attributes(verb="impersonate", resource="uids", group="authentication.k8s.io", name=uid)
        )
    for attrs in wanted:
        authorize(requester, attrs)
    if name != "system:anonymous" and "system:authenticated" not in groups:
        groups += ("system:authenticated",)
    return User(name, groups, admin="system:masters" in groups)


def self_subject_access_review(user: User, body: Any) -> dict[str, Any]:
    """Answer a SelfSubjectAccessReview from the same rules."""
    spec = body.get("spec") if isinstance(body, dict) else None
    if not isinstance(spec, dict):
        raise bad_request("SelfSubjectAccessReview must have a spec object")
    resource_attrs = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    if isinstance(resource_attrs, dict):
        for key in ("verb", "resource", "subresource", "group", "namespace", "name"):
            if not isinstance(resource_attrs.get(key, ""), str):
                raise bad_request(f"spec.resourceAttributes.{key} must be a string")
        attrs = Attributes(
            verb=resource_attrs.get("verb", ""),
            resource=resource_attrs.get("resource", ""),
            subresource=resource_attrs.get("subresource", ""),
            group=resource_attrs.get("group", ""),
            namespace=resource_attrs.get("namespace", ""),
            name=resource_attrs.get("name", ""),
        )
        allowed, reason = decide(user, attrs)
    elif isinstance(non_resource, dict):
        allowed, reason = True, "every authenticated user may read non-resource URLs"
        if not user.admin and non_resource.get("verb", "get") != "get":
            allowed, reason = False, ""
    else:
        raise bad_request("spec.resourceAttributes or spec.nonResourceAttributes is required")
    status: dict[str, Any] = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    if not allowed:
        status["denied"] = False
    return {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": status,
    }
