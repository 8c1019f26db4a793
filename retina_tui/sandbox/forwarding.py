"""Connections into a pod for port forwarding, made and pumped as containerd does.

Each goes to localhost:PORT inside the pod's network namespace (the node's for hostNetwork
pods; the sandbox's own in host network mode), IPv4 then IPv6. A refused one becomes
containerd's message, word for word, for the client's error stream. Once connected, bytes
flow both ways until one side ends; the other then gets a second to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from dataclasses import dataclass
from typing import Final, Protocol

from retina_tui.sandbox import netns_socket

CHUNK: Final = 32 * 1024
CLOSE_GRACE: Final = 1.0


class ForwardError(Exception):
    """A connection into the pod failed; the message is the one the error stream carries."""


@dataclass(frozen=True, slots=True)
class ForwardTarget:
    """Where a pod's forwarded connections go, and the names its error messages use."""

    netns: str | None
    netns_path: str
    sandbox_id: str

    async def _dial(self, family: socket.AddressFamily, host: str, port: int) -> socket.socket:
        proto = "tcp4" if family == socket.AF_INET else "tcp6"
        shown = host if family == socket.AF_INET else f"[{host}]"
        step = "socket"
        try:
            sock = await netns_socket.stream_socket(self.netns, family)
            step = "connect"
            try:
                await asyncio.get_running_loop().sock_connect(sock, (host, port))
            except BaseException:
                sock.close()
                raise
        except OSError as error:
            words = os.strerror(error.errno) if error.errno else str(error)
            words = words[:1].lower() + words[1:]
            raise ForwardError(f"dial {proto} {shown}:{port}: {step}: {words}") from None
        return sock

    async def connect(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to localhost:`port` in the pod; ForwardError with containerd's text."""
        try:
            sock = await self._dial(socket.AF_INET, "127.0.0.1", port)
        except ForwardError as v4:
            try:
                sock = await self._dial(socket.AF_INET6, "::1", port)
            except ForwardError as v6:
                raise ForwardError(
                    f"error forwarding port {port} to pod {self.sandbox_id}, uid : failed to "
                    f'execute portforward in network namespace "{self.netns_path}": failed to '
                    f'connect to localhost:{port} inside namespace "{self.sandbox_id}", '
                    f"IPv4: {v4} IPv6 {v6} "
                ) from None
        return await asyncio.open_connection(sock=sock, limit=CHUNK)


class ClientStream(Protocol):
    """The client's side of one forwarded connection."""

    async def read(self) -> bytes | None:
        """Bytes from the client; None once it sent all it will."""

    async def write(self, data: bytes) -> None:
        """Bytes to the client; ConnectionError when it cannot take them any more."""

    async def close_write(self) -> None:
        """Tell the client nothing more comes (where the protocol can say so)."""


async def _client_to_pod(stream: ClientStream, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while (data := await stream.read()) is not None:
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


async def _pod_to_client(reader: asyncio.StreamReader, stream: ClientStream) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(CHUNK):
            await stream.write(data)
        await stream.close_write()


async def forward(target: ForwardTarget, port: int, stream: ClientStream, name: str) -> str:
    """Pump one connection both ways until one side ends (the other gets CLOSE_GRACE to
    finish, as containerd gives it); the error message for the client, "" when none."""
    try:
        reader, writer = await target.connect(port)
    except ForwardError as error:
        return str(error)
    tasks = [
        asyncio.create_task(_client_to_pod(stream, writer), name=f"{name}-in"),
        asyncio.create_task(_pod_to_client(reader, stream), name=f"{name}-out"),
    ]
    try:
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if pending:
            await asyncio.wait(pending, timeout=CLOSE_GRACE)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
    return ""


def port_number(text: str, shown: str | None = None) -> int:
    """A port of a request (`shown`: the query value it came from), checked with the
    kubelet's messages (ValueError)."""
    shown = text if shown is None else shown
    if not text.isascii() or not text.isdigit() or int(text) > 0xFFFF:
        why = "value out of range" if text.isascii() and text.isdigit() else "invalid syntax"
        raise ValueError(
            f'unable to parse "{shown}" as a port: strconv.ParseUint: parsing "{text}": {why}'
        )
    if int(text) < 1:
        raise ValueError(f'port "{shown}" must be > 0')
    return int(text)
