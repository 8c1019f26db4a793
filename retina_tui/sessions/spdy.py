"""SPDY/3.1 framing as spoken by spdystream, the library under kubectl's port-forward streams.

kubectl either upgrades a connection to SPDY/3.1 or tunnels the same byte stream through
a WebSocket; either way each side reads frames from a byte stream. Our port forwards
speak it as a client, and the sandbox's kubelet as the server. `FrameReader`
turns arbitrary chunks of bytes into frames (a frame may arrive split over many chunks),
`FrameWriter` encodes them. Header blocks are zlib-compressed against the SPDY/3
dictionary with one compression context per direction for the whole connection, so
every header block must be decoded (or encoded) in the order it travels.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Final

VERSION: Final = 3
FLAG_FIN: Final = 0x01
FLAG_UNIDIRECTIONAL: Final = 0x02

SYN_STREAM: Final = 1
SYN_REPLY: Final = 2
RST_STREAM: Final = 3
SETTINGS: Final = 4
PING: Final = 6
GOAWAY: Final = 7
HEADERS: Final = 8
WINDOW_UPDATE: Final = 9

RST_PROTOCOL_ERROR: Final = 1
RST_INVALID_STREAM: Final = 2
RST_REFUSED_STREAM: Final = 3
RST_CANCEL: Final = 5
GOAWAY_OK: Final = 0
GOAWAY_PROTOCOL_ERROR: Final = 1

MAX_LENGTH: Final = (1 << 24) - 1
MAX_HEADER_BLOCK: Final = 1 << 20

_WORDS: Final = (
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
)
_TAIL: Final = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
    "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, "
    "Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY: Final = (
    b"".join(struct.pack(">I", len(word)) + word.encode() for word in _WORDS) + _TAIL.encode()
)
"""The SPDY/3 header dictionary (1423 bytes, Adler-32 0xe3c6a7c2)."""

Headers = dict[str, list[str]]


class ProtocolError(Exception):
    """The peer sent something that is not SPDY/3.1; the connection cannot go on."""


@dataclass(frozen=True, slots=True)
class DataFrame:
    stream_id: int
    flags: int
    data: bytes

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


@dataclass(frozen=True, slots=True)
class ControlFrame:
    """A control frame; `stream_id` is 0 where the type has none, `value` its 32-bit field
    (RST_STREAM and GOAWAY status, PING id, WINDOW_UPDATE delta)."""

    kind: int
    flags: int
    stream_id: int = 0
    value: int = 0
    headers: Headers = field(default_factory=dict)
    associated: int = 0
    priority: int = 0

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


Frame = DataFrame | ControlFrame


def encode_header_block(headers: Headers) -> bytes:
    """The uncompressed name/value block (names lower case, values NUL-joined)."""
    parts = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        key, value = name.lower().encode(), "\x00".join(values).encode()
        parts += [struct.pack(">I", len(key)), key, struct.pack(">I", len(value)), value]
    return b"".join(parts)


def decode_header_block(block: bytes) -> Headers:
    headers: Headers = {}
    try:
        (count,) = struct.unpack_from(">I", block, 0)
        offset = 4
        for _ in range(count):
            (size,) = struct.unpack_from(">I", block, offset)
            name = block[offset + 4 : offset + 4 + size]
            offset += 4 + size
            (size,) = struct.unpack_from(">I", block, offset)
            value = block[offset + 4 : offset + 4 + size]
            offset += 4 + size
            if offset > len(block):
                raise ProtocolError("header block is truncated")
            key = name.decode().lower()
            if key in headers:
                raise ProtocolError("multiple headers with same name")
            headers[key] = value.decode().split("\x00")
    except (struct.error, UnicodeDecodeError) as error:
        raise ProtocolError(f"bad header block: {error}") from None
    if offset != len(block):
        raise ProtocolError("header block has trailing bytes")
    return headers


class FrameReader:
    """Frames out of a byte stream, decompressing header blocks in arrival order."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)

    def feed(self, data: bytes) -> list[Frame]:
        """Every frame completed by `data`; raises ProtocolError on garbage."""
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= 8:
            first, second = struct.unpack_from(">II", self._buffer, 0)
            length = second & 0xFFFFFF
            if len(self._buffer) < 8 + length:
                break
            payload = bytes(self._buffer[8 : 8 + length])
            del self._buffer[: 8 + length]
            flags = second >> 24
            if first & 0x80000000:
                frames.append(self._control(first, flags, payload))
            else:
                frames.append(DataFrame(first & 0x7FFFFFFF, flags, payload))
        return frames

    def _headers(self, block: bytes) -> Headers:
        try:
            raw = self._inflate.decompress(block, MAX_HEADER_BLOCK)
        except zlib.error as error:
            raise ProtocolError(f"cannot decompress a header block: {error}") from None
        if self._inflate.unconsumed_tail:
            raise ProtocolError("header block is too large")
        return decode_header_block(raw)

    def _control(self, first: int, flags: int, payload: bytes) -> ControlFrame:
        version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
        if version != VERSION:
            raise ProtocolError(f"unsupported SPDY version {version}")
        try:
            if kind == SYN_STREAM:
                stream, associated, priority = struct.unpack_from(">IIB", payload, 0)
                headers = self._headers(payload[10:])
                return ControlFrame(
                    kind, flags, stream & 0x7FFFFFFF, headers=headers,
                    associated=associated & 0x7FFFFFFF, priority=priority >> 5,
                )  # fmt: skip
            if kind in (SYN_REPLY, HEADERS):
                (stream,) = struct.unpack_from(">I", payload, 0)
                return ControlFrame(
                    kind, flags, stream & 0x7FFFFFFF, headers=self._headers(payload[4:])
                )
            if kind in (RST_STREAM, WINDOW_UPDATE):
                stream, value = struct.unpack(">II", payload)
                return ControlFrame(kind, flags, stream & 0x7FFFFFFF, value)
            if kind == PING:
                (ping,) = struct.unpack(">I", payload)
                return ControlFrame(kind, flags, value=ping)
            if kind == GOAWAY:
                last, status = struct.unpack(">II", payload)
                return ControlFrame(kind, flags, last & 0x7FFFFFFF, status)
            if kind == SETTINGS:
                (count,) = struct.unpack_from(">I", payload, 0)
                if len(payload) != 4 + 8 * count:
                    raise ProtocolError("bad SETTINGS frame")
                return ControlFrame(kind, flags, value=count)
        except struct.error:
            raise ProtocolError(f"control frame {kind} has a bad length") from None
        raise ProtocolError(f"unknown control frame type {kind}")


class FrameWriter:
    """Encodes frames; header blocks share one compression context, so encode in send order."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zdict=DICTIONARY)

    def _block(self, headers: Headers) -> bytes:
        raw = encode_header_block(headers)
        return self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    @staticmethod
    def _control(kind: int, flags: int, payload: bytes) -> bytes:
        first = 0x80000000 | (VERSION << 16) | kind
        return struct.pack(">II", first, (flags << 24) | len(payload)) + payload

    def syn_stream(self, stream_id: int, headers: Headers, *, fin: bool = False) -> bytes:
        payload = struct.pack(">IIBB", stream_id, 0, 0, 0) + self._block(headers)
        return self._control(SYN_STREAM, FLAG_FIN if fin else 0, payload)

    def syn_reply(self, stream_id: int, headers: Headers | None = None) -> bytes:
        payload = struct.pack(">I", stream_id) + self._block(headers or {})
        return self._control(SYN_REPLY, 0, payload)

    def rst_stream(self, stream_id: int, status: int) -> bytes:
        return self._control(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    def ping(self, ping_id: int) -> bytes:
        return self._control(PING, 0, struct.pack(">I", ping_id))

    def goaway(self, last_stream: int, status: int) -> bytes:
        return self._control(GOAWAY, 0, struct.pack(">II", last_stream, status))

    @staticmethod
    def data(stream_id: int, data: bytes, *, fin: bool = False) -> bytes:
        if len(data) > MAX_LENGTH:
            raise ValueError("a data frame holds at most 16 MiB - 1")
        flags = FLAG_FIN if fin else 0
        return struct.pack(">II", stream_id & 0x7FFFFFFF, (flags << 24) | len(data)) + data
