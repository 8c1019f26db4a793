"""What a capture runs on: pods and nodes named or selected, and the debug containers for them.

A pod is captured from its command-mode ephemeral container (re-used when one runs), a node
from a command-mode node pod. The capabilities are the least that capture: NET_RAW, plus
NET_ADMIN only to put an interface in promiscuous mode.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from retina_tui.capture.run import CaptureTarget
from retina_tui.errors import NotFoundError, RetinaTuiError
from retina_tui.kube.client import KubeClient
from retina_tui.kube.shapes import NODE_FIELDS, expect_items, origin_of
from retina_tui.sessions.command import CommandHost
from retina_tui.sessions.hosts import HostKind, HostSettings
from retina_tui.sessions.hosts import host_opener as sessions_host_opener
from retina_tui.sessions.pod import get_pod, running_pods

__all__ = ["HostSettings", "capture_capabilities", "host_opener", "resolve_targets"]

POD_INTERFACE = "eth0"
NODE_INTERFACE = "any"


class TargetError(RetinaTuiError):
    """A capture target selects nothing."""


def capture_capabilities(promiscuous: bool) -> tuple[str, ...]:
    return ("NET_ADMIN", "NET_RAW") if promiscuous else ("NET_RAW",)


def _pod_target(pod: dict[str, Any], interface: str | None) -> CaptureTarget:
    meta = pod["metadata"]
    status = pod.get("status") or {}
    node = (pod.get("spec") or {}).get("nodeName") or "?"
    return CaptureTarget(
        "pod",
        meta["name"],
        meta["namespace"],
        interface or POD_INTERFACE,
        f"pod {meta['namespace']}/{meta['name']} ({status.get('podIP') or 'no IP'}) on {node}",
    )


def _node_target(name: str, interface: str | None) -> CaptureTarget:
    return CaptureTarget("node", name, "", interface or NODE_INTERFACE, f"node {name}")


async def resolve_targets(
    client: KubeClient,
    names: list[str],
    *,
    namespace: str,
    pod_selector: str | None = None,
    node_selector: str | None = None,
    interface: str | None = None,
) -> list[CaptureTarget]:
    """`pod/NAME`, `node/NAME` and the selectors' matches, each once, in the order given."""
    targets: list[CaptureTarget] = []
    for name in names:
        kind, _, rest = name.partition("/")
        if kind == "pod":
            targets.append(_pod_target(await get_pod(client, namespace, rest), interface))
        else:
            targets.append(_node_target(await _node_name(client, rest), interface))
    if pod_selector:
        pods = await running_pods(client, namespace, pod_selector)
        if not pods:
            raise TargetError(
                f"No running pod in namespace {namespace} matches -l {pod_selector!r}; check the "
                "selector and the namespace (-n)."
            )
        targets.extend(_pod_target(pod, interface) for pod in pods)
    if node_selector:
        answer = await client.request(
            "GET", "/api/v1/nodes", params={"labelSelector": node_selector}
        )
        items = expect_items(
            answer, "node", origin=origin_of(client), call="GET /api/v1/nodes", fields=NODE_FIELDS
        )
        nodes = [str(n["metadata"]["name"]) for n in items]
        if not nodes:
            raise TargetError(
                f"No node matches --node-selector {node_selector!r}; check the selector "
                "(kubectl get nodes --show-labels)."
            )
        targets.extend(_node_target(node, interface) for node in nodes)
    unique: dict[str, CaptureTarget] = {}
    for target in targets:
        unique.setdefault(f"{target.kind} {target.label}", target)
    return list(unique.values())


async def _node_name(client: KubeClient, name: str) -> str:
    try:
        await client.request("GET", f"/api/v1/nodes/{name}")
    except NotFoundError:
        raise NotFoundError(
            f"Node {name} not found in context {client.context!r}; check the name "
            "(kubectl get nodes).",
            status=404,
            reason="NotFound",
        ) from None
    return name


def host_opener(
    client: KubeClient, settings: HostSettings
) -> Callable[[CaptureTarget], Awaitable[CommandHost]]:
    """The command-mode host a capture target runs in."""
    open_host = sessions_host_opener(client, settings)

    async def for_target(target: CaptureTarget) -> CommandHost:
        kind: HostKind = "pod" if target.kind == "pod" else "node"
        return await open_host(kind, target.name, target.namespace)

    return for_target
