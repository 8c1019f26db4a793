"""The wire formats of a capture: the pcap stream in, the pcapng file out, merging and summaries."""

from __future__ import annotations

import io
import struct
import subprocess

import dpkt
import dpkt.pcapng
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retina_tui.capture.merge import Merger
from retina_tui.capture.pcap import PcapStream, PcapStreamError
from retina_tui.capture.pcapng import Interface, PcapngError, PcapngWriter, parse_pcapng
from retina_tui.capture.summary import LINKTYPE_ETHERNET, LINKTYPE_SLL2, summarize


def pcap_bytes(records: list[tuple[int, bytes]], *, nanos: bool, big: bool = False) -> bytes:
    order = ">" if big else "<"
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 262144, 1)]
    for ts_ns, data in records:
        frac = ts_ns % 1_000_000_000 if nanos else (ts_ns % 1_000_000_000) // 1000
        out.append(struct.pack(order + "IIII", ts_ns // 1_000_000_000, frac, len(data), len(data)))
        out.append(data)
    return b"".join(out)


def icmp_echo(src: str, dst: str, kind: int, seq: int) -> bytes:
    echo = dpkt.icmp.ICMP.Echo(id=7, seq=seq, data=b"x" * 16)
    icmp = dpkt.icmp.ICMP(type=kind, code=0, data=echo)
    ip = dpkt.ip.IP(src=_ip(src), dst=_ip(dst), p=dpkt.ip.IP_PROTO_ICMP, data=icmp)
    return bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, data=ip))


def _ip(text: str) -> bytes:
    return bytes(int(part) for part in text.split("."))


def tcp_packet(payload: bytes, flags: int, sport: int = 40000, dport: int = 80) -> bytes:
    tcp = dpkt.tcp.TCP(sport=sport, dport=dport, seq=100, flags=flags, data=payload)
    ip = dpkt.ip.IP(src=_ip("10.244.0.5"), dst=_ip("10.244.1.6"), p=dpkt.ip.IP_PROTO_TCP, data=tcp)
    return bytes(dpkt.ethernet.Ethernet(data=ip))


def udp_dns(message: dpkt.dns.DNS, sport: int, dport: int) -> bytes:
    udp = dpkt.udp.UDP(sport=sport, dport=dport, data=bytes(message))
    ip = dpkt.ip.IP(src=_ip("10.244.0.5"), dst=_ip("10.96.0.10"), p=dpkt.ip.IP_PROTO_UDP, data=udp)
    return bytes(dpkt.ethernet.Ethernet(data=ip))


# -- the pcap stream -------------------------------------------------------------------------


@pytest.mark.parametrize(("nanos", "big"), [(True, False), (False, False), (False, True)])
def test_stream_gives_every_record_whatever_the_chunking(nanos: bool, big: bool) -> None:
    records = [(1_700_000_000_000_001_000 + i * 1000, bytes([i]) * (i + 1)) for i in range(20)]
    stream = pcap_bytes(records, nanos=nanos, big=big)
    for size in (1, 3, 17, 64, len(stream)):
        parser = PcapStream()
        got = []
        for start in range(0, len(stream), size):
            got.extend(parser.feed(stream[start : start + size]))
        assert [(r.ts_ns, r.data) for r in got] == records
        assert parser.pending == 0
        assert parser.header is not None and parser.header.linktype == 1


def test_text_instead_of_pcap_is_quoted_in_the_error() -> None:
    parser = PcapStream()
    with pytest.raises(PcapStreamError, match="tcpdump: eth9: No such device exists"):
        parser.feed(b"tcpdump: eth9: No such device exists\n")


def test_a_corrupt_record_length_is_an_error_not_a_huge_allocation() -> None:
    header = pcap_bytes([], nanos=True)
    bad = struct.pack("<IIII", 1, 0, 50_000_000, 60)
    with pytest.raises(PcapStreamError, match="claims 50000000 captured bytes"):
        PcapStream().feed(header + bad)


# -- pcapng ----------------------------------------------------------------------------------


def test_pcapng_keeps_interfaces_comments_nanoseconds_and_drops() -> None:
    out = io.BytesIO()
    writer = PcapngWriter(out, comments=["cluster: kind", "filter: icmp"], application="rt 1")
    web = writer.add_interface(
        Interface("shop/web:eth0", LINKTYPE_ETHERNET, description="pod", bpf_filter="icmp")
    )
    node = writer.add_interface(Interface("node-1:any", LINKTYPE_SLL2))
    first = icmp_echo("10.244.0.5", "10.244.1.6", 8, 1)
    writer.write_packet(web, 1_700_000_000_123_456_789, len(first), first)
    writer.write_packet(node, 1_700_000_000_123_456_790, 1500, b"abc")
    writer.write_drops(web, 1_700_000_001_000_000_000, 4)

    parsed = parse_pcapng(out.getvalue())
    assert parsed.comments == ["cluster: kind", "filter: icmp"]
    assert parsed.application == "rt 1"
    assert [(i.name, i.linktype) for i in parsed.interfaces] == [
        ("shop/web:eth0", 1),
        ("node-1:any", 276),
    ]
    assert parsed.interfaces[0].bpf_filter == "icmp"
    assert [(p.interface, p.ts_ns, p.orig_len, p.data) for p in parsed.packets] == [
        (0, 1_700_000_000_123_456_789, len(first), first),
        (1, 1_700_000_000_123_456_790, 1500, b"abc"),
    ]
    assert parsed.dropped == {0: 4}
    assert writer.bytes_written == len(out.getvalue())


def test_pcapng_is_read_by_dpkt_and_by_tcpdump(tmp_path) -> None:
    path = tmp_path / "one.pcapng"
    with path.open("wb") as f:
        writer = PcapngWriter(f, comments=["c"], application="rt")
        iface = writer.add_interface(Interface("shop/web:eth0", LINKTYPE_ETHERNET))
        for seq in range(3):
            packet = icmp_echo("10.244.0.5", "10.244.1.6", 8, seq)
            writer.write_packet(iface, 1_700_000_000_000_000_000 + seq * 1_000_000, 74, packet)
    with path.open("rb") as f:
        assert len(list(dpkt.pcapng.Reader(f))) == 3
    shown = subprocess.run(
        ["tcpdump", "-nn", "-r", str(path)], capture_output=True, text=True, check=True
    )
    assert shown.stdout.count("ICMP echo request") == 3


def test_not_pcapng_is_a_clear_error() -> None:
    with pytest.raises(PcapngError, match="not a pcapng file"):
        parse_pcapng(b"\xd4\xc3\xb2\xa1" + b"\x00" * 40)


# -- merging ---------------------------------------------------------------------------------


@settings(max_examples=200)
@given(
    st.lists(
        st.lists(st.integers(min_value=0, max_value=10_000), max_size=30).map(sorted),
        min_size=1,
        max_size=5,
    ),
    st.randoms(use_true_random=False),
)
def test_merged_output_is_in_timestamp_order_and_loses_nothing(streams, rnd) -> None:
    merger = Merger(hold_ns=1 << 62)
    for source in range(len(streams)):
        merger.add_source(source)
    cursors = [0] * len(streams)
    written: list[int] = []
    while any(c < len(s) for c, s in zip(cursors, streams, strict=True)):
        source = rnd.choice([i for i, s in enumerate(streams) if cursors[i] < len(s)])
        merger.push(source, streams[source][cursors[source]], 1, b"", now_ns=0)
        cursors[source] += 1
        if cursors[source] == len(streams[source]):
            merger.end_source(source)
        written.extend(q.ts_ns for q in merger.ready(now_ns=0))
    written.extend(q.ts_ns for q in merger.drain())
    assert written == sorted(ts for s in streams for ts in s)


def test_a_quiet_source_holds_packets_only_for_the_hold_time() -> None:
    merger = Merger(hold_ns=500)
    merger.add_source(0)
    merger.add_source(1)
    merger.push(0, 10, 1, b"a", now_ns=1000)
    assert merger.ready(now_ns=1400) == []
    assert [q.data for q in merger.ready(now_ns=1500)] == [b"a"]


# -- summaries -------------------------------------------------------------------------------


def test_icmp_echo_summary() -> None:
    summary = summarize(LINKTYPE_ETHERNET, icmp_echo("10.244.0.5", "10.244.1.6", 8, 3))
    assert (summary.protocol, summary.source, summary.destination) == (
        "ICMP",
        "10.244.0.5",
        "10.244.1.6",
    )
    assert summary.info == "echo request id=7 seq=3"
    reply = summarize(LINKTYPE_ETHERNET, icmp_echo("10.244.1.6", "10.244.0.5", 0, 3))
    assert reply.info.startswith("echo reply")


def test_tcp_flags_and_http_request_line() -> None:
    syn = summarize(LINKTYPE_ETHERNET, tcp_packet(b"", dpkt.tcp.TH_SYN))
    assert syn.protocol == "TCP" and syn.info.startswith("[SYN]")
    assert syn.source == "10.244.0.5:40000" and syn.destination == "10.244.1.6:80"
    get = summarize(
        LINKTYPE_ETHERNET,
        tcp_packet(b"GET /healthz HTTP/1.1\r\nHost: web\r\n\r\n", dpkt.tcp.TH_ACK),
    )
    assert (get.protocol, get.info) == ("HTTP", "GET /healthz HTTP/1.1")


def test_dns_query_and_nxdomain_reply() -> None:
    query = dpkt.dns.DNS(id=1, qd=[dpkt.dns.DNS.Q(name="web.shop.svc.cluster.local", type=1)])
    summary = summarize(LINKTYPE_ETHERNET, udp_dns(query, 5000, 53))
    assert (summary.protocol, summary.info) == ("DNS", "query A web.shop.svc.cluster.local")
    reply = dpkt.dns.DNS(id=1, qr=dpkt.dns.DNS_R, rcode=3, qd=query.qd)
    summary = summarize(LINKTYPE_ETHERNET, udp_dns(reply, 53, 5000))
    assert "NXDOMAIN" in summary.info


def test_tls_client_hello_shows_the_server_name() -> None:
    name = b"api.shop.svc"
    sni = struct.pack(">HBH", len(name) + 3, 0, len(name)) + name
    extensions = struct.pack(">HH", 0, len(sni)) + sni
    body = (
        b"\x03\x03"
        + b"\x00" * 32
        + b"\x00"
        + b"\x00\x02\x13\x01"
        + b"\x01\x00"
        + struct.pack(">H", len(extensions))
        + extensions
    )
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    record = b"\x16\x03\x01" + struct.pack(">H", len(handshake)) + handshake
    summary = summarize(LINKTYPE_ETHERNET, tcp_packet(record, dpkt.tcp.TH_ACK, dport=443))
    assert (summary.protocol, summary.info) == ("TLS", "client hello, server name api.shop.svc")


def test_linux_cooked_v2_from_any_interface() -> None:
    ip = bytes(dpkt.ethernet.Ethernet(icmp_echo("10.0.0.1", "10.0.0.2", 8, 1)).data)
    sll2 = struct.pack(">HHiHBB8s", 0x0800, 0, 2, 1, 0, 6, b"\x02" * 6) + ip
    summary = summarize(LINKTYPE_SLL2, sll2)
    assert summary.protocol == "ICMP" and summary.source_ip == "10.0.0.1"


def test_garbage_is_summarized_not_raised() -> None:
    summary = summarize(LINKTYPE_ETHERNET, b"\x01\x02")
    assert summary.protocol == "?"
