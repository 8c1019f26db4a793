"""meta.k8s.io/v1 Table rendering, which `kubectl get` asks for by default.

The columns and the STATUS wording follow kubectl's own printers (pods: NAME READY
STATUS RESTARTS AGE, wide adds IP NODE NOMINATED NODE READINESS GATES; nodes: NAME STATUS
ROLES AGE VERSION, wide adds INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION
CONTAINER-RUNTIME). Wide columns have priority 1, so kubectl shows them only with -o wide.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from retina_tui.sandbox import tables_network
from retina_tui.sandbox.store import Store, encode

Obj = dict[str, Any]
Column = tuple[str, str, str, int, str]

TABLE_MEDIA = "application/json;as=Table;v=v1;g=meta.k8s.io"
ROLE_PREFIX = "node-role.kubernetes.io/"


def wants_table(accept: str) -> bool:
    """True if the Accept header asks for a meta.k8s.io Table."""
    return any("as=Table" in part and "g=meta.k8s.io" in part for part in accept.split(","))


def human_duration(seconds: float) -> str:
    """kubectl's AGE format (k8s.io/apimachinery duration.HumanDuration)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rest = (s % 3600) // 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


@functools.lru_cache(maxsize=65536)
def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def age(obj: Obj, now: datetime) -> str:
    """AGE cell of an object."""
    created = _parse_time(obj.get("metadata", {}).get("creationTimestamp"))
    if created is None:
        return "<unknown>"
    return human_duration((now - created).total_seconds())


def pod_status(pod: Obj) -> tuple[str, int, int]:
    """(STATUS, ready containers, restarts) the way kubectl computes them."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Pending"
    restarts = 0
    ready = 0
    initializing = False
    for index, init in enumerate(status.get("initContainerStatuses") or []):
        restarts += init.get("restartCount", 0)
        state = init.get("state") or {}
        terminated = state.get("terminated")
        waiting = state.get("waiting")
        if terminated and terminated.get("exitCode") == 0:
            continue
        if terminated:
            reason = "Init:" + (
                terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}"
            )
        elif waiting and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            total = len((pod.get("spec") or {}).get("initContainers") or [])
            reason = f"Init:{index}/{total}"
        initializing = True
        break
    if not initializing:
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += cs.get("restartCount", 0)
            state = cs.get("state") or {}
            waiting = state.get("waiting")
            terminated = state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated:
                signal = terminated.get("signal")
                reason = f"Signal:{signal}" if signal else f"ExitCode:{terminated.get('exitCode')}"
            elif cs.get("ready") and "running" in state:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason, ready, restarts


POD_COLUMNS: list[Column] = [
    ("Name", "string", "name", 0, "Name must be unique within a namespace."),
    ("Ready", "string", "", 0, "The aggregate readiness state of this pod for accepting traffic."),
    ("Status", "string", "", 0, "The aggregate status of the containers in this pod."),
    (
        "Restarts",
        "string",
        "",
        0,
        "The number of times the containers in this pod have been restarted.",
    ),
    ("Age", "string", "", 0, "CreationTimestamp is a timestamp representing the server time."),
    ("IP", "string", "", 1, "IP address allocated to the pod."),
    ("Node", "string", "", 1, "Name of the node this pod is assigned to."),
    ("Nominated Node", "string", "", 1, "Name of the node nominated for this pod."),
    ("Readiness Gates", "string", "", 1, "Readiness gates of this pod."),
]


def pod_cells(pod: Obj, now: datetime) -> list[Any]:
    """One pod row."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    reason, ready, restarts = pod_status(pod)
    gates = spec.get("readinessGates") or []
    return [
        pod["metadata"]["name"],
        f"{ready}/{len(spec.get('containers') or [])}",
        reason,
        str(restarts),
        age(pod, now),
        status.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        f"0/{len(gates)}" if gates else "<none>",
    ]


NODE_COLUMNS: list[Column] = [
    ("Name", "string", "name", 0, "Name must be unique."),
    ("Status", "string", "", 0, "The status of the node"),
    ("Roles", "string", "", 0, "The roles of the node"),
    ("Age", "string", "", 0, "CreationTimestamp is a timestamp representing the server time."),
    ("Version", "string", "", 0, "Kubelet Version reported by the node."),
    ("Internal-IP", "string", "", 1, "List of internal IPs of the node."),
    ("External-IP", "string", "", 1, "List of external IPs of the node."),
    ("OS-Image", "string", "", 1, "OS Image reported by the node."),
    ("Kernel-Version", "string", "", 1, "Kernel Version reported by the node."),
    ("Container-Runtime", "string", "", 1, "Container Runtime Version reported by the node."),
]


def node_cells(node: Obj, now: datetime) -> list[Any]:
    """One node row."""
    status = node.get("status") or {}
    ready = "Unknown"
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready":
            ready = "Ready" if condition.get("status") == "True" else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        ready += ",SchedulingDisabled"
    labels = node["metadata"].get("labels") or {}
    roles = sorted(k[len(ROLE_PREFIX) :] for k in labels if k.startswith(ROLE_PREFIX))
    info = status.get("nodeInfo") or {}

    def address(kind: str) -> str:
        for entry in status.get("addresses") or []:
            if entry.get("type") == kind:
                return str(entry.get("address"))
        return "<none>"

    return [
        node["metadata"]["name"],
        ready,
        ",".join(r for r in roles if r) or "<none>",
        age(node, now),
        info.get("kubeletVersion", ""),
        address("InternalIP"),
        address("ExternalIP"),
        info.get("osImage", "<unknown>"),
        info.get("kernelVersion", "<unknown>"),
        info.get("containerRuntimeVersion", "<unknown>"),
    ]


NAMESPACE_COLUMNS: list[Column] = [
    ("Name", "string", "name", 0, "Name must be unique."),
    ("Status", "string", "", 0, "The status of the namespace"),
    ("Age", "string", "", 0, "CreationTimestamp is a timestamp representing the server time."),
]


def namespace_cells(ns: Obj, now: datetime) -> list[Any]:
    """One namespace row."""
    return [
        ns["metadata"]["name"],
        (ns.get("status") or {}).get("phase", "Active"),
        age(ns, now),
    ]


LEASE_COLUMNS: list[Column] = [
    ("Name", "string", "name", 0, "Name must be unique within a namespace."),
    ("Holder", "string", "", 0, "The holder of the lease."),
    ("Age", "string", "", 0, "CreationTimestamp is a timestamp representing the server time."),
]


def lease_cells(lease: Obj, now: datetime) -> list[Any]:
    """One lease row."""
    holder = (lease.get("spec") or {}).get("holderIdentity") or ""
    return [lease["metadata"]["name"], holder, age(lease, now)]


EVENT_COLUMNS: list[Column] = [
    ("Last Seen", "string", "", 0, "Time since the event was last seen."),
    ("Type", "string", "", 0, "Type of this event."),
    ("Reason", "string", "", 0, "Why the event happened."),
    ("Object", "string", "", 0, "The object this event is about."),
    ("Message", "string", "", 0, "A description of the event."),
    ("Name", "string", "name", 1, "Name must be unique within a namespace."),
]


def event_cells(event: Obj, now: datetime) -> list[Any]:
    """One event row."""
    involved = event.get("involvedObject") or {}
    last = _parse_time(event.get("lastTimestamp") or event["metadata"].get("creationTimestamp"))
    seen = human_duration((now - last).total_seconds()) if last else "<unknown>"
    return [
        seen,
        event.get("type", ""),
        event.get("reason", ""),
        f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        event.get("message", ""),
        event["metadata"]["name"],
    ]


PRINTERS: dict[str, tuple[list[Column], Callable[[Obj, datetime], list[Any]]]] = {
    "pods": (POD_COLUMNS, pod_cells),
    "nodes": (NODE_COLUMNS, node_cells),
    "namespaces": (NAMESPACE_COLUMNS, namespace_cells),
    "leases": (LEASE_COLUMNS, lease_cells),
    "events": (EVENT_COLUMNS, event_cells),
    "services": (tables_network.SERVICE_COLUMNS, tables_network.service_cells),
    "endpoints": (tables_network.ENDPOINTS_COLUMNS, tables_network.endpoints_cells),
    "endpointslices": (tables_network.ENDPOINTSLICE_COLUMNS, tables_network.endpointslice_cells),
    "networkpolicies": (tables_network.NETWORKPOLICY_COLUMNS, tables_network.networkpolicy_cells),
}


def column_definitions(resource: str) -> list[Obj]:
    """The columnDefinitions of a resource's Table."""
    columns = PRINTERS[resource][0]
    return [
        {"name": n, "type": t, "format": f, "description": d, "priority": p}
        for n, t, f, p, d in columns
    ]


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata", {}),
    }


def table(
    resource: str,
    objects: Iterable[Obj],
    *,
    resource_version: str,
    include_object: str = "Metadata",
    with_columns: bool = True,
) -> Obj:
    """A meta.k8s.io/v1 Table of objects."""
    now = datetime.now(UTC)
    cells = PRINTERS[resource][1]
    rows = []
    for obj in objects:
        row: Obj = {"cells": cells(obj, now)}
        embedded = _row_object(obj, include_object)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    result: Obj = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": column_definitions(resource) if with_columns else [],
        "rows": rows,
    }
    return result


AGE_COLUMN = {
    "pods": 4,
    "nodes": 3,
    "namespaces": 2,
    "leases": 2,
    "events": 0,
    "services": 5,
    "endpoints": 2,
    "endpointslices": 4,
    "networkpolicies": 2,
}


def _age_source(resource: str, obj: Obj) -> str | None:
    if resource == "events":
        return str(obj.get("lastTimestamp") or obj["metadata"].get("creationTimestamp") or "")
    created = obj.get("metadata", {}).get("creationTimestamp")
    return str(created) if created else None


PRUNE_FLOOR = 1_000


class RowCache:
    """Encoded Table rows, kept per object version; only the age cell is redone per request.

    Rows of objects that were replaced or deleted are dropped when the cache holds twice
    as many rows as the store has objects (a churning namespace creates new names all the
    time, and each row keeps its object alive).
    """

    def __init__(self, store: Store | None = None) -> None:
        self._rows: dict[tuple[str, str, str, str], tuple[Obj, bytes, bytes]] = {}
        self._store = store
        self._limit = PRUNE_FLOOR

    def _prune(self) -> None:
        store = self._store
        if store is None:
            self._rows.clear()
            return
        self._rows = {
            key: hit
            for key, hit in self._rows.items()
            if key[0] in store.resources and store.get(key[0], key[1] or None, key[2]) is hit[0]
        }
        self._limit = max(PRUNE_FLOOR, 2 * len(self._rows))

    def _pieces(self, resource: str, obj: Obj, include: str, now: datetime) -> tuple[bytes, bytes]:
        meta = obj.get("metadata", {})
        key = (resource, meta.get("namespace") or "", meta.get("name") or "", include)
        hit = self._rows.get(key)
        if hit is not None and hit[0] is obj:
            return hit[1], hit[2]
        cells = PRINTERS[resource][1](obj, now)
        index = AGE_COLUMN[resource]
        before, after = cells[:index], cells[index + 1 :]
        prefix = b'{"cells":[' + (encode(before)[1:-1] + b"," if before else b"")
        suffix = (b"," + encode(after)[1:-1] if after else b"") + b"]"
        embedded = _row_object(obj, include)
        if embedded is not None:
            suffix += b',"object":' + encode(embedded)
        suffix += b"}"
        if len(self._rows) >= self._limit:
            self._prune()
        self._rows[key] = (obj, prefix, suffix)
        return prefix, suffix

    def rows(self, resource: str, objects: Iterable[Obj], include: str) -> list[bytes]:
        """The encoded rows of objects, with ages as of now."""
        now = datetime.now(UTC)
        ages: dict[str | None, bytes] = {}
        result = []
        for obj in objects:
            prefix, suffix = self._pieces(resource, obj, include, now)
            source = _age_source(resource, obj)
            age_cell = ages.get(source)
            if age_cell is None:
                created = _parse_time(source)
                text = human_duration((now - created).total_seconds()) if created else "<unknown>"
                age_cell = ages[source] = encode(text)
            result.append(prefix + age_cell + suffix)
        return result

    def table(
        self,
        resource: str,
        objects: Iterable[Obj],
        metadata: Obj,
        *,
        include_object: str = "Metadata",
        with_columns: bool = True,
    ) -> bytes:
        """A whole meta.k8s.io/v1 Table, encoded."""
        columns = column_definitions(resource) if with_columns else []
        return (
            b'{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":'
            + encode(metadata)
            + b',"columnDefinitions":'
            + encode(columns)
            + b',"rows":['
            + b",".join(self.rows(resource, objects, include_object))
            + b"]}"
        )
