"""Services as the API server admits them: defaults, ClusterIP and NodePort allocation, 422s.

Allocations are derived from the stored Services every time (a scan of a few hundred
objects), so objects seeded straight into the store, dry runs (which allocate nothing) and
deletions (which release) need no bookkeeping of their own. The messages are the
kube-apiserver's own (pkg/apis/core/validation, pkg/registry/core/service).
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from typing import Any

from retina_tui.sandbox import clusternet
from retina_tui.sandbox.errors import ApiError, field_cause, invalid
from retina_tui.sandbox.store import Store

Obj = dict[str, Any]
Cause = dict[str, str]

PROTOCOLS = ("SCTP", "TCP", "UDP")
TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_RESERVED = {clusternet.KUBERNETES_SERVICE_IP, clusternet.DNS_SERVICE_IP}


def _go_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def _used_ips(store: Store, skip: tuple[str, str] | None) -> set[str]:
    used = set()
    for svc in store.list("services"):
        meta = svc["metadata"]
        if skip == (meta.get("namespace"), meta.get("name")):
            continue
        for ip in (svc.get("spec") or {}).get("clusterIPs") or []:
            used.add(ip)
    return used


def _used_node_ports(store: Store, skip: tuple[str, str] | None) -> set[int]:
    used = set()
    for svc in store.list("services"):
        meta = svc["metadata"]
        if skip == (meta.get("namespace"), meta.get("name")):
            continue
        for port in (svc.get("spec") or {}).get("ports") or []:
            if isinstance(port.get("nodePort"), int):
                used.add(port["nodePort"])
    return used


def _free_ip(used: set[str]) -> str:
    network = clusternet.SERVICE_CIDR
    for _ in range(64):
        candidate = str(network[secrets.randbelow(network.num_addresses - 2) + 1])
        if candidate not in used and candidate not in _RESERVED:
            return candidate
    for host in network.hosts():
        text = str(host)
        if text not in used and text not in _RESERVED:
            return text
    raise invalid_range_full()


def invalid_range_full() -> ApiError:
    """The service CIDR has no free address."""
    return ApiError(500, "InternalError", "failed to allocate a serviceIP: range is full")


def _free_node_port(used: set[int]) -> int:
    ports = clusternet.NODEPORT_RANGE
    for _ in range(64):
        candidate = ports[secrets.randbelow(len(ports))]
        if candidate not in used:
            return candidate
    for candidate in ports:
        if candidate not in used:
            return candidate
    raise ApiError(500, "InternalError", "failed to allocate a nodePort: range is full")


def _validate_ports(spec: Obj, headless: bool) -> list[Cause]:
    causes: list[Cause] = []
    ports = spec.get("ports")
    if not ports:
        if not headless and spec.get("type") != "ExternalName":
            causes.append(field_cause("FieldValueRequired", "spec.ports", "Required value"))
        return causes
    names: set[str] = set()
    seen: set[tuple[int, str]] = set()
    for index, port in enumerate(ports):
        path = f"spec.ports[{index}]"
        name = port.get("name") or ""
        if len(ports) > 1 and not name:
            causes.append(field_cause("FieldValueRequired", f"{path}.name", "Required value"))
        elif name in names:
            causes.append(
                field_cause("FieldValueDuplicate", f"{path}.name", f'Duplicate value: "{name}"')
            )
        elif name and not _IANA_SVC_NAME.match(name):
            causes.append(
                field_cause(
                    "FieldValueInvalid",
                    f"{path}.name",
                    f'Invalid value: "{name}": a lowercase RFC 1123 label must consist of lower '
                    "case alphanumeric characters or '-', and must start and end with an "
                    "alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                )
            )
        names.add(name)
        number = port.get("port")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append(
                field_cause(
                    "FieldValueInvalid",
                    f"{path}.port",
                    f"Invalid value: {number}: must be between 1 and 65535, inclusive",
                )
            )
        protocol = port.get("protocol", "TCP")
        if protocol not in PROTOCOLS:
            causes.append(
                field_cause(
                    "FieldValueNotSupported",
                    f"{path}.protocol",
                    f'Unsupported value: "{protocol}": supported values: "SCTP", "TCP", "UDP"',
                )
            )
        elif isinstance(number, int):
            if (number, protocol) in seen:
                causes.append(
                    field_cause(
                        "FieldValueDuplicate",
                        f"{path}",
                        f'Duplicate value: {{"protocol":"{protocol}","port":{number}}}',
                    )
                )
            seen.add((number, protocol))
        causes += _validate_target_port(path, port.get("targetPort"))
    return causes


def _validate_target_port(path: str, target: Any) -> list[Cause]:
    if target is None:
        return []
    if isinstance(target, int):
        if 1 <= target <= 65535:
            return []
        message = f"Invalid value: {target}: must be between 1 and 65535, inclusive"
    elif isinstance(target, str) and len(target) <= 15 and _IANA_SVC_NAME.match(target):
        if re.search("[a-z]", target) and "--" not in target:
            return []
        message = f'Invalid value: "{target}": must contain at least one letter (a-z)'
    else:
        message = (
            f'Invalid value: "{target}": must be no more than 15 characters and consist of '
            "lower case alphanumeric characters or '-'"
        )
    return [field_cause("FieldValueInvalid", f"{path}.targetPort", message)]


def default_service(svc: Obj) -> None:
    """Fill in what the API server defaults on create."""
    spec = svc.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec["type"] != "ExternalName":
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        if "targetPort" not in port and isinstance(port.get("port"), int):
            port["targetPort"] = port["port"]
    svc.setdefault("status", {"loadBalancer": {}})


def admit(store: Store, svc: Obj, *, old: Obj | None = None) -> None:
    """Validate a Service and allocate its ClusterIP and NodePorts (422 on any problem)."""
    name = svc["metadata"].get("name", "")
    namespace = svc["metadata"].get("namespace", "")
    spec = svc.setdefault("spec", {})
    kind = spec.get("type", "ClusterIP")
    causes: list[Cause] = []
    if kind not in TYPES:
        causes.append(
            field_cause(
                "FieldValueNotSupported",
                "spec.type",
                f'Unsupported value: "{kind}": supported values: "ClusterIP", "ExternalName", '
                '"LoadBalancer", "NodePort"',
            )
        )
    skip = (namespace, name) if old is not None else None
    causes += _admit_cluster_ip(store, spec, old, skip)
    headless = spec.get("clusterIP") == "None"
    causes += _validate_ports(spec, headless)
    if not causes:
        causes += _admit_node_ports(store, spec, kind, old, skip)
    if causes:
        raise invalid("Service", name, causes)


def _admit_cluster_ip(
    store: Store, spec: Obj, old: Obj | None, skip: tuple[str, str] | None
) -> list[Cause]:
    kind = spec.get("type", "ClusterIP")
    if kind == "ExternalName":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
        return []
    previous = ((old or {}).get("spec") or {}).get("clusterIP")
    wanted = spec.get("clusterIP") or (spec.get("clusterIPs") or [None])[0]
    if previous:
        if wanted and wanted != previous:
            return [
                field_cause(
                    "FieldValueInvalid",
                    "spec.clusterIPs[0]",
                    f"Invalid value: {_go_list([wanted])}: may not change once set",
                )
            ]
        spec["clusterIP"] = previous
        spec["clusterIPs"] = [previous]
        return []
    if wanted == "None":
        spec["clusterIP"] = "None"
        spec["clusterIPs"] = ["None"]
        return []
    used = _used_ips(store, skip)
    if not wanted:
        chosen = _free_ip(used)
    else:
        try:
            address = ipaddress.ip_address(wanted)
        except ValueError:
            return [
                field_cause(
                    "FieldValueInvalid",
                    "spec.clusterIPs[0]",
                    f'Invalid value: "{wanted}": must be a valid IP address '
                    "(e.g. 10.9.8.7 or 2001:db8::ffff)",
                )
            ]
        network = clusternet.SERVICE_CIDR
        prefix = f"Invalid value: {_go_list([wanted])}: failed to allocate IP {wanted}: "
        if address not in network or address in (
            network.network_address,
            network.broadcast_address,
        ):
            return [
                field_cause(
                    "FieldValueInvalid",
                    "spec.clusterIPs",
                    prefix + f"the provided IP ({wanted}) is not in the valid range. "
                    f"The range of valid IPs is {network}",
                )
            ]
        if wanted in used:
            return [
                field_cause(
                    "FieldValueInvalid",
                    "spec.clusterIPs",
                    prefix + "provided IP is already allocated",
                )
            ]
        chosen = wanted
    spec["clusterIP"] = chosen
    spec["clusterIPs"] = [chosen]
    return []


def _admit_node_ports(
    store: Store, spec: Obj, kind: str, old: Obj | None, skip: tuple[str, str] | None
) -> list[Cause]:
    ports = spec.get("ports") or []
    if kind not in ("NodePort", "LoadBalancer"):
        causes = []
        for index, port in enumerate(ports):
            if port.get("nodePort") and old is None:
                causes.append(
                    field_cause(
                        "FieldValueForbidden",
                        f"spec.ports[{index}].nodePort",
                        "Forbidden: may not be used when `type` is 'ClusterIP'",
                    )
                )
            port.pop("nodePort", None)
        return causes
    used = _used_node_ports(store, skip)
    previous = {
        (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
        for p in ((old or {}).get("spec") or {}).get("ports") or []
    }
    causes = []
    for index, port in enumerate(ports):
        wanted = port.get("nodePort")
        path = f"spec.ports[{index}].nodePort"
        if not wanted:
            kept = previous.get((port.get("port"), port.get("protocol", "TCP")))
            port["nodePort"] = kept if kept else _free_node_port(used)
            used.add(port["nodePort"])
            continue
        if not isinstance(wanted, int) or wanted not in clusternet.NODEPORT_RANGE:
            causes.append(
                field_cause(
                    "FieldValueInvalid",
                    path,
                    f"Invalid value: {wanted}: provided port is not in the valid range. "
                    f"The range of valid ports is {clusternet.NODEPORT_RANGE.start}-"
                    f"{clusternet.NODEPORT_RANGE.stop - 1}",
                )
            )
        elif wanted in used:
            causes.append(
                field_cause(
                    "FieldValueInvalid",
                    path,
                    f"Invalid value: {wanted}: provided port is already allocated",
                )
            )
        else:
            used.add(wanted)
    return causes
