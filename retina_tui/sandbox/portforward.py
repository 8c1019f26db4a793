"""`pods/portforward` of the sandbox kubelet: the ways in a cluster offers, and who is connected.

- kubectl 1.30+ tunnels SPDY/3.1 through a WebSocket (subprotocol
  `SPDY/3.1+portforward.k8s.io`): the binary messages carry the SPDY byte stream;
- older clients (and kubectl when WebSockets fail) upgrade the connection to SPDY/3.1
  itself (`Upgrade: SPDY/3.1`, `X-Stream-Protocol-Version: portforward.k8s.io`);
- the WebSocket channel protocol (`v4.channel.k8s.io`, `v4.base64.channel.k8s.io`, the
  official Python client's): `?ports=A&ports=B`, channel 2i carries port i's data and 2i+1
  its errors, each first sending the port as two little-endian bytes; one connection per
  port, opened when the WebSocket opens, the WebSocket closing once all have ended.
SPDY sessions are `spdy_forward`'s, connections into the pod `forwarding`'s.
`ForwardRegistry.drop_all` cuts every session without a close frame, as a network
failure would.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import struct
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Final, cast

from aiohttp import WSMsgType, web

from retina_tui.sandbox import forwarding
from retina_tui.sandbox.errors import ApiError, bad_request
from retina_tui.sandbox.forwarding import ForwardTarget, forward
from retina_tui.sandbox.spdy_forward import INBOX, SpdySession
from retina_tui.sessions import spdy

TUNNEL_PROTOCOL: Final = "SPDY/3.1+portforward.k8s.io"
SPDY_PROTOCOL: Final = "portforward.k8s.io"
V4_BINARY: Final = "v4.channel.k8s.io"
V4_BASE64: Final = "v4.base64.channel.k8s.io"
BASE64_PROTOCOLS: Final = frozenset({V4_BASE64, "base64.channel.k8s.io"})
CHANNEL_PROTOCOLS: Final = (V4_BINARY, V4_BASE64, "channel.k8s.io", "base64.channel.k8s.io")
WS_PROTOCOLS: Final = (TUNNEL_PROTOCOL, *CHANNEL_PROTOCOLS, SPDY_PROTOCOL)
MAX_MESSAGE: Final = 32 << 20
BUFFERED: Final = 1 << 20


# registry ------------------------------------------------------------------------------


@dataclass(eq=False)
class OpenForward:
    """One open port-forward connection (WebSocket or upgraded SPDY)."""

    request: web.Request
    dropped: bool = False

    def drop(self) -> None:
        """Cut the connection without a close frame."""
        self.dropped = True
        transport = self.request.transport
        if transport is not None:
            transport.abort()


@dataclass
class ForwardRegistry:
    """Every open port-forward connection, so that they can be dropped all at once."""

    open: set[OpenForward] = field(default_factory=set)

    def drop_all(self) -> int:
        streams = list(self.open)
        for stream in streams:
            stream.drop()
        return len(streams)


# entry ---------------------------------------------------------------------------------


def _offered_protocols(request: web.Request) -> list[str]:
    values = request.headers.getall("Sec-WebSocket-Protocol", [])
    return [p.strip() for value in values for p in value.split(",") if p.strip()]


def parse_ports(request: web.Request) -> list[int]:
    """The `ports` query of a WebSocket request, checked with the kubelet's messages."""
    values = request.query.getall("ports", [])
    if not values:
        raise bad_request('query parameter "ports" is required')
    ports = []
    for value in values:
        if not value:
            raise bad_request('query parameter "ports" cannot be empty')
        for part in value.split(","):
            try:
                ports.append(forwarding.port_number(part, value))
            except ValueError as error:
                raise bad_request(str(error)) from None
    return ports


async def serve(
    request: web.Request, target: ForwardTarget, registry: ForwardRegistry, *, tunnel: bool = True
) -> web.StreamResponse:
    """Serve one `pods/portforward` request to its end; without `tunnel`, as a cluster
    before Kubernetes 1.30 does (no SPDY through WebSockets)."""
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await _serve_websocket(request, target, registry, tunnel_served=tunnel)
    return await _serve_spdy_upgrade(request, target, registry)


async def _serve_websocket(
    request: web.Request,
    target: ForwardTarget,
    registry: ForwardRegistry,
    *,
    tunnel_served: bool,
) -> web.StreamResponse:
    offered = _offered_protocols(request)
    served = (
        WS_PROTOCOLS if tunnel_served else tuple(p for p in WS_PROTOCOLS if p != TUNNEL_PROTOCOL)
    )
    chosen = next((p for p in offered if p in served), None)
    if offered and chosen is None:
        supported = " ".join(("", *CHANNEL_PROTOCOLS))
        raise ApiError(
            403,
            "Forbidden",
            f"requested protocol(s) are not supported: [{' '.join(offered)}]; "
            f"supports [{supported}]",
        )
    tunnel = chosen == TUNNEL_PROTOCOL
    ports = [] if tunnel else parse_ports(request)
    ws = web.WebSocketResponse(
        protocols=(chosen,) if chosen else (), max_msg_size=MAX_MESSAGE, autoping=True
    )
    if not ws.can_prepare(request).ok:
        raise bad_request("Upgrade request required")
    await ws.prepare(request)
    entry = OpenForward(request)
    registry.open.add(entry)
    try:
        if tunnel:
            session = SpdySession(target, ws.send_bytes, f"sandbox-portforward-{id(entry):x}")
            await session.run(_ws_bytes(ws))
        else:
            await _serve_channels(ws, target, ports, base64_=chosen in BASE64_PROTOCOLS)
        return ws
    finally:
        registry.open.discard(entry)
        if not entry.dropped:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.close()


async def _ws_bytes(ws: web.WebSocketResponse) -> AsyncIterator[bytes]:
    async for message in ws:
        if message.type == WSMsgType.BINARY:
            yield message.data
        elif message.type == WSMsgType.TEXT:
            raise spdy.ProtocolError("a text message in a SPDY tunnel")
        else:
            return


class _Upgraded:
    """The bytes of a connection aiohttp hands over after a 101 response, with backpressure:
    reading from the socket pauses while more than BUFFERED bytes wait to be handled."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._eof = False
        self._paused = False
        self._ready = asyncio.Event()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self._chunks.append(data)
        self._size += len(data)
        self._ready.set()
        if self._size > BUFFERED and not self._paused:
            self._paused = True
            self._transport.pause_reading()
        return False, b""

    def feed_eof(self) -> None:
        self._eof = True
        self._ready.set()

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            while not self._chunks:
                if self._eof:
                    return
                self._ready.clear()
                await self._ready.wait()
            data = self._chunks.popleft()
            self._size -= len(data)
            if self._paused and self._size <= BUFFERED // 2:
                self._paused = False
                if not self._transport.is_closing():
                    self._transport.resume_reading()
            yield data


async def _serve_spdy_upgrade(
    request: web.Request, target: ForwardTarget, registry: ForwardRegistry
) -> web.StreamResponse:
    versions = [
        p.strip()
        for value in request.headers.getall("X-Stream-Protocol-Version", [])
        for p in value.split(",")
        if p.strip()
    ]
    if not versions:
        raise bad_request("unable to upgrade: X-Stream-Protocol-Version is required")
    if SPDY_PROTOCOL not in versions:
        raise ApiError(
            403,
            "Forbidden",
            f"unable to upgrade: unable to negotiate protocol: client supports "
            f"[{' '.join(versions)}], server accepts [{SPDY_PROTOCOL}]",
        )
    connection = request.headers.get("Connection", "").lower()
    if "upgrade" not in connection or request.headers.get("Upgrade", "").lower() != "spdy/3.1":
        raise bad_request("unable to upgrade: missing upgrade headers in request")
    transport = request.transport
    if not isinstance(transport, asyncio.Transport):
        raise ConnectionResetError("the client went away")
    upgraded = _Upgraded(transport)
    protocol = cast(Any, request.protocol)
    protocol.set_parser(upgraded)
    protocol.keep_alive(False)
    response = web.StreamResponse(
        status=101,
        headers={
            "Connection": "Upgrade",
            "Upgrade": "SPDY/3.1",
            "X-Stream-Protocol-Version": SPDY_PROTOCOL,
        },
    )
    response.force_close()
    await response.prepare(request)
    entry = OpenForward(request)
    registry.open.add(entry)
    try:
        session = SpdySession(target, response.write, f"sandbox-portforward-{id(entry):x}")
        await session.run(upgraded.chunks())
        return response
    finally:
        registry.open.discard(entry)


# the WebSocket channel protocol ------------------------------------------------------


@dataclass(eq=False)
class _Channel:
    """Port i of a channel-protocol WebSocket: data on channel 2i, errors on 2i+1."""

    ws: web.WebSocketResponse
    index: int
    port: int
    base64: bool
    inbox: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(INBOX))
    done: bool = False
    ended: bool = False

    async def send(self, channel: int, data: bytes) -> None:
        try:
            if self.base64:
                await self.ws.send_str(chr(48 + channel) + base64.b64encode(data).decode())
            else:
                await self.ws.send_bytes(bytes([channel]) + data)
        except RuntimeError as error:  # aiohttp: the socket is closing
            raise ConnectionResetError(str(error)) from None

    async def read(self) -> bytes | None:
        if self.ended and self.inbox.empty():
            return None
        return await self.inbox.get()

    async def write(self, data: bytes) -> None:
        await self.send(2 * self.index, data)

    def end_input(self) -> None:
        self.ended = True
        with contextlib.suppress(asyncio.QueueFull):  # a full inbox: read() sees `ended`
            self.inbox.put_nowait(None)

    async def close_write(self) -> None:
        """The channel protocol has no half-close (v5's close channel is for exec)."""


async def _read_channels(ws: web.WebSocketResponse, channels: list[_Channel]) -> None:
    try:
        async for message in ws:
            if message.type == WSMsgType.BINARY:
                raw: bytes = message.data
            elif message.type == WSMsgType.TEXT and message.data:
                text: str = message.data
                try:
                    raw = bytes([ord(text[0]) - 48]) + base64.b64decode(text[1:], validate=True)
                except (ValueError, UnicodeEncodeError):
                    continue
            else:
                continue
            if len(raw) < 2 or raw[0] % 2 or raw[0] // 2 >= len(channels):
                continue  # empty, for a write-only (error) channel or for no port
            channel = channels[raw[0] // 2]
            if not channel.done:
                await channel.inbox.put(raw[1:])
    finally:
        for channel in channels:
            channel.end_input()


async def _forward_channel(channel: _Channel, target: ForwardTarget, name: str) -> None:
    try:
        message = await forward(target, channel.port, channel, name)
        if message:
            await channel.send(2 * channel.index + 1, message.encode())
    except ConnectionError:
        pass
    finally:
        channel.done = True
        while not channel.inbox.empty():
            channel.inbox.get_nowait()


async def _serve_channels(
    ws: web.WebSocketResponse, target: ForwardTarget, ports: list[int], *, base64_: bool
) -> None:
    channels = [_Channel(ws, i, port, base64_) for i, port in enumerate(ports)]
    with contextlib.suppress(ConnectionError):
        for channel in channels:
            prefix = struct.pack("<H", channel.port)
            await channel.send(2 * channel.index, prefix)
            await channel.send(2 * channel.index + 1, prefix)
    name = f"sandbox-portforward-{id(ws):x}"
    reading = asyncio.create_task(_read_channels(ws, channels), name=f"{name}-read")
    tasks = [
        asyncio.create_task(_forward_channel(c, target, f"{name}-{c.port}"), name=f"{name}-{i}")
        for i, c in enumerate(channels)
    ]
    try:
        await asyncio.wait(tasks)
    finally:
        for task in [*tasks, reading]:
            task.cancel()
        await asyncio.gather(*tasks, reading, return_exceptions=True)
