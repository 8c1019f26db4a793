"""kubectl's port-forward transport: SPDY/3.1 streams tunnelled through one WebSocket.

One tunnel per pod carries every forwarded connection to it, so a new connection costs
a stream pair (no TCP, TLS or HTTP handshake), and a connection can half-close: the
pod's server sees the end of our input while its answer still flows back. Per
connection, as kubectl does, an `error` stream (which we only read) and a `data` stream
share a request id; the kubelet replies to both, connects to the port inside the pod's
network namespace, and writes to the error stream if it cannot. When the WebSocket
drops, every stream of the tunnel ends with `StreamDropped` and the next connection
opens a new tunnel.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import TYPE_CHECKING, Final

import aiohttp

from retina_tui.errors import RetinaTuiError
from retina_tui.kube.portforward import PortForwardError, StreamDropped
from retina_tui.sessions import spdy

if TYPE_CHECKING:
    from retina_tui.kube.client import KubeClient

PROTOCOL: Final = "SPDY/3.1+portforward.k8s.io"
REPLY_SECONDS: Final = 10.0


class TunnelRefused(RetinaTuiError):
    """The API server does not tunnel SPDY through WebSockets (before Kubernetes 1.30)."""


class _GoneAway(Exception):
    """The kubelet ended the SPDY session (GOAWAY)."""


class _Stream:
    """One SPDY stream as the tunnel sees it: the reply, and what arrives on it."""

    def __init__(self) -> None:
        self.replied = asyncio.Event()
        self.chunks: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        self.ended = False


class TunnelStream:
    """Bytes to and from one port through the tunnel; `read` returns b"" at the end."""

    def __init__(self, tunnel: Tunnel, data_id: int, error_id: int, port: int) -> None:
        self._tunnel = tunnel
        self.data_id = data_id
        self.error_id = error_id
        self.port = port
        self._sent_fin = False
        self._done = False

    async def write(self, data: bytes) -> None:
        await self._tunnel.send(spdy.FrameWriter.data(self.data_id, data))

    async def end_write(self) -> None:
        """Half-close: the pod's side reads the end of our input."""
        if not self._sent_fin:
            self._sent_fin = True
            await self._tunnel.send(spdy.FrameWriter.data(self.data_id, b"", fin=True))

    async def read(self) -> bytes:
        """The next bytes from the pod; b"" once it closed (PortForwardError if the kubelet
        wrote an error instead, StreamDropped if the tunnel went away)."""
        if self._done:
            return b""
        chunk = await self._tunnel.next_chunk(self.data_id)
        if chunk:
            return chunk
        self._done = True
        error = await self._tunnel.error_text(self.error_id)
        if error:
            raise PortForwardError(error)
        return b""

    async def close(self) -> None:
        """Forget the stream pair (reset it if it is still open on the kubelet's side)."""
        await self._tunnel.release(self.data_id, self.error_id)


class Tunnel:
    """The SPDY session over one WebSocket to one pod's `portforward`."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, pod: str) -> None:
        self.pod = pod
        self._ws = ws
        self._reader = spdy.FrameReader()
        self._writer = spdy.FrameWriter()
        self._ids = itertools.count(1, 2)
        self._requests = itertools.count()
        self._streams: dict[int, _Stream] = {}
        self._send_lock = asyncio.Lock()
        self._failure: BaseException | None = None
        self._task = asyncio.create_task(self._receive(), name=f"forward-tunnel-{pod}")

    @property
    def alive(self) -> bool:
        return self._failure is None and not self._task.done()

    @property
    def streams(self) -> int:
        return len(self._streams)

    async def send(self, frame: bytes) -> None:
        if self._failure is not None:
            raise StreamDropped(str(self._failure))
        try:
            async with self._send_lock:
                await self._ws.send_bytes(frame)
        except (ConnectionError, aiohttp.ClientError, RuntimeError) as exc:
            raise StreamDropped(f"the port-forward tunnel broke while sending: {exc}") from exc

    async def open(self, port: int) -> TunnelStream:
        """A new connection to `port` of the pod: an error and a data stream, both replied."""
        request = str(next(self._requests))
        error_id, data_id = next(self._ids), next(self._ids)
        for sid in (error_id, data_id):
            self._streams[sid] = _Stream()
        headers = {"port": [str(port)], "requestid": [request]}
        try:
            async with self._send_lock:
                # Header blocks share one compression context: encode in sending order.
                frames = self._writer.syn_stream(
                    error_id, {"streamtype": ["error"], **headers}, fin=True
                ) + self._writer.syn_stream(data_id, {"streamtype": ["data"], **headers})
                await self._ws.send_bytes(frames)
            async with asyncio.timeout(REPLY_SECONDS):
                for sid in (error_id, data_id):
                    await self._wait_reply(sid)
        except TimeoutError:
            await self.release(data_id, error_id)
            raise PortForwardError(
                f"the kubelet did not answer a new stream to port {port} within "
                f"{REPLY_SECONDS:g} seconds"
            ) from None
        except (ConnectionError, aiohttp.ClientError, RuntimeError) as exc:
            await self.release(data_id, error_id)
            raise StreamDropped(f"the port-forward tunnel broke: {exc}") from exc
        except BaseException:
            await self.release(data_id, error_id)
            raise
        return TunnelStream(self, data_id, error_id, port)

    async def _wait_reply(self, sid: int) -> None:
        stream = self._streams[sid]
        waiter = asyncio.create_task(stream.replied.wait(), name=f"forward-reply-{sid}")
        try:
            await asyncio.wait([waiter, self._task], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            await asyncio.wait([waiter])
        if not stream.replied.is_set():
            raise StreamDropped(f"the port-forward tunnel ended: {self._failure or 'closed'}")

    async def next_chunk(self, sid: int) -> bytes:
        stream = self._streams.get(sid)
        if stream is None:
            return b""
        chunk = await stream.chunks.get()
        if isinstance(chunk, BaseException):
            raise chunk
        return chunk or b""

    async def error_text(self, sid: int) -> str:
        stream = self._streams.get(sid)
        if stream is None:
            return ""
        parts = []
        while True:
            chunk = await stream.chunks.get()
            if isinstance(chunk, BaseException) or not chunk:
                break
            parts.append(chunk)
        return b"".join(parts).decode(errors="replace").strip()

    async def release(self, *sids: int) -> None:
        for sid in sids:
            stream = self._streams.pop(sid, None)
            if stream is not None and not stream.ended and self.alive:
                with contextlib.suppress(RetinaTuiError):
                    await self.send(self._writer.rst_stream(sid, spdy.RST_CANCEL))

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        with contextlib.suppress(Exception):
            await self._ws.close()

    # Receiving ---------------------------------------------------------------------

    async def _receive(self) -> None:
        failure: BaseException = StreamDropped("the port-forward tunnel was closed")
        try:
            async for message in self._ws:
                if message.type != aiohttp.WSMsgType.BINARY:
                    break
                for frame in self._reader.feed(message.data):
                    await self._handle(frame)
            if self._ws.close_code not in (1000, None):
                failure = StreamDropped(
                    f"the port-forward tunnel was cut (close code {self._ws.close_code})"
                )
            elif self._ws.close_code is None or self._ws.exception() is not None:
                failure = StreamDropped("the port-forward tunnel was cut without a close frame")
        except spdy.ProtocolError as exc:
            failure = StreamDropped(f"the port-forward tunnel spoke no SPDY: {exc}")
        except _GoneAway as exc:
            failure = StreamDropped(str(exc))
        except RetinaTuiError as exc:  # answering a PING on a tunnel that broke
            failure = exc
        except (ConnectionError, aiohttp.ClientError) as exc:
            failure = StreamDropped(f"the port-forward tunnel was cut: {exc}")
        finally:
            self._failure = failure
            for stream in self._streams.values():
                if not stream.ended:
                    stream.ended = True
                    stream.chunks.put_nowait(failure)

    async def _handle(self, frame: spdy.Frame) -> None:
        if isinstance(frame, spdy.DataFrame):
            stream = self._streams.get(frame.stream_id)
            if stream is not None and not stream.ended:
                if frame.data:
                    stream.chunks.put_nowait(frame.data)
                if frame.fin:
                    stream.ended = True
                    stream.chunks.put_nowait(None)
            return
        kind = frame.kind
        stream = self._streams.get(frame.stream_id)
        if kind == spdy.SYN_REPLY and stream is not None:
            stream.replied.set()
            if frame.fin:
                stream.ended = True
                stream.chunks.put_nowait(None)
        elif kind == spdy.RST_STREAM and stream is not None and not stream.ended:
            stream.ended = True
            stream.replied.set()
            stream.chunks.put_nowait(
                PortForwardError(f"the kubelet reset the stream (status {frame.value})")
            )
        elif kind == spdy.PING and frame.value % 2 == 0:
            await self.send(self._writer.ping(frame.value))
        elif kind == spdy.GOAWAY:
            raise _GoneAway(f"the kubelet ended the port-forward tunnel (status {frame.value})")


async def open_tunnel(client: KubeClient, namespace: str, pod: str) -> Tunnel:
    """A tunnel to the pod; TunnelRefused if the API server does not offer it."""
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}/portforward"
    try:
        ws = await client.websocket(path, None, (PROTOCOL,))
    except RetinaTuiError as exc:
        if getattr(exc, "status", None) in (400, 403):
            raise TunnelRefused(str(exc)) from exc
        raise
    if ws.protocol != PROTOCOL:
        await ws.close()
        raise TunnelRefused(f"the API server answered with protocol {ws.protocol!r}")
    return Tunnel(ws, pod)
