"""The endpoints controller: EndpointSlices and Endpoints kept in step with Services and pods.

For each Service with a selector it writes what kube-controller-manager's EndpointSlice and
Endpoints controllers write: one slice per distinct set of resolved ports (a named
targetPort may be a different number in different pods), endpoints with ready / serving /
terminating conditions, and the legacy Endpoints object. A slice is updated in place, and
only when its content changed, so watchers see one MODIFIED per real change. Services
without a selector keep whatever slices their owner writes.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from typing import Any

from retina_tui.sandbox import clusternet
from retina_tui.sandbox.controller import Controller
from retina_tui.sandbox.store import now_iso

Obj = dict[str, Any]
PortKey = tuple[tuple[str, str, int], ...]
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _ready(pod: Obj) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


def _selected(pod: Obj, selector: dict[str, str]) -> bool:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


def _container_port(pod: Obj, name: str, protocol: str) -> int | None:
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == name and port.get("protocol", "TCP") == protocol:
                number = port.get("containerPort")
                return number if isinstance(number, int) else None
    return None


def resolve_ports(service: Obj, pod: Obj) -> PortKey | None:
    """The service's ports as (name, protocol, number) for this pod; None if one is missing."""
    resolved = []
    for port in (service.get("spec") or {}).get("ports") or []:
        protocol = port.get("protocol", "TCP")
        target = port.get("targetPort", port.get("port"))
        number = target if isinstance(target, int) else _container_port(pod, str(target), protocol)
        if number is None:
            return None
        resolved.append((port.get("name") or "", protocol, number))
    return tuple(resolved)


def _endpoint(pod: Obj) -> Obj:
    meta = pod["metadata"]
    terminating = bool(meta.get("deletionTimestamp"))
    ready = _ready(pod)
    endpoint: Obj = {
        "addresses": [pod["status"]["podIP"]],
        "conditions": {
            "ready": ready and not terminating,
            "serving": ready,
            "terminating": terminating,
        },
        "targetRef": {
            "kind": "Pod",
            "namespace": meta.get("namespace", ""),
            "name": meta["name"],
            "uid": meta.get("uid", ""),
        },
    }
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        endpoint["nodeName"] = node
    return endpoint


def _owner(service: Obj) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "name": service["metadata"]["name"],
        "uid": service["metadata"].get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


class EndpointsController(Controller):
    """Writes EndpointSlices and Endpoints for every Service with a selector."""

    name = "endpoints-controller"
    resources = ("services", "pods", "endpointslices", "endpoints")

    async def sync(self) -> None:
        pods_by_ns: dict[str, list[Obj]] = defaultdict(list)
        for pod in self.store.list("pods"):
            if (pod.get("status") or {}).get("podIP") and (pod.get("status") or {}).get(
                "phase"
            ) not in ("Succeeded", "Failed"):
                pods_by_ns[pod["metadata"].get("namespace", "")].append(pod)
        managed: dict[tuple[str, str], list[Obj]] = defaultdict(list)
        for slice_ in self.store.list("endpointslices"):
            labels = slice_["metadata"].get("labels") or {}
            if labels.get(clusternet.MANAGED_BY_LABEL) == clusternet.ENDPOINTSLICE_CONTROLLER:
                owner = labels.get(clusternet.SERVICE_NAME_LABEL, "")
                managed[(slice_["metadata"].get("namespace", ""), owner)].append(slice_)
        wanted: set[tuple[str, str]] = set()
        for service in self.store.list("services"):
            selector = (service.get("spec") or {}).get("selector")
            if not selector:
                continue
            key = (service["metadata"].get("namespace", ""), service["metadata"]["name"])
            wanted.add(key)
            members = [p for p in pods_by_ns.get(key[0], []) if _selected(p, selector)]
            self._write_slices(service, members, managed.get(key, []))
            self._write_endpoints(service, members)
        for key, slices in managed.items():
            if key not in wanted:
                for slice_ in slices:
                    self.store.remove("endpointslices", key[0], slice_["metadata"]["name"])
                if self.store.get("endpoints", key[0], key[1]) is not None and self._ours(key):
                    self.store.remove("endpoints", key[0], key[1])

    def _ours(self, key: tuple[str, str]) -> bool:
        endpoints = self.store.get("endpoints", key[0], key[1])
        labels = ((endpoints or {}).get("metadata") or {}).get("labels") or {}
        return labels.get(clusternet.MANAGED_BY_LABEL) == clusternet.ENDPOINTSLICE_CONTROLLER

    def _write_slices(self, service: Obj, members: list[Obj], existing: list[Obj]) -> None:
        namespace = service["metadata"].get("namespace", "")
        groups: dict[PortKey, list[Obj]] = {}
        for pod in members:
            ports = resolve_ports(service, pod)
            if ports is not None:
                groups.setdefault(ports, []).append(_endpoint(pod))
        if not groups:
            groups[()] = []
        spare = sorted(existing, key=lambda s: s["metadata"]["name"])
        by_ports = {_slice_ports(s): s for s in spare}
        for ports, endpoints in groups.items():
            body = {
                "addressType": "IPv4",
                "endpoints": sorted(endpoints, key=lambda e: e["addresses"][0]),
                "ports": [{"name": n, "protocol": p, "port": num} for n, p, num in ports],
            }
            current = by_ports.pop(ports, None)
            if current is None and by_ports:
                current = by_ports.pop(next(iter(by_ports)))
            if current is None:
                self.store.create("endpointslices", self._new_slice(service, body))
            elif any(current.get(k) != v for k, v in body.items()):
                self.store.mutate(
                    "endpointslices", namespace, current["metadata"]["name"], _updater(body)
                )
        for leftover in by_ports.values():
            self.store.remove("endpointslices", namespace, leftover["metadata"]["name"])

    def _new_slice(self, service: Obj, body: Obj) -> Obj:
        name = service["metadata"]["name"]
        suffix = "".join(_ALPHABET[secrets.randbelow(len(_ALPHABET))] for _ in range(5))
        return {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": f"{name}-{suffix}",
                "generateName": f"{name}-",
                "namespace": service["metadata"].get("namespace", ""),
                "labels": {
                    clusternet.SERVICE_NAME_LABEL: name,
                    clusternet.MANAGED_BY_LABEL: clusternet.ENDPOINTSLICE_CONTROLLER,
                },
                "ownerReferences": [_owner(service)],
            },
            **body,
        }

    def _write_endpoints(self, service: Obj, members: list[Obj]) -> None:
        namespace, name = service["metadata"].get("namespace", ""), service["metadata"]["name"]
        subsets: dict[PortKey, Obj] = {}
        for pod in members:
            ports = resolve_ports(service, pod)
            if ports is None:
                continue
            subset = subsets.setdefault(ports, {})
            entry = _endpoint(pod)
            address: Obj = {"ip": entry["addresses"][0], "targetRef": entry["targetRef"]}
            if "nodeName" in entry:
                address["nodeName"] = entry["nodeName"]
            field = "addresses" if entry["conditions"]["ready"] else "notReadyAddresses"
            subset.setdefault(field, []).append(address)
        body: list[Obj] = []
        for ports, subset in subsets.items():
            for field in ("addresses", "notReadyAddresses"):
                if field in subset:
                    subset[field].sort(key=lambda a: a["ip"])
            subset["ports"] = [
                {"name": n, "port": num, "protocol": p} if n else {"port": num, "protocol": p}
                for n, p, num in ports
            ]
            body.append(subset)
        current = self.store.get("endpoints", namespace, name)
        if current is None:
            obj: Obj = {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": {clusternet.MANAGED_BY_LABEL: clusternet.ENDPOINTSLICE_CONTROLLER},
                    "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": now_iso()},
                },
            }
            if body:
                obj["subsets"] = body
            self.store.create("endpoints", obj)
        elif (current.get("subsets") or []) != body:

            def update(target: Obj) -> None:
                if body:
                    target["subsets"] = body
                else:
                    target.pop("subsets", None)

            self.store.mutate("endpoints", namespace, name, update)


def _slice_ports(slice_: Obj) -> PortKey:
    return tuple(
        (p.get("name") or "", p.get("protocol", "TCP"), int(p.get("port") or 0))
        for p in slice_.get("ports") or []
    )


def _updater(body: Obj) -> Any:
    def update(target: Obj) -> None:
        target.update(body)

    return update
