"""NetworkPolicy verdicts with the API's semantics, and the policies and rules behind them.

A connection is allowed when the source's egress and the destination's ingress both allow
it. A pod is isolated in a direction when at least one policy of its namespace selects it
for that direction; an isolated side allows a connection when any rule of any selecting
policy admits the peer and the port. Peers are pods (podSelector, namespaceSelector, both)
or IP blocks (cidr minus except); ports are numbers, endPort ranges or names resolved in
the destination pod's containers; a rule without ports admits every port and protocol,
which is the only way ICMP is admitted. Pods on the host network, nodes and addresses
outside the cluster are never isolated: policies select pods, and only pod-network pods.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from retina_tui.netmodel.labels import selects, show_labels, show_selector

Obj = dict[str, Any]
Direction = Literal["ingress", "egress"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One end of a connection: a pod on the pod network, or just an address."""

    ip: str
    namespace: str | None = None
    name: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    named_ports: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """(port name, protocol) -> container port, from the pod's containers."""

    @property
    def is_pod(self) -> bool:
        return self.namespace is not None

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.name}" if self.is_pod else self.ip


def pod_endpoint(pod: Obj) -> Endpoint | None:
    """A pod as an endpoint; None while it has no IP. Host-network pods are addresses."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    ip = (pod.get("status") or {}).get("podIP")
    if not ip:
        return None
    if spec.get("hostNetwork"):
        return Endpoint(str(ip))
    named: dict[tuple[str, str], int] = {}
    for container in spec.get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") and isinstance(port.get("containerPort"), int):
                key = (str(port["name"]), str(port.get("protocol") or "TCP"))
                named.setdefault(key, port["containerPort"])
    return Endpoint(
        str(ip),
        str(meta.get("namespace") or "default"),
        str(meta.get("name") or ""),
        dict(meta.get("labels") or {}),
        named,
    )


@dataclass(frozen=True, slots=True)
class RuleRef:
    """A rule that admits a connection: `ns/name`, which direction, its index there."""

    policy: str
    direction: Direction
    index: int

    def __str__(self) -> str:
        return f"{self.policy} {self.direction} rule {self.index + 1}"


@dataclass(frozen=True, slots=True)
class Side:
    """One direction's verdict: the pod's egress (of the source) or ingress (of the target)."""

    direction: Direction
    pod: str | None
    """`ns/name` of the pod whose side this is; None for an address (never isolated)."""
    policies: tuple[str, ...]
    """The policies that select the pod for this direction (isolating it)."""
    admitted_by: RuleRef | None

    @property
    def isolated(self) -> bool:
        return bool(self.policies)

    @property
    def allowed(self) -> bool:
        return not self.policies or self.admitted_by is not None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The prediction for one connection, with both sides and one sentence saying why."""

    src: Endpoint
    dst: Endpoint
    port: int | None
    protocol: str
    egress: Side
    ingress: Side

    @property
    def allowed(self) -> bool:
        return self.egress.allowed and self.ingress.allowed

    @property
    def deciding(self) -> tuple[str, ...]:
        """The policies that deny it (denied), or those whose rules admit it (allowed)."""
        if not self.allowed:
            return tuple(
                p for s in (self.egress, self.ingress) if not s.allowed for p in s.policies
            )
        return tuple(s.admitted_by.policy for s in (self.egress, self.ingress) if s.admitted_by)

    def explain(self) -> str:
        what = _traffic(self.protocol, self.port)
        for side in (self.egress, self.ingress):
            if side.allowed:
                continue
            peer = self.dst if side.direction == "egress" else self.src
            names = ", ".join(side.policies)
            plural = "NetworkPolicies" if len(side.policies) > 1 else "NetworkPolicy"
            verb = "to" if side.direction == "egress" else "admits"
            if side.direction == "egress":
                rule = f"no rule lets it out {verb} {_peer(peer)} on {what}"
            else:
                rule = f"no rule {verb} {_peer(peer)} on {what}"
            return f"denied by {plural} {names} ({side.direction} of {side.pod}: {rule})"
        admitted = [str(s.admitted_by) for s in (self.egress, self.ingress) if s.admitted_by]
        if admitted:
            return f"allowed by {' and '.join(admitted)}"
        return "allowed: no NetworkPolicy isolates either end"


def _traffic(protocol: str, port: int | None) -> str:
    return protocol if port is None else f"{protocol} {port}"


def _peer(endpoint: Endpoint) -> str:
    if endpoint.is_pod and not endpoint.labels:
        return f"pod {endpoint.label} (no labels)"
    if endpoint.is_pod:
        return f"{show_labels(endpoint.labels)} (pod {endpoint.label})"
    return endpoint.ip


def policy_types(policy: Obj) -> tuple[str, ...]:
    """policyTypes as the API defaults it: Ingress, plus Egress when egress rules exist."""
    spec = policy.get("spec") or {}
    if spec.get("policyTypes"):
        return tuple(str(t) for t in spec["policyTypes"])
    return ("Ingress", "Egress") if spec.get("egress") else ("Ingress",)


def policy_name(policy: Obj) -> str:
    meta = policy.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name') or '?'}"


def selecting(policies: Iterable[Obj], pod: Endpoint, direction: Direction) -> list[Obj]:
    """The policies that select `pod` for `direction` (none for an address)."""
    if not pod.is_pod:
        return []
    kind = "Ingress" if direction == "ingress" else "Egress"
    return [
        p
        for p in policies
        if (p.get("metadata") or {}).get("namespace") == pod.namespace
        and kind in policy_types(p)
        and selects((p.get("spec") or {}).get("podSelector") or {}, pod.labels)
    ]


def _in_block(block: Obj, ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
        if address not in ipaddress.ip_network(str(block.get("cidr")), strict=False):
            return False
        holes = block.get("except") or []
        return not any(address in ipaddress.ip_network(str(h), strict=False) for h in holes)
    except ValueError:
        return False


def peer_matches(
    peer: Obj, policy_namespace: str, other: Endpoint, namespaces: Mapping[str, Mapping[str, str]]
) -> bool:
    """Whether `other` is one of the peers a from/to entry names."""
    if "ipBlock" in peer:
        return _in_block(peer["ipBlock"] or {}, other.ip)
    if not other.is_pod:
        return False
    if "namespaceSelector" in peer:
        assert other.namespace is not None
        labels = namespaces.get(other.namespace, {"kubernetes.io/metadata.name": other.namespace})
        if not selects(peer.get("namespaceSelector") or {}, labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector") or {}, other.labels)


def port_matches(entries: list[Obj] | None, port: int | None, protocol: str, dst: Endpoint) -> bool:
    """Whether (`protocol`, `port`) at `dst` is one of a rule's ports (none listed: all)."""
    if not entries:
        return True
    if port is None:
        return False
    for entry in entries:
        if str(entry.get("protocol") or "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, str):
            if dst.named_ports.get((wanted, protocol)) == port:
                return True
        elif isinstance(wanted, int):
            end = entry.get("endPort")
            if wanted <= port <= (end if isinstance(end, int) else wanted):
                return True
    return False


def _side(
    direction: Direction,
    pod: Endpoint,
    peer: Endpoint,
    dst: Endpoint,
    port: int | None,
    protocol: str,
    policies: list[Obj],
    namespaces: Mapping[str, Mapping[str, str]],
) -> Side:
    chosen = selecting(policies, pod, direction)
    peers_field = "from" if direction == "ingress" else "to"
    admitted: RuleRef | None = None
    for policy in chosen:
        namespace = str((policy.get("metadata") or {}).get("namespace"))
        for index, rule in enumerate((policy.get("spec") or {}).get(direction) or []):
            named = rule.get(peers_field)
            peer_ok = not named or any(peer_matches(p, namespace, peer, namespaces) for p in named)
            if peer_ok and port_matches(rule.get("ports"), port, protocol, dst):
                admitted = RuleRef(policy_name(policy), direction, index)
                break
        if admitted is not None:
            break
    return Side(
        direction,
        pod.label if pod.is_pod else None,
        tuple(policy_name(p) for p in chosen),
        admitted,
    )


def evaluate(
    src: Endpoint,
    dst: Endpoint,
    port: int | None,
    protocol: str,
    policies: Iterable[Obj],
    namespaces: Mapping[str, Mapping[str, str]],
) -> Verdict:
    """The verdict for a new connection from `src` to `dst` (`port` None: ICMP)."""
    every = list(policies)
    egress = _side("egress", src, dst, dst, port, protocol, every, namespaces)
    ingress = _side("ingress", dst, src, dst, port, protocol, every, namespaces)
    return Verdict(src, dst, port, protocol, egress, ingress)


def namespace_labels(namespaces: Iterable[Obj]) -> dict[str, dict[str, str]]:
    """Namespace name -> labels, with the label the API server always sets."""
    labels: dict[str, dict[str, str]] = {}
    for ns in namespaces:
        meta = ns.get("metadata") or {}
        name = str(meta.get("name") or "")
        labels[name] = {"kubernetes.io/metadata.name": name, **(meta.get("labels") or {})}
    return labels


def summarize(policy: Obj) -> str:
    """One line: what a policy selects and what it lets in and out."""
    spec = policy.get("spec") or {}
    types = policy_types(policy)
    parts = [f"selects {show_selector(spec.get('podSelector'))}"]
    for direction, kind, peers_field in (
        ("ingress", "Ingress", "from"),
        ("egress", "Egress", "to"),
    ):
        if kind not in types:
            continue
        rules = spec.get(direction) or []
        if not rules:
            parts.append(f"{direction}: nothing")
            continue
        shown = [_rule_text(rule, peers_field) for rule in rules]
        parts.append(f"{direction}: " + "; ".join(shown))
    return ", ".join(parts)


def _rule_text(rule: Obj, peers_field: str) -> str:
    peers = rule.get(peers_field) or []
    who = "anyone" if not peers else " or ".join(_peer_text(p) for p in peers)
    ports = rule.get("ports") or []
    if not ports:
        return f"{who} on any port"
    shown = []
    for entry in ports:
        protocol = entry.get("protocol") or "TCP"
        port = entry.get("port")
        if port is None:
            shown.append(f"{protocol} any")
        elif entry.get("endPort"):
            shown.append(f"{protocol} {port}-{entry['endPort']}")
        else:
            shown.append(f"{protocol} {port}")
    return f"{who} on {', '.join(shown)}"


def _peer_text(peer: Obj) -> str:
    if "ipBlock" in peer:
        block = peer["ipBlock"] or {}
        holes = block.get("except") or []
        return str(block.get("cidr")) + (f" except {','.join(holes)}" if holes else "")
    pods = show_selector(peer.get("podSelector")) if "podSelector" in peer else None
    if "namespaceSelector" in peer:
        ns = peer.get("namespaceSelector") or {}
        where = "all namespaces" if not ns else f"namespaces {show_selector(ns)}"
        return f"{pods or '(all pods)'} in {where}"
    return pods or "(all pods)"
