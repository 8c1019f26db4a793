"""The slice of the Kubernetes client the supervisor uses, and the paths it talks to.

A Protocol keeps the supervisor testable against any object with `request`; the real
implementation is `retina_tui.kube.client.KubeClient`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

LEASES = "/apis/coordination.k8s.io/v1"


class ApiClient(Protocol):
    """What the supervisor needs from `KubeClient`."""

    @property
    def context(self) -> str: ...

    @property
    def namespace(self) -> str: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any: ...


def pods_path(namespace: str | None) -> str:
    """Collection of pods in one namespace, or in all when `namespace` is None."""
    return "/api/v1/pods" if namespace is None else f"/api/v1/namespaces/{namespace}/pods"


def leases_path(namespace: str | None) -> str:
    """Collection of Leases in one namespace, or in all when `namespace` is None."""
    return f"{LEASES}/leases" if namespace is None else f"{LEASES}/namespaces/{namespace}/leases"


def pod_path(namespace: str, name: str) -> str:
    """One pod."""
    return f"{pods_path(namespace)}/{name}"


def lease_path(namespace: str, name: str) -> str:
    """One Lease."""
    return f"{leases_path(namespace)}/{name}"
