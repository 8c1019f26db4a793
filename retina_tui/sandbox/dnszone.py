"""The cluster.local zone as CoreDNS's kubernetes plugin serves it, built from API objects.

A pure function of the store's Services, EndpointSlices, namespaces and pods (no I/O), so
the DNS server can swap in a new zone atomically on every sync and answer from memory:
Service A records (ClusterIP, or the ready endpoints of a headless Service), SRV for named
ports, ExternalName CNAMEs, `pods insecure` pod records, PTR for ClusterIPs and endpoint
addresses, and the zone's SOA for negative answers. TTL 30 is kubeadm's (and kind's)
Corefile setting (`ttl 30`); the plugin's own default, 5, is what a bare Corefile gets.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from retina_tui.sandbox.clusternet import CLUSTER_DOMAIN, DNS_SERVICE_IP, SERVICE_NAME_LABEL

Obj = dict[str, Any]
TTL: Final = 30
SCHEMA_VERSION: Final = "1.1.0"  # the answer to dns-version.<zone> TXT (the DNS spec's)
ZONE: Final = dns.name.from_text(CLUSTER_DOMAIN)
REVERSE: Final = dns.name.from_text("in-addr.arpa")
A, AAAA, SRV, PTR, CNAME, SOA, NS, TXT = (
    dns.rdatatype.A,
    dns.rdatatype.AAAA,
    dns.rdatatype.SRV,
    dns.rdatatype.PTR,
    dns.rdatatype.CNAME,
    dns.rdatatype.SOA,
    dns.rdatatype.NS,
    dns.rdatatype.TXT,
)
IN: Final = dns.rdataclass.IN


def _rdata(rdtype: dns.rdatatype.RdataType, text: str) -> dns.rdata.Rdata:
    return dns.rdata.from_text(IN, rdtype, text)


@dataclass
class Zone:
    """Records by owner name (lowercase, absolute) and type; plus the names that exist."""

    records: dict[dns.name.Name, dict[dns.rdatatype.RdataType, list[dns.rdata.Rdata]]] = field(
        default_factory=dict
    )
    namespaces: frozenset[str] = frozenset()
    serial: int = 0
    present: set[dns.name.Name] = field(default_factory=set)

    def add(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType, text: str) -> None:
        rdata = _rdata(rdtype, text)
        bucket = self.records.setdefault(name, {}).setdefault(rdtype, [])
        if rdata not in bucket:
            bucket.append(rdata)
        while name not in self.present and name.is_subdomain(ZONE):
            self.present.add(name)
            name = name.parent()

    def soa(self) -> dns.rrset.RRset:
        text = f"ns.dns.{ZONE} hostmaster.{ZONE} {self.serial} 7200 1800 86400 {TTL}"
        return dns.rrset.from_rdata_list(ZONE, TTL, [_rdata(SOA, text)])

    def exists(self, name: dns.name.Name) -> bool:
        """Whether `name` owns records or is an empty non-terminal above one that does."""
        return name in self.records or name in self.present


def _dashed(ip: str) -> str:
    return ip.replace(".", "-").replace(":", "-")


def _ready(endpoint: Obj) -> bool:
    ready = (endpoint.get("conditions") or {}).get("ready")
    return ready is None or bool(ready)


def _ipv4(value: Any) -> str | None:
    try:
        return str(ipaddress.IPv4Address(str(value)))
    except ValueError:
        return None


def _reverse(ip: str) -> dns.name.Name:
    return dns.name.from_text(ipaddress.IPv4Address(ip).reverse_pointer)


def build(
    services: Iterable[Obj],
    slices: Iterable[Obj],
    namespaces: Iterable[Obj],
    pods: Iterable[Obj] = (),
) -> Zone:
    """The whole zone for these objects (pods only feed the existence of their namespace)."""
    zone = Zone(serial=int(time.time()) & 0xFFFFFFFF)
    names = {str((ns.get("metadata") or {}).get("name", "")) for ns in namespaces}
    names |= {str((p.get("metadata") or {}).get("namespace", "")) for p in pods}
    zone.namespaces = frozenset(n for n in names if n)
    zone.add(ZONE, SOA, f"ns.dns.{ZONE} hostmaster.{ZONE} 0 7200 1800 86400 {TTL}")
    zone.add(ZONE, NS, f"ns.dns.{ZONE}")
    zone.add(dns.name.from_text("ns.dns", ZONE), A, DNS_SERVICE_IP)
    zone.add(dns.name.from_text("dns-version", ZONE), TXT, f'"{SCHEMA_VERSION}"')
    by_service: dict[tuple[str, str], list[Obj]] = {}
    for eps in slices:
        meta = eps.get("metadata") or {}
        service = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if service and eps.get("addressType", "IPv4") == "IPv4":
            by_service.setdefault((str(meta.get("namespace", "")), str(service)), []).append(eps)
    for svc in services:
        meta = svc.get("metadata") or {}
        namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
        _add_service(zone, svc, namespace, name, by_service.get((namespace, name), []))
    return zone


def _add_service(zone: Zone, svc: Obj, namespace: str, name: str, slices: list[Obj]) -> None:
    spec = svc.get("spec") or {}
    owner = dns.name.from_text(f"{name}.{namespace}.svc", ZONE)
    if spec.get("type") == "ExternalName":
        target = str(spec.get("externalName", "")).rstrip(".")
        if target:
            zone.add(owner, CNAME, f"{target}.")
        return
    cluster_ip = _ipv4(spec.get("clusterIP"))
    if cluster_ip is not None:
        zone.add(owner, A, cluster_ip)
        zone.add(_reverse(cluster_ip), PTR, owner.to_text())
        for port in spec.get("ports") or []:
            _add_srv(zone, owner, port, [(owner, cluster_ip)])
    endpoints: list[tuple[dns.name.Name, str, Obj]] = []
    for eps in slices:
        for endpoint in eps.get("endpoints") or []:
            host = endpoint.get("hostname")
            for raw in endpoint.get("addresses") or []:
                ip = _ipv4(raw)
                if ip is None:
                    continue
                label = str(host) if host else _dashed(ip)
                member = dns.name.from_text(label, owner)
                zone.add(_reverse(ip), PTR, member.to_text())
                if _ready(endpoint):
                    endpoints.append((member, ip, eps))
    if spec.get("clusterIP") != "None":
        return
    for member, ip, _ in endpoints:
        zone.add(owner, A, ip)
        zone.add(member, A, ip)
    ports: dict[tuple[str, str], list[tuple[dns.name.Name, str, int]]] = {}
    for member, ip, eps in endpoints:
        for port in eps.get("ports") or []:
            key = (str(port.get("name") or ""), str(port.get("protocol") or "TCP"))
            ports.setdefault(key, []).append((member, ip, int(port.get("port") or 0)))
    for (port_name, protocol), targets in ports.items():
        _add_srv_targets(zone, owner, port_name, protocol, targets)


def _add_srv(
    zone: Zone, owner: dns.name.Name, port: Obj, targets: list[tuple[dns.name.Name, str]]
) -> None:
    number = int(port.get("port") or 0)
    members = [(target, ip, number) for target, ip in targets]
    protocol = str(port.get("protocol") or "TCP")
    _add_srv_targets(zone, owner, str(port.get("name") or ""), protocol, members)


def _add_srv_targets(
    zone: Zone,
    owner: dns.name.Name,
    port_name: str,
    protocol: str,
    targets: list[tuple[dns.name.Name, str, int]],
) -> None:
    if not port_name or not targets:
        return
    name = dns.name.from_text(f"_{port_name}._{protocol.lower()}", owner)
    # CoreDNS's weight: 100 split evenly over the records of one priority, rounded down.
    weight = 100 // len(targets)
    for target, ip, number in targets:
        zone.add(name, SRV, f"0 {weight} {number} {target.to_text()}")
        zone.add(target, A, ip)


def authoritative(zone: Zone, name: dns.name.Name) -> bool:
    """Whether the zone answers for `name`: all of cluster.local, and the reverse names of
    its addresses; other reverse names fall through to the upstream servers (kubeadm's
    `fallthrough in-addr.arpa ip6.arpa`)."""
    return name.is_subdomain(ZONE) or name.canonicalize() in zone.records


def _pod_record(zone: Zone, qname: dns.name.Name) -> str | None:
    """`a-b-c-d.<ns>.pod.<zone>` -> a.b.c.d, for a namespace that exists (pods insecure)."""
    labels = qname.relativize(ZONE).labels
    if len(labels) != 3 or labels[2].lower() != b"pod":
        return None
    if labels[1].decode(errors="replace").lower() not in zone.namespaces:
        return None
    return _ipv4(labels[0].decode(errors="replace").replace("-", "."))


def answer(zone: Zone, query: dns.message.Message) -> dns.message.Message:
    """The authoritative answer to a query for a name in the zone (or a known reverse name)."""
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA
    question = query.question[0]
    qname, rdtype = question.name, question.rdtype
    lookup = qname.canonicalize()
    records = dict(zone.records.get(lookup, {}))
    pod_ip = _pod_record(zone, lookup) if qname.is_subdomain(ZONE) else None
    if pod_ip is not None:
        records[A] = [_rdata(A, pod_ip)]
    if lookup == ZONE and SOA in records:
        records[SOA] = [zone.soa()[0]]
    if not records and not zone.exists(lookup):
        response.set_rcode(dns.rcode.NXDOMAIN)
        response.authority.append(zone.soa())
        return response
    found = records.get(rdtype)
    if found is None and CNAME in records:
        rdtype, found = CNAME, records[CNAME]
    if not found:
        response.authority.append(zone.soa())
        return response
    response.answer.append(dns.rrset.from_rdata_list(qname, TTL, found))
    if rdtype == SRV:
        for rdata in found:
            target = rdata.target.canonicalize()  # type: ignore[attr-defined]
            for ip in zone.records.get(target, {}).get(A, []):
                response.additional.append(dns.rrset.from_rdata_list(target, TTL, [ip]))
    if rdtype == NS:
        glue = dns.name.from_text("ns.dns", ZONE)
        response.additional.append(dns.rrset.from_rdata_list(glue, TTL, zone.records[glue][A]))
    return response
