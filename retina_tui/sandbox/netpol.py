"""NetworkPolicy as the sandbox enforces it: the API's semantics compiled to per-pod verdicts.

`compile_policies` turns pods, namespaces and NetworkPolicies into, for every pod with an
IP, its ingress and egress allow-lists (None: not isolated in that direction). Selectors,
namespaceSelectors, ipBlocks (except subtracted), named ports (resolved against the pod
that receives the traffic) and endPort ranges are all resolved here, so what is rendered
into rules and what `Compiled.allowed` answers come from the same data. The rules
(`netpol_rules`) and the controller that applies them live in `netpol_rules.py`.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
Net = ipaddress.IPv4Network
PortRange = tuple[str, int, int]
ANY_PORT = (0, 65535)


@dataclass(frozen=True, slots=True)
class Allow:
    """Peers (as networks) and the ports they may use; ports None means every protocol."""

    nets: tuple[Net, ...]
    ports: tuple[PortRange, ...] | None


@dataclass(slots=True)
class PodVerdicts:
    """One pod's isolation: None where no policy selects it for that direction."""

    ip: str
    node: str
    ingress: list[Allow] | None = None
    egress: list[Allow] | None = None


@dataclass
class Compiled:
    """Every pod's verdicts, by IP."""

    pods: dict[str, PodVerdicts] = field(default_factory=dict)

    def allowed(self, src: str, dst: str, port: int, protocol: str = "TCP") -> bool:
        """Whether a new connection from `src` to `dst`:`port` is let through."""
        source, target = self.pods.get(src), self.pods.get(dst)
        if (
            source is not None
            and source.egress is not None
            and not any(_matches(a, dst, port, protocol) for a in source.egress)
        ):
            return False
        if target is not None and target.ingress is not None:
            return any(_matches(a, src, port, protocol) for a in target.ingress)
        return True


def _matches(allow: Allow, peer: str, port: int, protocol: str) -> bool:
    address = ipaddress.IPv4Address(peer)
    if not any(address in net for net in allow.nets):
        return False
    if allow.ports is None:
        return True
    return any(p == protocol and lo <= port <= hi for p, lo, hi in allow.ports)


def selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """metav1.LabelSelector semantics (an empty selector matches everything)."""
    if selector is None:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


@dataclass(frozen=True, slots=True)
class _Pod:
    namespace: str
    ip: str
    node: str
    labels: dict[str, str]
    ports: dict[tuple[str, str], int]
    address: int
    net: Net


PodCache = dict[int, tuple[Obj, "_Pod | None"]]
"""Each stored pod's parsed form, by object identity (stored objects are never mutated)."""


def _pods(pods: Iterable[Obj], cache: PodCache | None = None) -> list[_Pod]:
    """The pods that take part in policy (not host-network, not finished), parsed once.

    With `cache`, a pod object already parsed is not parsed again, and afterwards the
    cache holds exactly the pods given.
    """
    known = cache if cache is not None else {}
    fresh: PodCache = {}
    result = []
    for pod in pods:
        hit = known.get(id(pod))
        parsed = hit[1] if hit is not None and hit[0] is pod else _pod(pod)
        fresh[id(pod)] = (pod, parsed)
        if parsed is not None:
            result.append(parsed)
    if cache is not None:
        cache.clear()
        cache.update(fresh)
    return result


def _pod(pod: Obj) -> _Pod | None:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    ip = status.get("podIP")
    if not ip or spec.get("hostNetwork") or status.get("phase") in ("Succeeded", "Failed"):
        return None
    named = {
        (str(p["name"]), str(p.get("protocol", "TCP"))): int(p["containerPort"])
        for c in spec.get("containers") or []
        for p in c.get("ports") or []
        if p.get("name") and isinstance(p.get("containerPort"), int)
    }
    meta = pod["metadata"]
    address = int(ipaddress.IPv4Address(ip))
    return _Pod(
        meta.get("namespace", ""),
        ip,
        spec.get("nodeName", ""),
        meta.get("labels") or {},
        named,
        address,
        ipaddress.IPv4Network((address, 32)),
    )


def policy_types(policy: Obj) -> list[str]:
    """spec.policyTypes with the API's default (Ingress, plus Egress when egress rules exist)."""
    spec = policy.get("spec") or {}
    types = spec.get("policyTypes")
    if types:
        return list(types)
    return ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def _block(peer: Obj) -> list[Net]:
    block = peer["ipBlock"]
    cidr = ipaddress.ip_network(block["cidr"], strict=False)
    if not isinstance(cidr, Net):
        return []  # an IPv6 block names nobody in an IPv4 cluster
    nets = [cidr]
    for text in block.get("except") or []:
        hole = ipaddress.ip_network(text, strict=False)
        if isinstance(hole, Net):
            nets = [piece for net in nets for piece in _minus(net, hole)]
    return nets


def _minus(net: Net, hole: Net) -> list[Net]:
    if net.subnet_of(hole):
        return []
    if hole.subnet_of(net):
        return list(net.address_exclude(hole))
    return [net]


class _World:
    def __init__(self, pods: list[_Pod], namespaces: Iterable[Obj]) -> None:
        self.pods = pods
        self.ns_labels = {
            ns["metadata"]["name"]: (ns["metadata"].get("labels") or {}) for ns in namespaces
        }
        # Policies repeat their peers (one selector in many policies): each is resolved once,
        # and its networks are one tuple shared by every rule naming the same peers.
        self._resolved: dict[str, tuple[list[_Pod], list[Net], tuple[Net, ...]]] = {}

    def peers(self, policy_ns: str, peers: list[Obj] | None) -> tuple[list[_Pod], list[Net]]:
        """The pods and address blocks a rule's from/to names (None: everyone)."""
        pods, blocks, _ = self._lookup(policy_ns, peers)
        return pods, blocks

    def peer_nets(self, policy_ns: str, peers: list[Obj] | None) -> tuple[Net, ...]:
        """The same peers as non-overlapping networks."""
        return self._lookup(policy_ns, peers)[2]

    def _lookup(
        self, policy_ns: str, peers: list[Obj] | None
    ) -> tuple[list[_Pod], list[Net], tuple[Net, ...]]:
        key = policy_ns + "\0" + json.dumps(peers, sort_keys=True)
        known = self._resolved.get(key)
        if known is None:
            pods, blocks = self._resolve(policy_ns, peers)
            known = self._resolved[key] = (pods, blocks, _nets(pods, blocks))
        return known

    def _resolve(self, policy_ns: str, peers: list[Obj] | None) -> tuple[list[_Pod], list[Net]]:
        if not peers:
            return list(self.pods), [ipaddress.IPv4Network("0.0.0.0/0")]
        pods: list[_Pod] = []
        blocks: list[Net] = []
        for peer in peers:
            if "ipBlock" in peer:
                blocks += _block(peer)
                continue
            ns_selector = peer.get("namespaceSelector")
            pod_selector = peer.get("podSelector")
            for pod in self.pods:
                if ns_selector is None:
                    in_ns = pod.namespace == policy_ns
                else:
                    in_ns = selector_matches(ns_selector, self.ns_labels.get(pod.namespace, {}))
                if in_ns and selector_matches(pod_selector, pod.labels):
                    pods.append(pod)
        return pods, blocks


def _ports(entries: list[Obj] | None, target: _Pod | None) -> list[PortRange] | None:
    """Port entries as ranges; named ones against `target` (None: keep names unresolved)."""
    if not entries:
        return None
    ranges: list[PortRange] = []
    for entry in entries:
        protocol = entry.get("protocol", "TCP")
        port = entry.get("port")
        if port is None:
            ranges.append((protocol, *ANY_PORT))
        elif isinstance(port, int):
            ranges.append((protocol, port, int(entry.get("endPort") or port)))
        elif target is not None and (str(port), protocol) in target.ports:
            number = target.ports[(str(port), protocol)]
            ranges.append((protocol, number, number))
    return ranges


def _nets(pods: Iterable[_Pod], blocks: Iterable[Net]) -> tuple[Net, ...]:
    """Non-overlapping networks in address order: the blocks merged, the pods outside them."""
    merged = list(ipaddress.collapse_addresses(blocks))
    spans = [(int(b.network_address), int(b.broadcast_address)) for b in merged]
    singles = {p.address: p.net for p in pods if not any(lo <= p.address <= hi for lo, hi in spans)}
    nets = merged + list(singles.values())
    return tuple(sorted(nets, key=lambda n: int(n.network_address)))


def compile_policies(
    pods: Iterable[Obj],
    namespaces: Iterable[Obj],
    policies: Iterable[Obj],
    cache: PodCache | None = None,
) -> Compiled:
    """Resolve every policy against the current pods and namespaces (`cache`: see _pods)."""
    world = _World(_pods(pods, cache), namespaces)
    compiled = Compiled({p.ip: PodVerdicts(p.ip, p.node) for p in world.pods})
    for policy in policies:
        namespace = policy["metadata"].get("namespace", "")
        spec = policy.get("spec") or {}
        types = policy_types(policy)
        selected = [
            p
            for p in world.pods
            if p.namespace == namespace
            and selector_matches(spec.get("podSelector") or {}, p.labels)
        ]
        # Peers depend on the rule only; named ingress ports on each selected pod.
        ingress_rules = [
            (world.peer_nets(namespace, rule.get("from")), rule.get("ports"))
            for rule in (spec.get("ingress") or [] if "Ingress" in types else [])
        ]
        egress = [
            allow
            for rule in (spec.get("egress") or [] if "Egress" in types else [])
            for allow in _egress_allows(world, namespace, rule)
        ]
        for pod in selected:
            verdicts = compiled.pods[pod.ip]
            if "Ingress" in types:
                allows = verdicts.ingress if verdicts.ingress is not None else []
                for nets, entries in ingress_rules:
                    ports = _ports(entries, pod)
                    if ports != [] and nets:
                        allows.append(Allow(nets, tuple(ports) if ports is not None else None))
                verdicts.ingress = allows
            if "Egress" in types:
                verdicts.egress = (verdicts.egress or []) + egress
    return compiled


def _egress_allows(world: _World, namespace: str, rule: Obj) -> list[Allow]:
    peers, blocks = world.peers(namespace, rule.get("to"))
    entries = rule.get("ports")
    numeric = [e for e in entries or [] if not isinstance(e.get("port"), str)]
    named = [e for e in entries or [] if isinstance(e.get("port"), str)]
    result: list[Allow] = []
    if not entries or numeric:
        nets = world.peer_nets(namespace, rule.get("to"))
        ports = _ports(numeric, None) if entries else None
        if nets:
            result.append(Allow(nets, tuple(ports) if ports is not None else None))
    if named:
        # A named port is a number per destination pod: pods named by the rule's peers, or
        # inside its blocks, that have a container port of that name.
        candidates = {p.ip: p for p in peers}
        for pod in world.pods:
            address = ipaddress.IPv4Address(pod.ip)
            if any(address in b for b in blocks):
                candidates.setdefault(pod.ip, pod)
        by_ports: dict[tuple[PortRange, ...], list[_Pod]] = {}
        for pod in candidates.values():
            resolved = _ports(named, pod) or []
            if resolved:
                by_ports.setdefault(tuple(sorted(set(resolved))), []).append(pod)
        for numbers in sorted(by_ports):
            result.append(Allow(_nets(by_ports[numbers], ()), numbers))
    return result
