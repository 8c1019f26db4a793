"""Authentication (bearer tokens) and authorization (a small RBAC) of the embedded cluster.

Two users exist:
- `admin` (group system:masters) may do everything;
- `restricted` may only `get`, `list` and `watch` pods, nodes and namespaces. It cannot
  create or patch anything: not pods (in any namespace, kube-system included), not
  `pods/ephemeralcontainers` (so `kubectl debug` is refused), not `pods/exec` or
  `pods/attach` (which, as in Kubernetes 1.35 and later, need the `create` verb).
Every authenticated user may read discovery documents (any non-resource URL) and create
SelfSubjectAccessReviews, SelfSubjectRulesReviews and SelfSubjectReviews, which answer
from the same rules (`RULES_FOR_ALL`, `ADMIN_RULES`, `RESTRICTED_RULES`).

Impersonation (`Impersonate-User`, `-Group`, `-Uid` headers) works as in Kubernetes: the
requester needs the `impersonate` verb on each user, group and uid named (only `admin`
has it), and the request is then authorized as the impersonated user.
"""

from __future__ import annotations

import secrets
import urllib.parse
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
    uid: str = ""
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Attributes:
    """What a request wants to do, as an authorizer sees it."""

    verb: str
    resource: str
    subresource: str = ""
    group: str = ""
    namespace: str = ""
    name: str = ""


EXTRA_PREFIX = "impersonate-extra-"
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


@dataclass(frozen=True)
class Rule:
    """One RBAC PolicyRule: resource rules name groups and resources, the others URLs."""

    verbs: tuple[str, ...]
    groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()

    def allows(self, attrs: Attributes) -> bool:
        """True if this resource rule covers the request."""
        full = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        return (
            not self.urls
            and _covers(self.verbs, attrs.verb)
            and _covers(self.groups, attrs.group)
            and _covers(self.resources, full)
        )

    def allows_url(self, verb: str, path: str) -> bool:
        """True if this non-resource rule covers `verb` on `path`."""
        return _covers(self.verbs, verb) and any(
            url == "*" or url == path or (url.endswith("*") and path.startswith(url[:-1]))
            for url in self.urls
        )

    def review_entry(self) -> dict[str, Any]:
        """The rule as a SelfSubjectRulesReview lists it."""
        if self.urls:
            return {"verbs": list(self.verbs), "nonResourceURLs": list(self.urls)}
        return {
            "verbs": list(self.verbs),
            "apiGroups": list(self.groups),
            "resources": list(self.resources),
        }


def _covers(allowed: tuple[str, ...], value: str) -> bool:
    return "*" in allowed or value in allowed


RULES_FOR_ALL = (
    Rule(
        ("create",),
        ("authorization.k8s.io",),
        ("selfsubjectaccessreviews", "selfsubjectrulesreviews"),
    ),
    Rule(("create",), ("authentication.k8s.io",), ("selfsubjectreviews",)),
    Rule(("get",), urls=("*",)),
)
ADMIN_RULES = (Rule(("*",), ("*",), ("*",)), Rule(("*",), urls=("*",)))
RESTRICTED_RULES = (Rule(tuple(sorted(READ_VERBS)), ("",), tuple(sorted(RESTRICTED_RESOURCES))),)


def rules_of(user: User) -> tuple[tuple[Rule, ...], str]:
    """The rules a user has (besides `RULES_FOR_ALL`) and why, as a review reason."""
    if user.admin:
        return ADMIN_RULES, (
            'allowed by sandbox rule "admin": group system:masters may do everything'
        )
    if user.name == RESTRICTED.name:
        return RESTRICTED_RULES, (
            'allowed by sandbox rule "restricted": get, list and watch of pods, nodes '
            "and namespaces"
        )
    return (), ""


def decide(user: User, attrs: Attributes) -> tuple[bool, str]:
    """(allowed, reason) for one request."""
    rules, reason = rules_of(user)
    if any(rule.allows(attrs) for rule in rules):
        return True, reason
    if any(rule.allows(attrs) for rule in RULES_FOR_ALL):
        return True, "every authenticated user may review its own access"
    return False, ""


def decide_url(user: User, verb: str, path: str) -> tuple[bool, str]:
    """(allowed, reason) for a non-resource URL."""
    rules, reason = rules_of(user)
    if any(rule.allows_url(verb, path) for rule in rules):
        return True, reason
    if any(rule.allows_url(verb, path) for rule in RULES_FOR_ALL):
        return True, "every authenticated user may read non-resource URLs"
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
    extra: dict[str, list[str]] = {}
    for header, value in headers.items():
        if header.lower().startswith(EXTRA_PREFIX):
            key = urllib.parse.unquote(header[len(EXTRA_PREFIX) :]).lower()
            extra.setdefault(key, []).append(value)
    if name is None:
        if groups or uid is not None or extra:
            raise bad_request("Impersonate-Group and Impersonate-Uid need an Impersonate-User")
        return requester
    wanted = [Attributes(verb="impersonate", resource="users", name=name)]
    wanted += [Attributes(verb="impersonate", resource="groups", name=group) for group in groups]
    if uid is not None:
        wanted.append(
            Attributes(verb="impersonate", resource="uids", group="authentication.k8s.io", name=uid)
        )
    wanted += [
        Attributes("impersonate", "userextras", key, "authentication.k8s.io", name=value)
        for key, values in extra.items()
        for value in values
    ]
    for attrs in wanted:
        authorize(requester, attrs)
    if name != "system:anonymous" and "system:authenticated" not in groups:
        groups += ("system:authenticated",)
    return User(
        name,
        groups,
        admin="system:masters" in groups,
        uid=uid or "",
        extra=tuple((key, tuple(values)) for key, values in extra.items()),
    )


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
        verb, path = non_resource.get("verb", "get"), non_resource.get("path", "")
        if not isinstance(verb, str) or not isinstance(path, str):
            raise bad_request("spec.nonResourceAttributes must hold strings")
        allowed, reason = decide_url(user, verb, path)
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
