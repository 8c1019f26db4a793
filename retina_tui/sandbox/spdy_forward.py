"""The kubelet's side of a SPDY/3.1 port-forward connection (upgraded or WebSocket-tunnelled).

The client opens, per forwarded connection, an `error` stream and a `data` stream carrying
the same `requestid` (consecutive stream ids for clients without one) and the `port`
header; each gets a SYN_REPLY, and once both are there the connection into the pod is made
(`forwarding`). Its bytes travel on the data stream, each side ending with FIN; a failure
is written on the error stream, which then ends too. Streams with bad headers are reset,
pings answered, and anything that is not SPDY/3.1 ends the session with a GOAWAY.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final

from retina_tui.sandbox.forwarding import CHUNK, ForwardTarget, forward, port_number
from retina_tui.sessions import spdy

log = logging.getLogger("retina_tui.sandbox")

INBOX: Final = 64
STREAM_CREATION_TIMEOUT: Final = 30.0


@dataclass(eq=False)
class _SpdyStream:
    """One SPDY stream the client opened (`data` or `error`)."""

    session: SpdySession
    stream_id: int
    kind: str
    port: int
    request_id: str
    inbox: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(INBOX))
    remote_done: bool = False
    local_done: bool = False
    reset: bool = False
    consumed: bool = True

    def end_input(self) -> None:
        if not self.remote_done:
            self.remote_done = True
            with contextlib.suppress(asyncio.QueueFull):  # a full inbox: read() sees the flag
                self.inbox.put_nowait(None)

    async def read(self) -> bytes | None:
        if self.reset or (self.remote_done and self.inbox.empty()):
            return None
        return await self.inbox.get()

    async def write(self, data: bytes) -> None:
        for start in range(0, len(data), CHUNK):
            if self.reset or self.local_done:
                raise ConnectionResetError("stream reset")
            frame = spdy.FrameWriter.data(self.stream_id, data[start : start + CHUNK])
            if not await self.session.send_frame(frame):
                raise ConnectionResetError("connection lost")

    async def close_write(self) -> None:
        if not self.local_done and not self.reset:
            self.local_done = True
            await self.session.send(lambda w: w.data(self.stream_id, b"", fin=True))


@dataclass(eq=False)
class _Pair:
    request_id: str
    error: _SpdyStream | None = None
    data: _SpdyStream | None = None
    complete: asyncio.Event = field(default_factory=asyncio.Event)


class SpdySession:
    """The kubelet's side of one SPDY/3.1 port-forward connection."""

    def __init__(
        self, target: ForwardTarget, send_raw: Callable[[bytes], Awaitable[None]], name: str
    ) -> None:
        self.target = target
        self.name = name
        self._send_raw = send_raw
        self._reader = spdy.FrameReader()
        self._writer = spdy.FrameWriter()
        self._lock = asyncio.Lock()
        self._broken = False
        self._next_id = 1
        self._streams: dict[int, _SpdyStream] = {}
        self._pairs: dict[str, _Pair] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._gone_away = False

    async def send(self, encode: Callable[[spdy.FrameWriter], bytes]) -> bool:
        """Encode and send one frame (in order: header compression is stateful)."""
        async with self._lock:
            if self._broken:
                return False
            try:
                await self._send_raw(encode(self._writer))
            except (ConnectionError, RuntimeError) as error:
                log.debug("%s: send failed: %s", self.name, error)
                self._broken = True
                return False
            return True

    async def send_frame(self, frame: bytes) -> bool:
        """Send a frame encoded already (one without a header block)."""
        return await self.send(lambda _: frame)

    async def run(self, chunks: AsyncIterator[bytes]) -> None:
        """Read frames until the connection ends, then stop every forwarded connection."""
        try:
            async for chunk in chunks:
                for frame in self._reader.feed(chunk):
                    await self._handle(frame)
        except spdy.ProtocolError as error:
            log.debug("%s: %s", self.name, error)
            last = max(0, self._next_id - 2)
            await self.send(lambda w: w.goaway(last, spdy.GOAWAY_PROTOCOL_ERROR))
        except ConnectionError:
            pass
        finally:
            for stream in self._streams.values():
                stream.reset = True
                stream.end_input()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, frame: spdy.Frame) -> None:
        if isinstance(frame, spdy.DataFrame):
            stream = self._streams.get(frame.stream_id)
            if stream is None:
                return
            if frame.data and stream.kind == "data" and stream.consumed:
                await stream.inbox.put(frame.data)
            if frame.fin:
                stream.end_input()
        elif frame.kind == spdy.SYN_STREAM:
            await self._syn_stream(frame)
        elif frame.kind == spdy.RST_STREAM:
            stream = self._streams.get(frame.stream_id)
            if stream is not None:
                stream.reset = True
                stream.end_input()
        elif frame.kind == spdy.PING and frame.value % 2 == 1:
            ping = frame.value
            await self.send(lambda w: w.ping(ping))
        elif frame.kind == spdy.GOAWAY:
            self._gone_away = True

    async def _syn_stream(self, frame: spdy.ControlFrame) -> None:
        sid = frame.stream_id
        if self._gone_away:
            return
        if sid == 0 or sid < self._next_id:
            await self.send(lambda w: w.rst_stream(sid, spdy.RST_PROTOCOL_ERROR))
            return
        self._next_id = sid + 2
        try:
            stream = self._new_stream(sid, frame.headers)
        except ValueError as error:
            log.debug("%s: stream rejected: %s", self.name, error)
            await self.send(lambda w: w.rst_stream(sid, spdy.RST_CANCEL))
            return
        self._streams[sid] = stream
        await self.send(lambda w: w.syn_reply(sid))
        if frame.fin:
            stream.end_input()
        pair = self._pairs.get(stream.request_id)
        if pair is None:
            pair = self._pairs[stream.request_id] = _Pair(stream.request_id)
            self._spawn(self._monitor(pair), f"{self.name}-monitor-{stream.request_id}")
        if getattr(pair, stream.kind) is not None:
            stream.consumed = False
            message = (
                f"error processing stream for request {stream.request_id}: "
                f"{stream.kind} stream already assigned"
            )
            if pair.error is not None:
                with contextlib.suppress(ConnectionError):
                    await pair.error.write(message.encode())
            return
        setattr(pair, stream.kind, stream)
        if pair.error is not None and pair.data is not None:
            pair.complete.set()
            self._spawn(self._forward(pair), f"{self.name}-forward-{pair.request_id}")

    def _new_stream(self, sid: int, headers: spdy.Headers) -> _SpdyStream:
        """A stream from its headers, checked as the kubelet checks them."""
        port_text = (headers.get("port") or [""])[0]
        if not port_text:
            raise ValueError('"port" header is required')
        port = port_number(port_text)
        kind = (headers.get("streamtype") or [""])[0]
        if not kind:
            raise ValueError('"streamType" header is required')
        if kind not in ("error", "data"):
            raise ValueError(f'invalid stream type "{kind}"')
        request_id = (headers.get("requestid") or [""])[0]
        if not request_id:  # clients from before request ids: pair consecutive streams
            request_id = str(sid if kind == "error" else sid - 2)
        return _SpdyStream(self, sid, kind, port, request_id)

    async def _monitor(self, pair: _Pair) -> None:
        try:
            async with asyncio.timeout(STREAM_CREATION_TIMEOUT):
                await pair.complete.wait()
        except TimeoutError:
            if pair.error is not None:
                message = (
                    f"(conn={self.name}, request={pair.request_id}) timed out waiting for streams"
                )
                with contextlib.suppress(ConnectionError):
                    await pair.error.write(message.encode())
            self._pairs.pop(pair.request_id, None)

    async def _forward(self, pair: _Pair) -> None:
        error, data = pair.error, pair.data
        assert error is not None and data is not None
        try:
            message = await forward(self.target, data.port, data, f"{self.name}-{data.stream_id}")
            if message:
                with contextlib.suppress(ConnectionError):
                    await error.write(message.encode())
        finally:
            data.consumed = False
            while not data.inbox.empty():
                data.inbox.get_nowait()
            await data.close_write()
            await error.close_write()
            self._pairs.pop(pair.request_id, None)
            self._streams.pop(data.stream_id, None)
            self._streams.pop(error.stream_id, None)
