"""Service resolution: a Service and port to the endpoints kube-proxy picks from, and what
is wrong when there are none.

The EndpointSlices say which addresses serve (ready, or not); the pods say why: a selector
that matches no pod, pods that match but are not ready (and their waiting reasons), a
targetPort name no selected pod declares. The sentences are what a user reads in a check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from retina_tui.netmodel.labels import selects, show_selector

Obj = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass(frozen=True, slots=True)
class ServicePort:
    name: str
    port: int
    protocol: str
    target: int | str

    def show(self) -> str:
        named = f" {self.name}" if self.name else ""
        return f"{self.port}/{self.protocol}{named}"


@dataclass(frozen=True, slots=True)
class Backend:
    """One endpoint address and what it serves the chosen port on."""

    ip: str
    port: int | None
    ready: bool
    pod: str | None
    """`ns/name` of the pod behind it (targetRef), when it is a pod."""


@dataclass
class Resolution:
    """A Service resolved for one of its ports."""

    service: str
    type: str
    cluster_ip: str | None
    """None for a headless Service (its DNS name resolves to the ready endpoints)."""
    port: ServicePort | None
    backends: list[Backend] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ready(self) -> list[Backend]:
        return [b for b in self.backends if b.ready]

    @property
    def ok(self) -> bool:
        return not self.problems


def service_ports(service: Obj) -> list[ServicePort]:
    ports = []
    for entry in (service.get("spec") or {}).get("ports") or []:
        port = entry.get("port")
        if not isinstance(port, int):
            continue  # the API server allows no other; skip what a broken reply holds
        ports.append(
            ServicePort(
                str(entry.get("name") or ""),
                port,
                str(entry.get("protocol") or "TCP"),
                entry.get("targetPort", port),
            )
        )
    return ports


def _pick_port(service: Obj, wanted: int | str | None) -> ServicePort | None:
    ports = service_ports(service)
    if wanted is None:
        return ports[0] if ports else None
    for port in ports:
        if port.port == wanted or (port.name and port.name == wanted):
            return port
    return None


def slices_of(service: Obj, slices: Iterable[Obj]) -> list[Obj]:
    meta = service.get("metadata") or {}
    return [
        s
        for s in slices
        if (s.get("metadata") or {}).get("namespace") == meta.get("namespace")
        and ((s.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL)
        == meta.get("name")
    ]


def _backends(service_port: ServicePort, slices: list[Obj]) -> list[Backend]:
    found = []
    for slice_ in slices:
        number = None
        for entry in slice_.get("ports") or []:
            if (
                str(entry.get("name") or "") == service_port.name
                and str(entry.get("protocol") or "TCP") == service_port.protocol
            ):
                number = entry.get("port")
        for endpoint in slice_.get("endpoints") or []:
            ref = endpoint.get("targetRef") or {}
            pod = f"{ref.get('namespace')}/{ref.get('name')}" if ref.get("kind") == "Pod" else None
            ready = (endpoint.get("conditions") or {}).get("ready") is not False
            for address in endpoint.get("addresses") or []:
                found.append(Backend(str(address), number, ready, pod))
    return found


def pod_problem(pod: Obj) -> str:
    """Why a pod is not ready, in a word or two (CrashLoopBackOff, Pending, not ready)."""
    status = pod.get("status") or {}
    meta = pod.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return "Terminating"
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            return str(waiting["reason"])
        terminated = (container.get("state") or {}).get("terminated") or {}
        if terminated.get("reason"):
            return str(terminated["reason"])
    phase = status.get("phase") or "Pending"
    return "not ready" if phase == "Running" else str(phase)


def _is_ready(pod: Obj) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


def _declares(pod: Obj, name: str, protocol: str) -> bool:
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == name and str(port.get("protocol") or "TCP") == protocol:
                return True
    return False


def _named_ports(pod: Obj) -> str:
    names = [
        f"{p['name']}={p.get('containerPort')}"
        for c in (pod.get("spec") or {}).get("containers") or []
        for p in c.get("ports") or []
        if p.get("name")
    ]
    return ", ".join(names) or "no named ports"


def resolve_service(
    service: Obj, slices: Iterable[Obj], pods: Iterable[Obj], port: int | str | None = None
) -> Resolution:
    """`service` resolved for `port` (a port number or name; None: its first port)."""
    meta = service.get("metadata") or {}
    spec = service.get("spec") or {}
    namespace = str(meta.get("namespace") or "default")
    label = f"{namespace}/{meta.get('name')}"
    cluster_ip = spec.get("clusterIP")
    resolution = Resolution(
        label,
        str(spec.get("type") or "ClusterIP"),
        None if cluster_ip in (None, "", "None") else str(cluster_ip),
        _pick_port(service, port),
    )
    if spec.get("type") == "ExternalName":
        resolution.problems.append(
            f"service {label} is an ExternalName for {spec.get('externalName')}; it has no "
            "endpoints in the cluster"
        )
        return resolution
    if resolution.port is None:
        ports = ", ".join(p.show() for p in service_ports(service)) or "none"
        resolution.problems.append(f"service {label} has no port {port} (its ports: {ports})")
        return resolution
    chosen = resolution.port
    resolution.backends = _backends(chosen, slices_of(service, slices))
    selector = spec.get("selector")
    if not selector:
        if not resolution.backends:
            resolution.problems.append(
                f"service {label} has no selector and no EndpointSlices: nothing serves it"
            )
        elif not resolution.ready:
            resolution.problems.append(f"service {label} has no ready endpoints")
        return resolution
    as_selector = {"matchLabels": selector}
    matching = [
        p
        for p in pods
        if (p.get("metadata") or {}).get("namespace") == namespace
        and selects(as_selector, (p.get("metadata") or {}).get("labels") or {})
    ]
    if not matching:
        resolution.problems.append(
            f"service {label} selects {show_selector(as_selector)}, which matches no pod in "
            f"namespace {namespace}"
        )
        return resolution
    if isinstance(chosen.target, str):
        declaring = [p for p in matching if _declares(p, chosen.target, chosen.protocol)]
        if not declaring:
            shown = "; ".join(f"{p['metadata']['name']}: {_named_ports(p)}" for p in matching[:3])
            resolution.problems.append(
                f"service {label} port {chosen.show()} targets the port name "
                f"{chosen.target!r}, which none of the {len(matching)} selected pods declares "
                f"({shown})"
            )
            return resolution
    if not resolution.ready:
        ready = [p for p in matching if _is_ready(p)]
        reasons = ", ".join(
            f"{p['metadata']['name']} {pod_problem(p)}" for p in matching if not _is_ready(p)
        )
        if ready:
            resolution.problems.append(
                f"service {label} has no ready endpoints yet ({len(matching)} pods match, "
                f"{len(ready)} ready; the EndpointSlices have not caught up)"
            )
        else:
            resolution.problems.append(
                f"service {label} has no ready endpoints ({len(matching)} "
                f"{'pod matches' if len(matching) == 1 else 'pods match'}, 0 ready: {reasons})"
            )
    return resolution


def endpoint_counts(service: Obj, slices: Iterable[Obj]) -> tuple[int, int]:
    """(ready, total) endpoint addresses of a Service, from its EndpointSlices."""
    ready = total = 0
    for slice_ in slices_of(service, slices):
        for endpoint in slice_.get("endpoints") or []:
            count = len(endpoint.get("addresses") or [])
            total += count
            if (endpoint.get("conditions") or {}).get("ready") is not False:
                ready += count
    return ready, total


def selected_by(pod: Obj, services: Iterable[Obj]) -> list[Obj]:
    """The Services whose selector matches `pod`."""
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    return [
        s
        for s in services
        if (s.get("metadata") or {}).get("namespace") == meta.get("namespace")
        and (s.get("spec") or {}).get("selector")
        and selects({"matchLabels": s["spec"]["selector"]}, labels)
    ]
