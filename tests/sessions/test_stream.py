"""The attach stream over a loopback WebSocket: framing both ways, exit status, drops."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import WSMsgType, web

from retina_tui.kube.client import KubeClient, connect
from retina_tui.sessions import protocol
from retina_tui.sessions.stream import Ended, Output, open_attach
from tests.kube.fakeapi import write_kubeconfig

Script = Callable[[web.WebSocketResponse, list[protocol.Frame]], Awaitable[None]]


async def attach_server(
    script: Script, protocols: tuple[str, ...], tmp_path: Path
) -> AsyncIterator[tuple[KubeClient, list[protocol.Frame], list[dict[str, str]]]]:
    received: list[protocol.Frame] = []
    queries: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        queries.append(dict(request.query))
        ws = web.WebSocketResponse(protocols=protocols)
        await ws.prepare(request)
        await script(ws, received)
        return ws

    app = web.Application()
    app.router.add_get("/api/v1/namespaces/ns/pods/p/attach", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    client = await connect(kubeconfig=str(write_kubeconfig(tmp_path / "kc", url)))
    try:
        yield client, received, queries
    finally:
        await client.close()
        await runner.cleanup()


async def read_until_input(ws: web.WebSocketResponse, received: list[protocol.Frame]) -> None:
    async for message in ws:
        if message.type == WSMsgType.BINARY:
            frame = protocol.decode(message.data)
            received.append(frame)
            if frame.channel == protocol.STDIN:
                return


@pytest.mark.parametrize("proto", [protocol.PROTOCOL_V5, protocol.PROTOCOL_V4])
async def test_frames_both_ways_and_the_exit_code(proto: str, tmp_path: Path) -> None:
    async def script(ws: web.WebSocketResponse, received: list[protocol.Frame]) -> None:
        await ws.send_bytes(protocol.encode(protocol.STDOUT, b"$ "))
        await read_until_input(ws, received)
        await ws.send_bytes(protocol.encode(protocol.STDOUT, b"hi\r\n"))
        await ws.send_bytes(protocol.encode(protocol.STDERR, b"warn\r\n"))
        await ws.send_bytes(protocol.encode_status(protocol.status_exit(7)))
        await ws.close()

    servers = attach_server(script, (proto,), tmp_path)
    client, received, queries = await anext(servers)
    try:
        stream = await open_attach(client, "ns", "p", "rtui-abcde")
        assert stream.protocol == proto
        await stream.send_resize(81, 25)
        await stream.send_stdin(b"echo hi\r")
        events = [event async for event in stream.events()]
        await stream.close()
    finally:
        await servers.aclose()
    assert queries[0] == {
        "container": "rtui-abcde",
        "stdin": "true",
        "stdout": "true",
        "stderr": "false",
        "tty": "true",
    }
    assert received[0] == protocol.Frame(protocol.RESIZE, b'{"Width":81,"Height":25}')
    assert received[1] == protocol.Frame(protocol.STDIN, b"echo hi\r")
    outputs = b"".join(e.data for e in events if isinstance(e, Output))
    assert outputs == b"$ hi\r\nwarn\r\n"
    last = events[-1]
    assert isinstance(last, Ended) and last.status is not None and last.status.code == 7


async def test_the_v5_close_frame_half_closes_stdin(tmp_path: Path) -> None:
    got = asyncio.Event()

    async def script(ws: web.WebSocketResponse, received: list[protocol.Frame]) -> None:
        async for message in ws:
            frame = protocol.decode(message.data)
            received.append(frame)
            if frame.channel == protocol.CLOSE:
                got.set()
                await ws.close()

    servers = attach_server(script, (protocol.PROTOCOL_V5,), tmp_path)
    client, received, _ = await anext(servers)
    try:
        stream = await open_attach(client, "ns", "p", "c")
        assert await stream.close_stdin()
        await asyncio.wait_for(got.wait(), 10)
        [event async for event in stream.events()]
        await stream.close()
    finally:
        await servers.aclose()
    assert received == [protocol.Frame(protocol.CLOSE, bytes([protocol.STDIN]))]


async def test_a_drop_ends_without_status(tmp_path: Path) -> None:
    async def script(ws: web.WebSocketResponse, received: list[protocol.Frame]) -> None:
        await ws.send_bytes(protocol.encode(protocol.STDOUT, b"partial"))
        assert ws._writer is not None
        ws._writer.transport.abort()  # type: ignore[attr-defined]

    servers = attach_server(script, (protocol.PROTOCOL_V5,), tmp_path)
    client, _, _ = await anext(servers)
    try:
        stream = await open_attach(client, "ns", "p", "c")
        events = [event async for event in stream.events()]
        await stream.close()
        assert not await stream.send_stdin(b"x")
    finally:
        await servers.aclose()
    assert events[0] == Output(b"partial")
    assert events[-1] == Ended(None)


async def test_a_failure_status_has_no_exit_code(tmp_path: Path) -> None:
    async def script(ws: web.WebSocketResponse, received: list[protocol.Frame]) -> None:
        status = protocol.status_failure("container not found", "NotFound")
        await ws.send_bytes(protocol.encode(protocol.ERROR, json.dumps(status).encode()))
        await ws.close()

    servers = attach_server(script, (protocol.PROTOCOL_V4,), tmp_path)
    client, _, _ = await anext(servers)
    try:
        stream = await open_attach(client, "ns", "p", "c")
        events = [event async for event in stream.events()]
        await stream.close()
    finally:
        await servers.aclose()
    last = events[-1]
    assert isinstance(last, Ended) and last.status is not None
    assert last.status.code is None and last.status.message == "container not found"
