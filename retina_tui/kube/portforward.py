"""One forwarded TCP connection to a pod's port, over the kubelet's port-forward WebSocket.

The channel protocol (`v4.channel.k8s.io`, the one the official clients speak): each
WebSocket carries one connection per requested port, opened into the pod's network
namespace when the socket opens. Channel 0 carries the data and channel 1 the errors of
our single port; the server starts each channel with the port number (two bytes,
little-endian), then sends data, or an error text before it closes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import aiohttp

from retina_tui.errors import RetinaTuiError

if TYPE_CHECKING:
    from retina_tui.kube.client import KubeClient

PROTOCOLS: Final = ("v4.channel.k8s.io", "portforward.k8s.io")
DATA, ERROR = 0, 1


class PortForwardError(RetinaTuiError):
    """The kubelet could not forward (the port is closed, the pod went away...)."""


class StreamDropped(RetinaTuiError):
    """The WebSocket ended without a close frame: the network or the API server cut it."""


class ForwardStream:
    """Bytes to and from one port of one pod; `read` returns b"" once the pod side closed."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, port: int) -> None:
        self._ws = ws
        self.port = port
        self._prefix = {DATA: 2, ERROR: 2}
        self._error = bytearray()
        self._ended = False

    async def write(self, data: bytes) -> None:
        """Send bytes to the pod's port."""
        try:
            await self._ws.send_bytes(bytes([DATA]) + data)
        except (ConnectionError, aiohttp.ClientError, RuntimeError) as exc:
            raise StreamDropped(f"the port-forward stream broke while sending: {exc}") from exc

    async def end_write(self) -> None:
        """The channel protocol cannot half-close: the pod side ends when the socket does."""

    async def read(self) -> bytes:
        """The next bytes from the pod; b"" at the end. Raises PortForwardError with the
        kubelet's text when it reports one, StreamDropped when the stream was cut."""
        while not self._ended:
            message = await self._ws.receive()
            if message.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                raw = message.data if isinstance(message.data, bytes) else message.data.encode()
                data = self._payload(raw)
                if data:
                    return data
                continue
            self._ended = True
            if self._error:
                raise PortForwardError(self._error.decode(errors="replace").strip())
            if message.type == aiohttp.WSMsgType.CLOSE or self._ws.close_code == 1000:
                return b""
            raise StreamDropped("the port-forward stream was cut without a close frame")
        return b""

    def _payload(self, raw: bytes) -> bytes:
        if not raw:
            return b""
        channel, body = raw[0], raw[1:]
        if channel not in self._prefix:
            return b""
        skip = min(self._prefix[channel], len(body))
        self._prefix[channel] -= skip
        body = body[skip:]
        if channel == ERROR:
            self._error += body
            return b""
        return body

    async def close(self) -> None:
        """Close the WebSocket (the kubelet then closes the pod side)."""
        self._ended = True
        await self._ws.close()


async def open_stream(client: KubeClient, namespace: str, pod: str, port: int) -> ForwardStream:
    """A new connection to `port` of the pod (the WebSocket handshake is its only round trip)."""
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}/portforward"
    ws = await client.websocket(path, {"ports": str(port)}, PROTOCOLS)
    return ForwardStream(ws, port)
