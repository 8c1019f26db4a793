"""Refusals that come before a session changes anything, worded for humans.

Node operating system, Pod Security Admission rejections and the like are found here
and turned into one sentence that says what to do next (another namespace, the profile
the namespace admits, a Linux or Windows node).
"""

from __future__ import annotations

import re
from typing import Any

from retina_tui.errors import ForbiddenError, KubeApiError, NotFoundError, SessionError
from retina_tui.kube.client import KubeClient
from retina_tui.kube.shapes import NODE_FIELDS, expect_object, origin_of
from retina_tui.sessions.profiles import PSA_ENFORCE_LABEL, Concrete, profile_for_level

OS_LABEL = "kubernetes.io/os"
NODE_SECONDS = 60.0
_PSA_RE = re.compile(r'violates PodSecurity "(?P<level>[a-z]+)(?::[^"]*)?":\s*(?P<what>.*)')


async def get_node(client: KubeClient, name: str) -> dict[str, Any] | None:
    """The node, or None when the user may not read nodes; NotFoundError when it is absent.

    Only its existence and operating system matter here, so it is remembered a while.
    """
    remembered: dict[str, Any] | None = client.recall(("node", name))
    if remembered is not None:
        return remembered
    path = f"/api/v1/nodes/{name}"
    try:
        answer = await client.request("GET", path)
    except NotFoundError:
        raise NotFoundError(
            f"Node {name} not found in context {client.context!r}; list the nodes with "
            "`kubectl get nodes` and check the name.",
            status=404,
            reason="NotFound",
        ) from None
    except ForbiddenError:
        return None
    node = expect_object(answer, "node", NODE_FIELDS, origin=origin_of(client), call=f"GET {path}")
    client.remember(("node", name), node, NODE_SECONDS)
    return node


def node_os(node: dict[str, Any] | None) -> str | None:
    """The node's operating system from its label or node info, if known."""
    if node is None:
        return None
    labels = (node.get("metadata") or {}).get("labels") or {}
    value = labels.get(OS_LABEL) or ((node.get("status") or {}).get("nodeInfo") or {}).get(
        "operatingSystem"
    )
    return value if isinstance(value, str) and value else None


def pod_os(pod: dict[str, Any]) -> str | None:
    """The operating system a pod is bound to by spec.os or its nodeSelector, if any."""
    spec = pod.get("spec") or {}
    explicit = (spec.get("os") or {}).get("name")
    if isinstance(explicit, str) and explicit:
        return explicit
    selected = (spec.get("nodeSelector") or {}).get(OS_LABEL)
    return selected if isinstance(selected, str) and selected else None


def refuse_unsupported_os(os_name: str | None, what: str) -> None:
    """Raise SessionError unless the operating system is Linux, Windows or unknown."""
    if os_name is not None and os_name.lower() not in ("linux", "windows"):
        raise SessionError(
            f"{what} runs {os_name}, and debug shells support Linux and Windows nodes; "
            "pick a pod or node on one of those."
        )


def psa_level(error: KubeApiError) -> tuple[str, str] | None:
    """(level, what is violated) when a refusal comes from Pod Security Admission."""
    match = _PSA_RE.search(error.message)
    if match is None:
        return None
    return match.group("level"), match.group("what").strip().rstrip(".;")


def explain_psa_for_node(
    error: KubeApiError, namespace: str, *, windows: bool = False
) -> SessionError | None:
    """A node pod refused by Pod Security Admission: name the level and label, suggest -n."""
    found = psa_level(error)
    if found is None:
        return None
    level = found[0]
    needs = (
        "the HostProcess container and the host network a Windows node shell needs"
        if windows
        else "the host network a node shell needs"
    )
    return SessionError(
        f"Namespace {namespace} enforces Pod Security level {level} (label "
        f"{PSA_ENFORCE_LABEL}={level}), which forbids {needs}; run it with -n NAMESPACE for "
        "a namespace whose level is privileged."
    )


def explain_psa_for_pod(
    error: KubeApiError, namespace: str, profile: Concrete
) -> SessionError | None:
    """An ephemeral container refused by Pod Security Admission: name the profile it admits."""
    found = psa_level(error)
    if found is None:
        return None
    level, what = found
    where = (
        f"Namespace {namespace} enforces Pod Security level {level} (label "
        f"{PSA_ENFORCE_LABEL}={level})"
    )
    admitted = profile_for_level(level)
    if admitted != profile:
        return SessionError(
            f"{where}, which refuses a debug container with profile {profile}; retry with "
            f"--profile {admitted} or --profile auto."
        )
    return SessionError(f"{where}, which refuses this pod even with profile {profile}: {what}.")
