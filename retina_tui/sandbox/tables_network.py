"""Table rows for the network resources, as kubectl's printers write them.

Services (NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE, wide SELECTOR), Endpoints (NAME
ENDPOINTS AGE), EndpointSlices (NAME ADDRESSTYPE PORTS ENDPOINTS AGE) and NetworkPolicies
(NAME POD-SELECTOR AGE), after k8s.io/kubernetes/pkg/printers/internalversion.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

Obj = dict[str, Any]
Column = tuple[str, str, str, int, str]
AGE_HELP = "CreationTimestamp is a timestamp representing the server time."
MAX_SHOWN = 3


def _age(obj: Obj, now: datetime) -> str:
    from retina_tui.sandbox.tables import age

    return age(obj, now)


def _more(items: list[str], total: int) -> str:
    if not items:
        return "<none>"
    text = ",".join(items)
    return f"{text} + {total - len(items)} more..." if total > len(items) else text


def label_selector(selector: Obj | None) -> str:
    """metav1.FormatLabelSelector."""
    if not selector:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, values = expr.get("operator"), ",".join(expr.get("values") or [])
        key = expr.get("key", "")
        if op == "In":
            parts.append(f"{key} in ({values})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts) or "<none>"


SERVICE_COLUMNS: list[Column] = [
    ("Name", "string", "name", 0, "Name must be unique within a namespace."),
    ("Type", "string", "", 0, "type determines how the Service is exposed."),
    ("Cluster-IP", "string", "", 0, "clusterIP is the IP address of the service."),
    ("External-IP", "string", "", 0, "List of IP addresses for which nodes also accept traffic."),
    ("Port(s)", "string", "", 0, "The list of ports that are exposed by this service."),
    ("Age", "string", "", 0, AGE_HELP),
    ("Selector", "string", "", 1, "Route service traffic to pods with label keys and values."),
]


def service_cells(svc: Obj, now: datetime) -> list[Any]:
    """One Service row."""
    spec = svc.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    external = list(spec.get("externalIPs") or [])
    if kind == "LoadBalancer":
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        external += [i.get("ip") or i.get("hostname") for i in ingress]
        shown = ",".join(external) if external else "<pending>"
    elif kind == "ExternalName":
        shown = spec.get("externalName", "")
    else:
        shown = ",".join(external) if external else "<none>"
    ports = []
    for port in spec.get("ports") or []:
        node = f":{port['nodePort']}" if port.get("nodePort") else ""
        ports.append(f"{port.get('port')}{node}/{port.get('protocol', 'TCP')}")
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    return [
        svc["metadata"]["name"],
        kind,
        spec.get("clusterIP") or "<none>",
        shown,
        ",".join(ports) or "<none>",
        _age(svc, now),
        selector or "<none>",
    ]


ENDPOINTS_COLUMNS: list[Column] = [
    ("Name", "string", "name", 0, "Name must be unique within a namespace."),
    ("Endpoints", "string", "", 0, "Endpoints of the service."),
    ("Age", "string", "", 0, AGE_HELP),
]


def endpoints_cells(ep: Obj, now: datetime) -> list[Any]:
    """One Endpoints row: up to three ip:port pairs."""
    pairs: list[str] = []
    total = 0
    for subset in ep.get("subsets") or []:
        ports = subset.get("ports") or [{}]
        for address in subset.get("addresses") or []:
            for port in ports:
                total += 1
                if len(pairs) < MAX_SHOWN:
                    pairs.append(
                        f"{address.get('ip')}:{port['port']}" if "port" in port else address["ip"]
                    )
    return [ep["metadata"]["name"], _more(pairs, total), _age(ep, now)]


ENDPOINTSLICE_COLUMNS: list[Column] = [
    ("Name", "string", "name", 0, "Name must be unique within a namespace."),
    ("AddressType", "string", "", 0, "Type of address carried by this EndpointSlice."),
    ("Ports", "string", "", 0, "Ports allowed by this EndpointSlice."),
    ("Endpoints", "string", "", 0, "Endpoints in this EndpointSlice."),
    ("Age", "string", "", 0, AGE_HELP),
]


def endpointslice_cells(slice_: Obj, now: datetime) -> list[Any]:
    """One EndpointSlice row."""
    ports = [
        str(p["port"]) if p.get("port") is not None else "<unset>"
        for p in slice_.get("ports") or []
    ]
    addresses = [a for e in slice_.get("endpoints") or [] for a in e.get("addresses") or []]
    return [
        slice_["metadata"]["name"],
        slice_.get("addressType", ""),
        ",".join(ports) or "<unset>",
        _more(addresses[:MAX_SHOWN], len(addresses)),
        _age(slice_, now),
    ]


NETWORKPOLICY_COLUMNS: list[Column] = [
    ("Name", "string", "name", 0, "Name must be unique within a namespace."),
    ("Pod-Selector", "string", "", 0, "Selects the pods to which this policy applies."),
    ("Age", "string", "", 0, AGE_HELP),
]


def networkpolicy_cells(policy: Obj, now: datetime) -> list[Any]:
    """One NetworkPolicy row."""
    selector = (policy.get("spec") or {}).get("podSelector")
    return [policy["metadata"]["name"], label_selector(selector), _age(policy, now)]
