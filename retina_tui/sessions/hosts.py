"""Opening command-mode hosts for pods and nodes from one set of settings.

Captures and probes both run commands in debug containers: a pod's command-mode ephemeral
container (re-used while it runs), or a command-mode node pod. The settings say with which
image, profile and capabilities, and how node pods are owned (Lease, deletion reasons).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from retina_tui.config import DebugSettings, Profile
from retina_tui.kube.client import KubeClient
from retina_tui.sessions.command import CommandHost, open_node_host, open_pod_host
from retina_tui.sessions.specs import NodeSessionSpec, Phase, PodSessionSpec

HostKind = Literal["pod", "node"]
OpenHost = Callable[[HostKind, str, str], Awaitable[CommandHost]]
"""(kind, name, namespace) -> a running host; the namespace is ignored for a node."""


@dataclass(frozen=True, slots=True)
class HostSettings:
    debug: DebugSettings
    image: str
    profile: Profile | None
    capabilities: tuple[str, ...]
    timeout_seconds: float
    node_namespace: str
    instance_id: str | None = None
    on_phase: Callable[[Phase], None] | None = None
    before_create: Callable[[str], Awaitable[None]] | None = None
    explain_deletion: Callable[[str], Awaitable[str | None]] | None = None


def host_opener(client: KubeClient, settings: HostSettings) -> OpenHost:
    """A function that opens the host for a pod or a node with `settings`."""

    async def open_host(kind: HostKind, name: str, namespace: str) -> CommandHost:
        if kind == "pod":
            pod_spec = PodSessionSpec.from_settings(
                settings.debug,
                namespace=namespace,
                pod=name,
                image=settings.image,
                capabilities=settings.capabilities,
                profile=settings.profile,
                timeout_seconds=settings.timeout_seconds,
            )
            return await open_pod_host(
                client, pod_spec, instance_id=settings.instance_id, on_phase=settings.on_phase
            )
        node_spec = NodeSessionSpec.from_settings(
            settings.debug,
            node=name,
            namespace=settings.node_namespace,
            image=settings.image,
            capabilities=settings.capabilities,
            profile=settings.profile,
            timeout_seconds=settings.timeout_seconds,
        )
        return await open_node_host(
            client,
            node_spec,
            instance_id=settings.instance_id,
            on_phase=settings.on_phase,
            before_create=settings.before_create,
            explain_deletion=settings.explain_deletion,
        )

    return open_host
