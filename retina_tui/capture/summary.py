"""One-line summaries of captured packets, the way a packet list shows them.

Decoding is dpkt's; this module only picks the fields an SRE reads first: who talks to whom,
the protocol, and the detail that tells packets apart (ICMP type, TCP flags, DNS question and
answer, HTTP request line, TLS server name).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

import dpkt
import dpkt.dns
import dpkt.http
import dpkt.icmp
import dpkt.icmp6
import dpkt.sll
import dpkt.sll2
import dpkt.ssl

__all__ = ["LINKTYPE_ETHERNET", "LINKTYPE_SLL", "LINKTYPE_SLL2", "Summary", "summarize"]

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_SLL = 113
LINKTYPE_SLL2 = 276

_ICMP_TYPES = {
    0: "echo reply",
    3: "destination unreachable",
    5: "redirect",
    8: "echo request",
    11: "time exceeded",
}
_ICMP6_TYPES = {
    1: "destination unreachable",
    3: "time exceeded",
    128: "echo request",
    129: "echo reply",
    135: "neighbor solicitation",
    136: "neighbor advertisement",
}
_TCP_FLAGS = (
    (dpkt.tcp.TH_SYN, "SYN"),
    (dpkt.tcp.TH_FIN, "FIN"),
    (dpkt.tcp.TH_RST, "RST"),
    (dpkt.tcp.TH_PUSH, "PSH"),
    (dpkt.tcp.TH_ACK, "ACK"),
)
_DNS_TYPES = {1: "A", 5: "CNAME", 12: "PTR", 16: "TXT", 28: "AAAA", 33: "SRV"}
_DNS_RCODES = {0: "ok", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}
_HTTP_METHODS = (b"GET ", b"POST ", b"PUT ", b"DELETE ", b"HEAD ", b"PATCH ", b"OPTIONS ")


@dataclass(frozen=True, slots=True)
class Summary:
    protocol: str
    source: str
    destination: str
    info: str
    source_ip: str = ""
    destination_ip: str = ""


def _ip_text(raw: bytes) -> str:
    family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, raw)


def _network_layer(linktype: int, data: bytes) -> object:
    if linktype == LINKTYPE_ETHERNET:
        return dpkt.ethernet.Ethernet(data).data
    if linktype == LINKTYPE_SLL:
        return dpkt.sll.SLL(data).data
    if linktype == LINKTYPE_SLL2:
        return dpkt.sll2.SLL2(data).data
    if linktype in (LINKTYPE_RAW, 12):
        return dpkt.ip6.IP6(data) if data[:1] and data[0] >> 4 == 6 else dpkt.ip.IP(data)
    return None


def summarize(linktype: int, data: bytes) -> Summary:
    """Summarize one packet; never raises, a packet it cannot read says so."""
    try:
        layer = _network_layer(linktype, data)
    except (dpkt.UnpackError, IndexError, ValueError):
        return Summary("?", "", "", f"{len(data)} bytes it cannot decode")
    if isinstance(layer, dpkt.arp.ARP):
        return _arp(layer)
    if isinstance(layer, (dpkt.ip.IP, dpkt.ip6.IP6)):
        return _ip(layer)
    if layer is None:
        return Summary("?", "", "", f"link type {linktype}, {len(data)} bytes")
    return Summary(type(layer).__name__, "", "", f"{len(data)} bytes")


def _arp(arp: dpkt.arp.ARP) -> Summary:
    sender, target = _ip_text(arp.spa), _ip_text(arp.tpa)
    if arp.op == dpkt.arp.ARP_OP_REQUEST:
        info = f"who has {target}? tell {sender}"
    else:
        info = f"{sender} is at {arp.sha.hex(':')}"
    return Summary("ARP", sender, target, info, sender, target)


def _ip(ip: dpkt.ip.IP | dpkt.ip6.IP6) -> Summary:
    src, dst = _ip_text(ip.src), _ip_text(ip.dst)
    inner = ip.data
    if isinstance(inner, dpkt.icmp.ICMP):
        kind = _ICMP_TYPES.get(inner.type, f"type {inner.type}")
        return Summary("ICMP", src, dst, _with_echo(kind, inner), src, dst)
    if isinstance(inner, dpkt.icmp6.ICMP6):
        kind = _ICMP6_TYPES.get(inner.type, f"type {inner.type}")
        return Summary("ICMPv6", src, dst, kind, src, dst)
    if isinstance(inner, dpkt.tcp.TCP):
        return _tcp(inner, src, dst)
    if isinstance(inner, dpkt.udp.UDP):
        return _udp(inner, src, dst)
    return Summary(f"IP proto {ip.p}" if hasattr(ip, "p") else "IPv6", src, dst, "", src, dst)


def _with_echo(kind: str, icmp: dpkt.icmp.ICMP) -> str:
    echo = icmp.data
    if isinstance(echo, dpkt.icmp.ICMP.Echo):
        return f"{kind} id={echo.id} seq={echo.seq}"
    return kind


def _endpoint(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _tcp(tcp: dpkt.tcp.TCP, src: str, dst: str) -> Summary:
    flags = ",".join(name for bit, name in _TCP_FLAGS if tcp.flags & bit) or "none"
    payload = bytes(tcp.data)
    info = f"[{flags}] seq={tcp.seq} len={len(payload)}"
    protocol = "TCP"
    if payload.startswith(_HTTP_METHODS) or payload.startswith(b"HTTP/1."):
        protocol, info = "HTTP", payload.split(b"\r\n", 1)[0].decode("latin-1")
    elif payload[:1] == b"\x16" and len(payload) > 5:
        name = _tls_server_name(payload)
        if name is not None:
            protocol, info = "TLS", f"client hello, server name {name}" if name else "client hello"
    elif 53 in (tcp.sport, tcp.dport) and len(payload) > 2:
        protocol, info = "DNS", _dns(payload[2:])
    return Summary(protocol, _endpoint(src, tcp.sport), _endpoint(dst, tcp.dport), info, src, dst)


def _udp(udp: dpkt.udp.UDP, src: str, dst: str) -> Summary:
    payload = bytes(udp.data)
    protocol, info = "UDP", f"len={len(payload)}"
    if 53 in (udp.sport, udp.dport) or 5353 in (udp.sport, udp.dport):
        protocol, info = "DNS", _dns(payload)
    return Summary(protocol, _endpoint(src, udp.sport), _endpoint(dst, udp.dport), info, src, dst)


def _dns(payload: bytes) -> str:
    try:
        message = dpkt.dns.DNS(payload)
    except (dpkt.UnpackError, IndexError, ValueError):
        return f"malformed DNS, {len(payload)} bytes"
    question = message.qd[0].name if message.qd else "?"
    qtype = message.qd[0].type if message.qd else 0
    kind = _DNS_TYPES.get(qtype, str(qtype))
    if message.qr == dpkt.dns.DNS_Q:
        return f"query {kind} {question}"
    rcode = _DNS_RCODES.get(message.rcode, str(message.rcode))
    answers = [_answer_text(rr) for rr in message.an]
    shown = ", ".join(a for a in answers if a) or "no answers"
    return f"reply {kind} {question} {rcode}: {shown}"


def _answer_text(rr: dpkt.dns.DNS.RR) -> str:
    if rr.type == dpkt.dns.DNS_A:
        return _ip_text(rr.rdata)
    if rr.type == dpkt.dns.DNS_AAAA:
        return _ip_text(rr.rdata)
    if rr.type == dpkt.dns.DNS_CNAME:
        return str(getattr(rr, "cname", ""))
    return ""


def _tls_server_name(payload: bytes) -> str | None:
    """The SNI of a TLS client hello, "" when it has none, None when it is not a client hello."""
    try:
        record = dpkt.ssl.TLSRecord(payload)
        if record.type != 22:
            return None
        handshake = dpkt.ssl.TLSHandshake(record.data)
    except (dpkt.UnpackError, dpkt.NeedData, IndexError, ValueError, struct.error):
        return None
    hello = handshake.data
    if not isinstance(hello, dpkt.ssl.TLSClientHello):
        return None
    for ext_type, ext_data in getattr(hello, "extensions", []):
        if ext_type == 0 and len(ext_data) > 5:
            length = int.from_bytes(ext_data[3:5], "big")
            return bytes(ext_data[5 : 5 + length]).decode("ascii", errors="replace")
    return ""
