"""The exec and attach WebSocket streams of the sandbox kubelet, spoken with the channel codec.

One `serve` call upgrades the request (subprotocol v5 or v4.channel.k8s.io), pumps a
process's output to channels 1/2, feeds channel 0 to its stdin (binary or text frames, as
the kubelet reads both), applies channel 4 resizes to its pty, honours the v5 half-close of
stdin (channel 255) and, when the process ends, sends a Status on channel 3 and closes: the
exit code for exec, a plain Success for attach (the pod's status has the exit code). A
client that goes away leaves an attached process running; an exec'd process then loses
its stdin/terminal as with a real runtime.
`StreamRegistry.drop_all` cuts every stream without a close frame, as a network failure would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from aiohttp import WSMsgType, web

from retina_tui.sandbox.errors import ApiError
from retina_tui.sandbox.processes import Process, Sink
from retina_tui.sessions import protocol

log = logging.getLogger("retina_tui.sandbox")

TRUE_VALUES: Final = frozenset({"1", "true", "True", "TRUE", "yes"})
MAX_MESSAGE: Final = 4 << 20


def _flag(query: Mapping[str, str], name: str, default: bool = False) -> bool:
    value = query.get(name)
    return default if value is None else value in TRUE_VALUES


@dataclass(frozen=True, slots=True)
class StreamParams:
    """What the client asked for in the query string of an exec or attach request."""

    container: str | None
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool
    command: tuple[str, ...] = ()

    @classmethod
    def from_request(cls, request: web.Request) -> StreamParams:
        query = request.query
        return cls(
            container=query.get("container") or None,
            stdin=_flag(query, "stdin"),
            stdout=_flag(query, "stdout", default=True),
            stderr=_flag(query, "stderr", default=True),
            tty=_flag(query, "tty"),
            command=tuple(query.getall("command", [])),
        )


class SpawnError(Exception):
    """An exec'd command could not be started; the message goes out as the Status."""


@dataclass(eq=False)
class OpenStream:
    """One open exec/attach WebSocket."""

    ws: web.WebSocketResponse
    request: web.Request
    kind: Literal["exec", "attach"]
    dropped: bool = False
    v5: bool = field(default=False)

    def drop(self) -> None:
        """Cut the connection without a close frame."""
        self.dropped = True
        transport = self.request.transport
        if transport is not None:
            transport.abort()


class StreamRegistry:
    """Every open stream, so that they can be dropped or closed all at once."""

    def __init__(self) -> None:
        self._open: set[OpenStream] = set()

    def __len__(self) -> int:
        return len(self._open)

    def add(self, stream: OpenStream) -> None:
        self._open.add(stream)

    def discard(self, stream: OpenStream) -> None:
        self._open.discard(stream)

    def drop_all(self) -> int:
        streams = list(self._open)
        for stream in streams:
            stream.drop()
        return len(streams)


async def upgrade(request: web.Request) -> tuple[web.WebSocketResponse, bool]:
    """Accept the WebSocket; (response, whether v5 framing was agreed)."""
    ws = web.WebSocketResponse(
        protocols=protocol.SUPPORTED_PROTOCOLS, max_msg_size=MAX_MESSAGE, autoping=True
    )
    ready = ws.can_prepare(request)
    if not ready.ok:
        raise ApiError(400, "BadRequest", "Upgrade request required")
    await ws.prepare(request)
    return ws, ws.ws_protocol == protocol.PROTOCOL_V5


async def _send(stream: OpenStream, message: bytes) -> bool:
    try:
        await stream.ws.send_bytes(message)
    except (ConnectionError, RuntimeError) as exc:
        log.debug("stream %s: send failed: %s", stream.kind, exc)
        return False
    return True


async def _pump_output(stream: OpenStream, sink: Sink, params: StreamParams) -> bool:
    """Forward output until it ends (True) or the client cannot be written to (False)."""
    while (item := await sink.get()) is not None:
        channel, data = item
        if channel == protocol.STDOUT and not params.stdout:
            continue
        if channel == protocol.STDERR and not params.stderr:
            continue
        if not await _send(stream, protocol.encode(channel, data)):
            return False
    return not sink.closed


async def _pump_input(
    stream: OpenStream,
    process: Process,
    params: StreamParams,
    on_stdin_closed: Callable[[], None],
) -> None:
    async for message in stream.ws:
        if message.type == WSMsgType.BINARY:
            data = message.data
        elif message.type == WSMsgType.TEXT:
            # As the kubelet's channel codec reads them: a text frame's first byte is its channel.
            data = message.data.encode()
        elif message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
            return
        else:
            continue
        if not data:
            continue
        try:
            frame = protocol.decode(data)
            if frame.channel == protocol.STDIN and params.stdin:
                await process.write(frame.data)
            elif frame.channel == protocol.RESIZE:
                process.resize(*protocol.decode_resize(frame.data))
            elif (
                frame.channel == protocol.CLOSE
                and stream.v5
                and protocol.closed_channel(frame) == protocol.STDIN
            ):
                on_stdin_closed()
        except protocol.FrameError as exc:
            log.debug("stream %s: ignoring bad frame: %s", stream.kind, exc)


async def serve(
    request: web.Request,
    registry: StreamRegistry,
    kind: Literal["exec", "attach"],
    params: StreamParams,
    start: Callable[[Sink], Awaitable[Process]],
    *,
    command_text: str = "",
    on_stdin_closed: Callable[[Process], None] | None = None,
) -> web.WebSocketResponse:
    """Run one exec or attach stream to its end.

    `start` returns the process with `sink` already subscribed: a new one for exec, the
    running container for attach. It may raise SpawnError (sent as a Failure Status).
    `on_stdin_closed` decides what a client's end of stdin means (by default: EOF for an
    exec'd command, nothing for an attached container).
    """
    ws, v5 = await upgrade(request)
    stream = OpenStream(ws, request, kind, v5=v5)
    registry.add(stream)
    sink = Sink()
    process: Process | None = None
    tasks: list[asyncio.Task[Any]] = []
    try:
        try:
            process = await start(sink)
        except SpawnError as error:
            status: dict[str, Any] = protocol.status_failure(str(error), "InternalError")
            status["code"] = 500
            await _send(stream, protocol.encode_status(status))
            return ws
        running = process

        def stdin_closed() -> None:
            if on_stdin_closed is not None:
                on_stdin_closed(running)
            elif kind == "exec":
                running.close_stdin()

        output = asyncio.create_task(
            _pump_output(stream, sink, params), name=f"sandbox-{kind}-output-{process.pid}"
        )
        inputs = asyncio.create_task(
            _pump_input(stream, process, params, stdin_closed),
            name=f"sandbox-{kind}-input-{process.pid}",
        )
        tasks = [output, inputs]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if output.done() and output.result() and not stream.dropped:
            if kind == "exec":
                status = protocol.status_exit(await process.wait(), command_text)
            else:  # the kubelet's ServeAttach: Success whatever the exit code
                status = protocol.status_success()
            await _send(stream, protocol.encode_status(status))
        elif kind == "exec" and not stream.dropped:
            _hang_up(process)
        elif not stream.dropped and params.stdin:
            stdin_closed()  # an attach client left: as if it had closed its stdin
        return ws
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if process is not None:
            process.unsubscribe(sink)
        registry.discard(stream)
        if not stream.dropped:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.close()


def _hang_up(process: Process) -> None:
    """The exec client is gone: its terminal hangs up, or its stdin reaches EOF."""
    if process.tty:
        process.signal(signal.SIGHUP)
    else:
        process.close_stdin()
