"""The API objects a check predicts from, listed once: a handful of calls, not one per cell."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from retina_tui.kube.client import KubeClient
from retina_tui.kube.shapes import expect_items, origin_of
from retina_tui.netmodel.policy import Endpoint, namespace_labels, pod_endpoint

Obj = dict[str, Any]

LISTS = {
    "pods": "/api/v1/pods",
    "namespaces": "/api/v1/namespaces",
    "nodes": "/api/v1/nodes",
    "services": "/api/v1/services",
    "slices": "/apis/discovery.k8s.io/v1/endpointslices",
    "policies": "/apis/networking.k8s.io/v1/networkpolicies",
}


@dataclass
class World:
    """Pods, namespaces, nodes, Services, EndpointSlices and NetworkPolicies at one moment."""

    pods: list[Obj] = field(default_factory=list)
    namespaces: list[Obj] = field(default_factory=list)
    nodes: list[Obj] = field(default_factory=list)
    services: list[Obj] = field(default_factory=list)
    slices: list[Obj] = field(default_factory=list)
    policies: list[Obj] = field(default_factory=list)

    @property
    def namespace_labels(self) -> dict[str, dict[str, str]]:
        return namespace_labels(self.namespaces)

    def pod(self, namespace: str, name: str) -> Obj | None:
        for pod in self.pods:
            meta = pod.get("metadata") or {}
            if meta.get("namespace") == namespace and meta.get("name") == name:
                return pod
        return None

    def service(self, namespace: str, name: str) -> Obj | None:
        for service in self.services:
            meta = service.get("metadata") or {}
            if meta.get("namespace") == namespace and meta.get("name") == name:
                return service
        return None

    def node(self, name: str) -> Obj | None:
        for node in self.nodes:
            if (node.get("metadata") or {}).get("name") == name:
                return node
        return None

    def endpoint_at(self, ip: str) -> Endpoint:
        """The pod that has `ip`, or just the address."""
        for pod in self.pods:
            if (pod.get("status") or {}).get("podIP") == ip:
                found = pod_endpoint(pod)
                if found is not None:
                    return found
        return Endpoint(ip)

    def service_at(self, ip: str) -> Obj | None:
        for service in self.services:
            if (service.get("spec") or {}).get("clusterIP") == ip:
                return service
        return None

    def node_at(self, ip: str) -> Obj | None:
        for node in self.nodes:
            if ip in (a.get("address") for a in (node.get("status") or {}).get("addresses") or []):
                return node
        return None


def node_ip(node: Obj) -> str | None:
    """A node's InternalIP (else its first address)."""
    addresses = (node.get("status") or {}).get("addresses") or []
    for address in addresses:
        if address.get("type") == "InternalIP":
            return str(address.get("address"))
    return str(addresses[0].get("address")) if addresses else None


async def load_world(client: KubeClient) -> World:
    """Every list at once."""

    async def one(path: str) -> list[Obj]:
        answer = await client.request("GET", path)
        return expect_items(answer, "object", origin=origin_of(client), call=f"GET {path}")

    lists = await asyncio.gather(*(one(path) for path in LISTS.values()))
    return World(**dict(zip(LISTS, lists, strict=True)))
