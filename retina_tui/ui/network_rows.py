"""Services and NetworkPolicies as the browser shows them: rows, and what selects a pod.

`NetworkIndex` keeps the Services, EndpointSlices and NetworkPolicies the browser watches
(few, unlike pods), turns them into rows worded like `kubectl get`, and answers the pod
details' question: which Services and policies select this pod, and what do they allow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from retina_tui.netmodel.labels import selects, show_selector
from retina_tui.netmodel.policy import Direction, policy_types, selecting, summarize
from retina_tui.netmodel.policy import pod_endpoint as endpoint_of
from retina_tui.netmodel.services import endpoint_counts, selected_by, slices_of
from retina_tui.ui.rows import NONE, Row, parse_time

Obj = dict[str, Any]
SERVICE_COLUMNS = ("NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "PORTS", "ENDPOINTS", "AGE")
NETPOL_COLUMNS = ("NAMESPACE", "NAME", "POD-SELECTOR", "INGRESS", "EGRESS", "PODS", "AGE")


def _key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name') or ''}"


def service_row(service: Obj, slices: Iterable[Obj]) -> Row:
    meta = service.get("metadata") or {}
    spec = service.get("spec") or {}
    ports = ",".join(
        f"{p.get('port')}"
        + (f":{p['nodePort']}" if p.get("nodePort") else "")
        + f"/{p.get('protocol') or 'TCP'}"
        for p in spec.get("ports") or []
    )
    ready, total = endpoint_counts(service, slices)
    kind = str(spec.get("type") or "ClusterIP")
    has_selector = bool(spec.get("selector"))
    endpoints = f"{ready}/{total}" if (has_selector or total) else NONE
    created = parse_time(meta.get("creationTimestamp"))
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    cluster_ip = str(spec.get("clusterIP") or NONE)
    cells = (namespace, name, kind, cluster_ip, ports or NONE, endpoints)
    if kind == "ExternalName" or (not has_selector and not total):
        tone = "ok"
    else:
        tone = "ok" if ready else "error"
    sort_keys = (namespace, name, kind, cluster_ip, ports, ready, -created)
    return Row(_key(service), cells, created, sort_keys, tone)


def policy_row(policy: Obj, selected: int) -> Row:
    meta = policy.get("metadata") or {}
    spec = policy.get("spec") or {}
    types = policy_types(policy)
    ingress = str(len(spec.get("ingress") or [])) if "Ingress" in types else "-"
    egress = str(len(spec.get("egress") or [])) if "Egress" in types else "-"
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    chooser = show_selector(spec.get("podSelector"))
    created = parse_time(meta.get("creationTimestamp"))
    cells = (namespace, name, chooser, ingress, egress, str(selected))
    sort_keys = (namespace, name, chooser, ingress, egress, selected, -created)
    return Row(_key(policy), cells, created, sort_keys, "ok" if selected else "pending")


@dataclass
class NetworkIndex:
    """The watched Services, EndpointSlices and NetworkPolicies, by `ns/name`."""

    services: dict[str, Obj] = field(default_factory=dict)
    slices: dict[str, Obj] = field(default_factory=dict)
    policies: dict[str, Obj] = field(default_factory=dict)

    def service_rows(self) -> list[Row]:
        slices = list(self.slices.values())
        return [service_row(s, slices) for s in self.services.values()]

    def service_row_for_slice(self, slice_: Obj) -> Row | None:
        """The row of the Service a slice belongs to (its endpoints changed)."""
        meta = slice_.get("metadata") or {}
        owner = (meta.get("labels") or {}).get("kubernetes.io/service-name")
        service = self.services.get(f"{meta.get('namespace')}/{owner}")
        if service is None:
            return None
        return service_row(service, slices_of(service, self.slices.values()))

    def policy_rows(self, pods: Iterable[tuple[str, Mapping[str, str]]]) -> list[Row]:
        every = list(pods)
        return [policy_row(p, self.selected_count(p, every)) for p in self.policies.values()]

    @staticmethod
    def selected_count(policy: Obj, pods: Iterable[tuple[str, Mapping[str, str]]]) -> int:
        """How many of `pods` ((namespace, labels) pairs) the policy selects."""
        meta = policy.get("metadata") or {}
        chooser = (policy.get("spec") or {}).get("podSelector") or {}
        return sum(
            1 for ns, labels in pods if ns == meta.get("namespace") and selects(chooser, labels)
        )

    def pod_lines(self, pod: Obj) -> list[tuple[str, str]]:
        """(heading, line) pairs for a pod's details: Services and policies selecting it."""
        lines: list[tuple[str, str]] = []
        for service in selected_by(pod, self.services.values()):
            spec = service.get("spec") or {}
            ready, total = endpoint_counts(service, self.slices.values())
            ports = ",".join(str(p.get("port")) for p in spec.get("ports") or [])
            shown = f"{_key(service)}  {spec.get('clusterIP')}:{ports}  {ready}/{total} ready"
            lines.append(("Services", shown))
        endpoint = endpoint_of(pod)
        if endpoint is not None and endpoint.is_pod:
            policies = list(self.policies.values())
            directions: tuple[Direction, ...] = ("ingress", "egress")
            chosen = {
                _key(p): p
                for direction in directions
                for p in selecting(policies, endpoint, direction)
            }
            for name, policy in chosen.items():
                lines.append(("NetworkPolicies", f"{name}: {summarize(policy)}"))
        return lines


def apply_event(store: dict[str, Obj], kind: str, obj: Obj) -> None:
    """A watch event into a by-key store."""
    if kind == "DELETED":
        store.pop(_key(obj), None)
    else:
        store[_key(obj)] = obj


RowSink = Callable[[Row], None]
