"""One attach or exec WebSocket: frames in, bytes and an exit status out.

This is the socket half of the channel protocol (`protocol.py` is the pure half). A
stream lives for one connection; reconnecting opens a new one (see `session.py`). Shells
attach to their container's tty; command mode execs a command with stdout and stderr
kept apart (`open_exec`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp

from retina_tui.errors import ProtocolError
from retina_tui.kube.client import KubeClient
from retina_tui.sessions import protocol


@dataclass(frozen=True, slots=True)
class Output:
    """Bytes the container wrote: to its terminal, or to stdout/stderr without one."""

    data: bytes
    channel: int = protocol.STDOUT


@dataclass(frozen=True, slots=True)
class Ended:
    """The stream ended: with an exit status (the process ended) or without (a drop)."""

    status: protocol.ExitStatus | None


class AttachStream:
    """stdin/resize out, stdout/stderr/status in, over one WebSocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self.protocol = ws.protocol or protocol.PROTOCOL_V4
        self._send_lock = asyncio.Lock()

    @property
    def closed(self) -> bool:
        return self._ws.closed

    @property
    def silent(self) -> bool:
        """Whether the stream ended because the connection went silent (no pong came back)."""
        return isinstance(self._ws.exception(), aiohttp.ServerTimeoutError)

    async def _send(self, message: bytes) -> bool:
        """Send one frame; False when the connection is already gone."""
        if self._ws.closed:
            return False
        try:
            async with self._send_lock:
                await self._ws.send_bytes(message)
        except (aiohttp.ClientError, ConnectionError, RuntimeError):
            return False
        return True

    async def send_stdin(self, data: bytes) -> bool:
        return await self._send(protocol.encode(protocol.STDIN, data)) if data else True

    async def send_resize(self, cols: int, rows: int) -> bool:
        return await self._send(protocol.encode_resize(cols, rows))

    async def close_stdin(self) -> bool:
        """Half-close stdin (v5 only; v4 has no way to say it)."""
        if self.protocol != protocol.PROTOCOL_V5:
            return False
        return await self._send(protocol.encode_close(protocol.STDIN))

    async def events(self) -> AsyncIterator[Output | Ended]:
        """Output until the stream ends; the last event is always `Ended`."""
        status: protocol.ExitStatus | None = None
        try:
            async for message in self._ws:
                if message.type != aiohttp.WSMsgType.BINARY:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        raise ProtocolError(
                            "The API server sent a text frame on the attach stream, which the "
                            f"{self.protocol} protocol does not use."
                        )
                    continue
                if not message.data:
                    continue
                frame = protocol.decode(message.data)
                if frame.channel in (protocol.STDOUT, protocol.STDERR):
                    if frame.data:
                        yield Output(frame.data, frame.channel)
                elif frame.channel == protocol.ERROR:
                    try:
                        status = protocol.parse_status(frame.data)
                    except protocol.FrameError as exc:
                        raise ProtocolError(
                            f"The exit status on the attach stream is unreadable: {exc}."
                        ) from exc
        except (aiohttp.ClientError, ConnectionError):
            pass
        yield Ended(status)

    async def close(self) -> None:
        if not self._ws.closed:
            with contextlib.suppress(aiohttp.ClientError, ConnectionError, RuntimeError):
                await self._ws.close()


async def open_attach(
    client: KubeClient, namespace: str, pod: str, container: str, *, tty: bool = True
) -> AttachStream:
    """Attach to a running container's stdin/stdout (tty), v5 first then v4."""
    params: list[tuple[str, str | int | bool]] = [
        ("container", container),
        ("stdin", True),
        ("stdout", True),
        ("stderr", not tty),
        ("tty", tty),
    ]
    ws = await client.websocket(
        f"/api/v1/namespaces/{namespace}/pods/{pod}/attach",
        params,
        protocol.SUPPORTED_PROTOCOLS,
    )
    return AttachStream(ws)


async def open_exec(
    client: KubeClient,
    namespace: str,
    pod: str,
    container: str,
    argv: list[str],
    *,
    stdin: bool,
    tty: bool = False,
) -> AttachStream:
    """Start `argv` in a running container; stdout and stderr apart unless `tty`."""
    params: list[tuple[str, str | int | bool]] = [("container", container)]
    params += [("command", part) for part in argv]
    params += [("stdin", stdin), ("stdout", True), ("stderr", not tty), ("tty", tty)]
    ws = await client.websocket(
        f"/api/v1/namespaces/{namespace}/pods/{pod}/exec",
        params,
        protocol.SUPPORTED_PROTOCOLS,
    )
    return AttachStream(ws)
