"""Incremental parser for the classic libpcap stream `tcpdump -U -w -` writes to stdout.

The stream arrives from a remote exec in chunks of any size, so a chunk may end inside the
global header or inside a record; whatever is incomplete is held back until more arrives.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["MAX_CAPLEN", "PcapHeader", "PcapStream", "PcapStreamError", "Record"]

MAX_CAPLEN = 256 * 1024

_MAGIC_US = 0xA1B2C3D4
_MAGIC_NS = 0xA1B23C4D
_GLOBAL_LE = struct.Struct("<IHHiIII")
_GLOBAL_BE = struct.Struct(">IHHiIII")
_RECORD_LE = struct.Struct("<IIII")
_RECORD_BE = struct.Struct(">IIII")
_MAGIC_LE = struct.Struct("<I")
_HEADER_LEN = _GLOBAL_LE.size
_RECORD_LEN = _RECORD_LE.size
# Once this much consumed data sits at the front of the buffer it is dropped in one go.
_COMPACT_AT = 64 * 1024


@dataclass(frozen=True, slots=True)
class PcapHeader:
    linktype: int
    snaplen: int
    nanoseconds: bool
    big_endian: bool


@dataclass(frozen=True, slots=True)
class Record:
    ts_ns: int
    orig_len: int
    data: bytes


class PcapStreamError(ValueError):
    """The bytes are not a pcap stream, or the stream is corrupt."""


def _describe_garbage(head: bytes) -> str:
    """Say what arrived instead of a pcap header, quoting it when it is readable text."""
    sample = head[:200]
    text = sample.decode("utf-8", errors="replace").strip()
    if text and all(c.isprintable() or c in "\r\n\t" for c in text):
        return f"not a pcap stream: the remote command printed text instead: {text!r}"
    return f"not a pcap stream: unexpected first bytes {sample[:16].hex(' ')}"


class PcapStream:
    """Feed it chunks of a pcap stream; it returns the records completed by each chunk."""

    __slots__ = ("_buf", "_error", "_frac_ns", "_header", "_pos", "_record", "_seen")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._seen = 0
        self._header: PcapHeader | None = None
        self._record = _RECORD_LE
        self._frac_ns = 1000
        self._error: PcapStreamError | None = None

    @property
    def header(self) -> PcapHeader | None:
        return self._header

    @property
    def pending(self) -> int:
        """Bytes received but not yet part of a complete header or record."""
        return len(self._buf) - self._pos

    @property
    def bytes_seen(self) -> int:
        return self._seen

    def feed(self, data: bytes) -> list[Record]:
        if self._error is not None:
            raise self._error
        self._seen += len(data)
        self._buf += data
        try:
            if self._header is None and not self._parse_header():
                return []
            return self._parse_records()
        except PcapStreamError as exc:
            self._error = exc
            raise

    def _parse_header(self) -> bool:
        buf = self._buf
        if len(buf) >= 4:
            self._check_magic(_MAGIC_LE.unpack_from(buf, 0)[0])
        if len(buf) < _HEADER_LEN:
            return False
        magic = _MAGIC_LE.unpack_from(buf, 0)[0]
        big_endian = magic not in (_MAGIC_US, _MAGIC_NS)
        layout = _GLOBAL_BE if big_endian else _GLOBAL_LE
        magic, _major, _minor, _zone, _sigfigs, snaplen, linktype = layout.unpack_from(buf, 0)
        nanoseconds = magic == _MAGIC_NS
        self._record = _RECORD_BE if big_endian else _RECORD_LE
        self._frac_ns = 1 if nanoseconds else 1000
        # The upper bits of the link type field carry FCS information, not the type.
        self._header = PcapHeader(linktype & 0xFFFF, snaplen, nanoseconds, big_endian)
        self._pos = _HEADER_LEN
        return True

    def _check_magic(self, magic_le: int) -> None:
        known = (_MAGIC_US, _MAGIC_NS)
        if magic_le in known or int.from_bytes(self._buf[:4], "big") in known:
            return
        raise PcapStreamError(_describe_garbage(bytes(self._buf)))

    def _parse_records(self) -> list[Record]:
        buf = self._buf
        pos = self._pos
        end = len(buf)
        unpack = self._record.unpack_from
        frac_ns = self._frac_ns
        out: list[Record] = []
        while end - pos >= _RECORD_LEN:
            sec, frac, caplen, orig_len = unpack(buf, pos)
            if caplen > MAX_CAPLEN:
                raise PcapStreamError(
                    f"corrupt pcap stream: record at byte {self._seen - end + pos} claims "
                    f"{caplen} captured bytes (limit {MAX_CAPLEN})"
                )
            start = pos + _RECORD_LEN
            if end - start < caplen:
                break
            out.append(
                Record(
                    sec * 1_000_000_000 + frac * frac_ns,
                    orig_len,
                    bytes(buf[start : start + caplen]),
                )
            )
            pos = start + caplen
        if pos == end:
            buf.clear()
            pos = 0
        elif pos >= _COMPACT_AT:
            del buf[:pos]
            pos = 0
        self._pos = pos
        return out
