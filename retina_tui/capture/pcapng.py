"""One pcapng file for a capture of many targets, and a reader for it.

A capture merges the pcap streams of several pods and nodes; pcapng keeps each of them as its
own interface (named `ns/pod:eth0` or `node:iface`) with nanosecond timestamps, so Wireshark
shows where every packet was seen. Section and interface blocks are built with dpkt; the packet
blocks, the hot path, are packed here with one struct call each.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import dpkt.pcapng as ng

__all__ = [
    "Interface",
    "Packet",
    "PacketLike",
    "PcapngError",
    "PcapngFile",
    "PcapngWriter",
    "Sink",
    "parse_pcapng",
    "read_pcapng",
]

_EPB = struct.Struct("<IIIIIII")
_ISB_HEAD = struct.Struct("<IIIII")
_U64_OPTION = struct.Struct("<HHQ")
_TRAILER = struct.Struct("<I")
_BT_ISB = 5
_ISB_IFDROP = 5
_OPT_IF_FILTER = 11
_NANOSECONDS = b"\x09"
_PAD = b"\x00\x00\x00"


class PacketLike(Protocol):
    @property
    def ts_ns(self) -> int: ...
    @property
    def orig_len(self) -> int: ...
    @property
    def data(self) -> bytes: ...


class Sink(Protocol):
    """Where the file goes: a file, or a file and a live viewer."""

    def write(self, data: bytes, /) -> int: ...
    def flush(self) -> None: ...


class PcapngError(ValueError):
    """The file is not pcapng, or it is corrupt."""


def _option(code: int, data: bytes) -> ng.PcapngOptionLE:
    return ng.PcapngOptionLE(code=code, data=data)


def _end_of_options() -> ng.PcapngOptionLE:
    return ng.PcapngOptionLE(code=ng.PCAPNG_OPT_ENDOFOPT)


@dataclass(frozen=True, slots=True)
class Interface:
    name: str
    linktype: int
    snaplen: int = 262144
    description: str = ""
    bpf_filter: str = ""


@dataclass(frozen=True, slots=True)
class Packet:
    interface: int
    ts_ns: int
    orig_len: int
    data: bytes


@dataclass(slots=True)
class PcapngFile:
    comments: list[str] = field(default_factory=list)
    application: str = ""
    interfaces: list[Interface] = field(default_factory=list)
    packets: list[Packet] = field(default_factory=list)
    dropped: dict[int, int] = field(default_factory=dict)


class PcapngWriter:
    """Writes a section header at once, interfaces as they appear and packets as they come."""

    __slots__ = ("_bytes", "_file", "_interfaces", "_packets")

    def __init__(self, file: Sink, *, comments: list[str], application: str) -> None:
        self._file = file
        self._interfaces = 0
        self._packets = 0
        options = [_option(ng.PCAPNG_OPT_COMMENT, text.encode()) for text in comments]
        options.append(_option(ng.PCAPNG_OPT_SHB_USERAPPL, application.encode()))
        options.append(_end_of_options())
        header = bytes(ng.SectionHeaderBlockLE(opts=options))
        file.write(header)
        self._bytes = len(header)

    @property
    def bytes_written(self) -> int:
        return self._bytes

    @property
    def packets_written(self) -> int:
        return self._packets

    def add_interface(self, interface: Interface) -> int:
        """Describe one more interface; its number is what `write_packet` takes."""
        options = [
            _option(ng.PCAPNG_OPT_IF_NAME, interface.name.encode()),
            _option(ng.PCAPNG_OPT_IF_TSRESOL, _NANOSECONDS),
        ]
        if interface.description:
            options.append(_option(ng.PCAPNG_OPT_IF_DESCRIPTION, interface.description.encode()))
        if interface.bpf_filter:
            # The first byte says the filter is a libpcap filter string.
            options.append(_option(_OPT_IF_FILTER, b"\x00" + interface.bpf_filter.encode()))
        options.append(_end_of_options())
        block = ng.InterfaceDescriptionBlockLE(
            linktype=interface.linktype, snaplen=interface.snaplen, opts=options
        )
        data = bytes(block)
        self._file.write(data)
        self._bytes += len(data)
        number = self._interfaces
        self._interfaces += 1
        return number

    def write_packet(self, interface: int, ts_ns: int, orig_len: int, data: bytes) -> int:
        """Append one packet; returns the bytes it took in the file."""
        caplen = len(data)
        pad = -caplen & 3
        total = 32 + caplen + pad
        head = _EPB.pack(6, total, interface, ts_ns >> 32, ts_ns & 0xFFFFFFFF, caplen, orig_len)
        self._file.write(b"".join((head, data, _PAD[:pad], _TRAILER.pack(total))))
        self._bytes += total
        self._packets += 1
        return total

    def write_packets(
        self,
        interface: int,
        packets: Iterable[PacketLike],
        *,
        max_bytes: int = 0,
        max_packets: int = 0,
    ) -> int:
        """Append packets in order, in one write, stopping before a limit (0: none) would
        be passed; returns how many were written."""
        parts: list[bytes] = []
        append = parts.append
        pack = _EPB.pack
        trailer = _TRAILER.pack
        size = self._bytes
        count = 0
        room = max_packets - self._packets if max_packets else -1
        for packet in packets:
            if count == room:
                break
            data = packet.data
            caplen = len(data)
            pad = -caplen & 3
            total = 32 + caplen + pad
            if max_bytes and size + total > max_bytes:
                break
            ts = packet.ts_ns
            append(pack(6, total, interface, ts >> 32, ts & 0xFFFFFFFF, caplen, packet.orig_len))
            append(data)
            if pad:
                append(_PAD[:pad])
            append(trailer(total))
            size += total
            count += 1
        if parts:
            self._file.write(b"".join(parts))
        self._bytes = size
        self._packets += count
        return count

    def write_drops(self, interface: int, ts_ns: int, dropped: int) -> None:
        """Record how many packets the kernel dropped on one interface (a statistics block)."""
        total = 20 + _U64_OPTION.size + 4 + 4
        block = b"".join(
            (
                _ISB_HEAD.pack(_BT_ISB, total, interface, ts_ns >> 32, ts_ns & 0xFFFFFFFF),
                _U64_OPTION.pack(_ISB_IFDROP, 8, dropped),
                b"\x00\x00\x00\x00",
                _TRAILER.pack(total),
            )
        )
        self._file.write(block)
        self._bytes += total

    def flush(self) -> None:
        self._file.flush()


def _options(body: bytes, order: str) -> Iterator[tuple[int, bytes]]:
    pos = 0
    head = struct.Struct(order + "HH")
    while pos + 4 <= len(body):
        code, length = head.unpack_from(body, pos)
        if code == ng.PCAPNG_OPT_ENDOFOPT:
            return
        yield code, body[pos + 4 : pos + 4 + length]
        pos += 4 + length + (-length & 3)


def read_pcapng(path: str) -> PcapngFile:
    """Read a whole pcapng file (one section, the blocks a capture writes)."""
    with open(path, "rb") as f:
        data = f.read()
    return parse_pcapng(data)


def parse_pcapng(data: bytes) -> PcapngFile:
    if len(data) < 28 or data[:4] != b"\x0a\x0d\x0d\x0a":
        raise PcapngError("not a pcapng file: it does not start with a section header block")
    order = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    u32 = struct.Struct(order + "I")
    out = PcapngFile()
    resolutions: list[int] = []
    pos = 0
    while pos + 12 <= len(data):
        block_type, length = struct.unpack_from(order + "II", data, pos)
        if length < 12 or pos + length > len(data):
            raise PcapngError(f"corrupt pcapng file: block at byte {pos} runs past the end")
        body = data[pos + 8 : pos + length - 4]
        if u32.unpack_from(data, pos + length - 4)[0] != length:
            raise PcapngError(f"corrupt pcapng file: block at byte {pos} has a bad trailer")
        if block_type == ng.PCAPNG_BT_SHB:
            for code, value in _options(body[16:], order):
                if code == ng.PCAPNG_OPT_COMMENT:
                    out.comments.append(value.decode())
                elif code == ng.PCAPNG_OPT_SHB_USERAPPL:
                    out.application = value.decode()
        elif block_type == ng.PCAPNG_BT_IDB:
            out.interfaces.append(_interface(body, order, resolutions))
        elif block_type == ng.PCAPNG_BT_EPB:
            iface, high, low, caplen, orig_len = struct.unpack_from(order + "IIIII", body, 0)
            ts = (high << 32) | low
            scale = resolutions[iface] if iface < len(resolutions) else 1000
            out.packets.append(Packet(iface, ts * scale, orig_len, body[20 : 20 + caplen]))
        elif block_type == _BT_ISB:
            iface = u32.unpack_from(body, 0)[0]
            for code, value in _options(body[12:], order):
                if code == _ISB_IFDROP:
                    out.dropped[iface] = struct.unpack(order + "Q", value)[0]
        pos += length
    return out


def _interface(body: bytes, order: str, resolutions: list[int]) -> Interface:
    linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", body, 0)
    name = description = bpf_filter = ""
    scale = 1000
    for code, value in _options(body[8:], order):
        if code == ng.PCAPNG_OPT_IF_NAME:
            name = value.decode()
        elif code == ng.PCAPNG_OPT_IF_DESCRIPTION:
            description = value.decode()
        elif code == _OPT_IF_FILTER and value:
            bpf_filter = value[1:].decode()
        elif code == ng.PCAPNG_OPT_IF_TSRESOL and value:
            exponent = value[0]
            per_second = 2 ** (exponent & 0x7F) if exponent & 0x80 else 10**exponent
            scale = max(1, 1_000_000_000 // per_second)
    resolutions.append(scale)
    return Interface(name, linktype, snaplen, description, bpf_filter)
