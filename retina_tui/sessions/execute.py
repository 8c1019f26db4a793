"""One short command in a running container over the exec WebSocket, to completion.

Shells attach to their container; small housekeeping commands (the detach watchdog's
heartbeat) run beside them with `exec`, in the same container, without a terminal. The
output is kept in memory up to a limit, and the exit code comes from the status channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from retina_tui.errors import SessionError
from retina_tui.kube.client import KubeClient
from retina_tui.sessions import protocol

OUTPUT_LIMIT = 1 << 20


@dataclass(frozen=True, slots=True)
class CommandResult:
    """How a command ended: its exit code (None: the server gave a failure) and output."""

    exit_code: int | None
    stdout: bytes
    stderr: bytes
    message: str = ""


async def run_command(
    client: KubeClient,
    namespace: str,
    pod: str,
    container: str,
    argv: Sequence[str],
    *,
    time_limit: float,
) -> CommandResult:
    """Run `argv` in `container` of `pod` and wait for it to end (at most `time_limit` seconds)."""
    params: list[tuple[str, str | int | bool]] = [("container", container)]
    params += [("command", part) for part in argv]
    params += [("stdin", False), ("stdout", True), ("stderr", True), ("tty", False)]
    shown = " ".join(argv)
    try:
        async with asyncio.timeout(time_limit):
            ws = await client.websocket(
                f"/api/v1/namespaces/{namespace}/pods/{pod}/exec",
                params,
                protocol.SUPPORTED_PROTOCOLS,
            )
            try:
                return await _collect(ws)
            finally:
                await ws.close()
    except TimeoutError:
        raise SessionError(
            f"`{shown}` in {namespace}/{pod} ({container}) did not finish within {time_limit:g} s."
        ) from None


async def _collect(ws: aiohttp.ClientWebSocketResponse) -> CommandResult:
    out = {protocol.STDOUT: bytearray(), protocol.STDERR: bytearray()}
    status: protocol.ExitStatus | None = None
    async for message in ws:
        if message.type != aiohttp.WSMsgType.BINARY or not message.data:
            continue
        frame = protocol.decode(message.data)
        if frame.channel in out:
            buffer = out[frame.channel]
            buffer += frame.data[: max(0, OUTPUT_LIMIT - len(buffer))]
        elif frame.channel == protocol.ERROR:
            try:
                status = protocol.parse_status(frame.data)
            except protocol.FrameError as exc:
                raise SessionError(f"The exec status is unreadable: {exc}.") from exc
    if status is None:
        raise SessionError("The exec stream ended before the command reported how it ended.")
    return CommandResult(
        status.code, bytes(out[protocol.STDOUT]), bytes(out[protocol.STDERR]), status.message
    )
