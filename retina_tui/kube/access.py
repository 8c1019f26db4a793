"""Ask the API server what the current user may do before changing anything.

A SelfSubjectAccessReview per needed permission lets a session refuse up front with the
exact missing permission ("create pods/attach in namespace web"), instead of failing
half-way after it already added a container or created a pod.
"""

from __future__ import annotations

from dataclasses import dataclass

from retina_tui.errors import ForbiddenError, KubeApiError
from retina_tui.kube.client import KubeClient
from retina_tui.kube.shapes import REVIEW_FIELDS, expect_object, origin_of

SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
ALLOWED_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Permission:
    """One verb on one resource (and subresource), in a namespace or cluster-wide."""

    verb: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    group: str = ""

    def __str__(self) -> str:
        what = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        if self.group:
            what = f"{what}.{self.group}"
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.verb} {what}{where}"


async def allowed(client: KubeClient, permission: Permission) -> bool | None:
    """Whether the user has `permission`; None when the server will not say.

    A granted permission is remembered for ALLOWED_SECONDS, so that opening several
    sessions in a row does not ask again; a refusal is always asked afresh.
    """
    if client.recall(("access", permission)):
        return True
    attributes = {
        "verb": permission.verb,
        "resource": permission.resource,
        "group": permission.group,
    }
    if permission.subresource:
        attributes["subresource"] = permission.subresource
    if permission.namespace:
        attributes["namespace"] = permission.namespace
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }
    try:
        answer = await client.request("POST", SSAR_PATH, body=body)
    except (ForbiddenError, KubeApiError) as error:
        if error.status in (403, 404):
            return None
        raise
    review = expect_object(
        answer,
        "SelfSubjectAccessReview",
        REVIEW_FIELDS,
        origin=origin_of(client),
        call=f"POST {SSAR_PATH}",
        metadata=False,
    )
    granted = bool((review.get("status") or {}).get("allowed"))
    if granted:
        client.remember(("access", permission), True, ALLOWED_SECONDS)
    return granted


async def missing_permissions(client: KubeClient, needed: list[Permission]) -> list[Permission]:
    """The permissions in `needed` the server says the user does not have."""
    # One after the other on a kept-alive connection: concurrent reviews would each need a
    # new TLS connection, which costs more than the round trips they save.
    return [permission for permission in needed if await allowed(client, permission) is False]


async def require(
    client: KubeClient,
    needed: list[Permission],
    purpose: str,
    *,
    checked_by_request: tuple[Permission, ...] = (),
) -> None:
    """Raise ForbiddenError naming every missing permission, before anything is changed.

    `checked_by_request` are permissions the caller's own next request proves anyway (its
    dry run or its patch fails with 403 when one is missing): they are only reviewed to
    complete the message once something is missing, or through `explain_forbidden`.
    """
    missing = await missing_permissions(client, needed)
    if missing:
        missing = await missing_permissions(client, list(checked_by_request)) + missing
        raise _forbidden(client, missing, purpose)


async def explain_forbidden(
    client: KubeClient, needed: list[Permission], purpose: str, error: ForbiddenError
) -> ForbiddenError:
    """The error to show for a 403: the missing permissions if reviews find them."""
    missing = await missing_permissions(client, needed)
    return _forbidden(client, missing, purpose) if missing else error


def _forbidden(client: KubeClient, missing: list[Permission], purpose: str) -> ForbiddenError:
    listed = ", ".join(str(permission) for permission in missing)
    who = f"Context {client.context!r}"
    if client.acting_as is not None:
        who += f" acting as {client.acting_as!r} (--as)"
    return ForbiddenError(
        f"{who} may not {listed}, which {purpose} needs; ask a "
        "cluster administrator for that permission or use another context.",
        status=403,
        reason="Forbidden",
    )
