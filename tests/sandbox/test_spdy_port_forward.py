"""Port forwarding over SPDY/3.1 frame by frame, through the WebSocket tunnel kubectl uses."""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from retina_tui.sessions import spdy
from tests.sandbox.kubelet_support import HTTP_8080, LISTENING_8080, serving_pod

WAIT = 30.0
REQUEST = b"GET / HTTP/1.0\r\n\r\n"


@pytest.fixture(scope="module")
def web(sandbox_cluster: Any) -> Iterator[str]:
    """A pod of this module's own serving HTTP on 8080."""
    with serving_pod(sandbox_cluster, "spdy", HTTP_8080, LISTENING_8080) as name:
        yield name


class Tunnel:
    """A SPDY client (as kubectl's) over the port-forward WebSocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.writer = spdy.FrameWriter()
        self.reader = spdy.FrameReader()
        self.pending: list[spdy.Frame] = []

    async def send(self, frame: bytes) -> None:
        await self.ws.send_bytes(frame)

    async def open(self, stream_id: int, port: int, kind: str, request_id: str | None) -> None:
        headers = {"streamtype": [kind], "port": [str(port)]}
        if request_id is not None:
            headers["requestid"] = [request_id]
        await self.send(self.writer.syn_stream(stream_id, headers))

    async def frame(self) -> spdy.Frame | None:
        """The next frame, None once the server closed the WebSocket."""
        while not self.pending:
            message = await self.ws.receive(timeout=WAIT)
            if message.type != aiohttp.WSMsgType.BINARY:
                return None
            self.pending += self.reader.feed(message.data)
        return self.pending.pop(0)

    async def collect(self, streams: set[int]) -> dict[int, bytes]:
        """Data of `streams` until each has ended (FIN), checking each got its SYN_REPLY."""
        data = {sid: b"" for sid in streams}
        replied, ended = set(), set()
        while ended != streams:
            frame = await self.frame()
            assert frame is not None, (replied, ended, data)
            if isinstance(frame, spdy.DataFrame):
                assert frame.stream_id in replied
                data[frame.stream_id] += frame.data
                if frame.fin:
                    ended.add(frame.stream_id)
            elif frame.kind == spdy.SYN_REPLY:
                replied.add(frame.stream_id)
        return data


def _ssl(cluster: Any) -> ssl.SSLContext:
    ca = base64.b64decode(cluster.config["clusters"][0]["cluster"]["certificate-authority-data"])
    return ssl.create_default_context(cadata=ca.decode())


@pytest.fixture
async def tunnel(sandbox_cluster: Any, web: str) -> AsyncIterator[Tunnel]:
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(
            f"{sandbox_cluster.url}/api/v1/namespaces/default/pods/{web}/portforward",
            protocols=("SPDY/3.1+portforward.k8s.io",),
            headers={"Authorization": f"Bearer {sandbox_cluster.token()}"},
            ssl=_ssl(sandbox_cluster),
        )
        assert ws.protocol == "SPDY/3.1+portforward.k8s.io"
        yield Tunnel(ws)
        await ws.close()


async def test_two_connections_at_once_each_get_their_answer(tunnel: Tunnel) -> None:
    for request_id, first in (("0", 1), ("1", 5)):
        await tunnel.open(first, 8080, "error", request_id)
        await tunnel.send(spdy.FrameWriter.data(first, b"", fin=True))
        await tunnel.open(first + 2, 8080, "data", request_id)
    await tunnel.send(spdy.FrameWriter.data(3, REQUEST, fin=True))
    await tunnel.send(spdy.FrameWriter.data(7, REQUEST, fin=True))
    data = await tunnel.collect({1, 3, 5, 7})
    assert data[1] == data[5] == b""  # no error
    for answer in (data[3], data[7]):
        assert answer.startswith(b"HTTP/1.0 200 OK\r\n"), answer[:200]


async def test_streams_pair_by_id_without_a_request_id(tunnel: Tunnel) -> None:
    await tunnel.open(1, 8080, "error", None)
    await tunnel.open(3, 8080, "data", None)
    await tunnel.send(spdy.FrameWriter.data(3, REQUEST, fin=True))
    data = await tunnel.collect({1, 3})
    assert data[3].startswith(b"HTTP/1.0 200 OK\r\n")


async def test_pings_are_answered(tunnel: Tunnel) -> None:
    await tunnel.send(tunnel.writer.ping(7))
    frame = await tunnel.frame()
    assert isinstance(frame, spdy.ControlFrame)
    assert (frame.kind, frame.value) == (spdy.PING, 7)


@pytest.mark.parametrize(
    "headers",
    [
        {"streamtype": ["data"], "requestid": ["0"]},
        {"streamtype": ["data"], "port": ["0"], "requestid": ["0"]},
        {"streamtype": ["data"], "port": ["http"], "requestid": ["0"]},
        {"streamtype": ["other"], "port": ["8080"], "requestid": ["0"]},
        {"port": ["8080"], "requestid": ["0"]},
    ],
)
async def test_a_stream_with_bad_headers_is_reset(
    tunnel: Tunnel, headers: dict[str, list[str]]
) -> None:
    await tunnel.send(tunnel.writer.syn_stream(1, headers))
    frame = await tunnel.frame()
    assert isinstance(frame, spdy.ControlFrame)
    assert (frame.kind, frame.stream_id, frame.value) == (spdy.RST_STREAM, 1, spdy.RST_CANCEL)
    await tunnel.send(tunnel.writer.ping(9))  # the session goes on
    frame = await tunnel.frame()
    assert isinstance(frame, spdy.ControlFrame) and frame.kind == spdy.PING


async def test_a_second_data_stream_for_a_request_is_an_error(tunnel: Tunnel) -> None:
    await tunnel.open(1, 8080, "error", "0")
    await tunnel.open(3, 8080, "data", "0")
    await tunnel.open(5, 8080, "data", "0")
    while (frame := await tunnel.frame()) is not None:
        if isinstance(frame, spdy.DataFrame) and frame.stream_id == 1:
            assert (
                frame.data == b"error processing stream for request 0: data stream already assigned"
            )
            break


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x80\x02\x00\x01\x00\x00\x00\x00",  # SPDY/2
        b"\x80\x03\x00\x63\x00\x00\x00\x00",  # no such control frame
        b"\x80\x03\x00\x01\x00\x00\x00\x0c" + b"\x00" * 10 + b"\xff\xff",  # not zlib
    ],
)
async def test_garbage_ends_the_session_with_goaway(tunnel: Tunnel, garbage: bytes) -> None:
    await tunnel.send(garbage)
    frame = await tunnel.frame()
    assert isinstance(frame, spdy.ControlFrame)
    assert (frame.kind, frame.value) == (spdy.GOAWAY, spdy.GOAWAY_PROTOCOL_ERROR)
    async with asyncio.timeout(WAIT):
        assert await tunnel.frame() is None


@pytest.mark.parametrize(
    ("headers", "code", "message"),
    [
        ({}, 400, "unable to upgrade: X-Stream-Protocol-Version is required"),
        (
            {"X-Stream-Protocol-Version": "v9.portforward.k8s.io"},
            403,
            "unable to upgrade: unable to negotiate protocol: client supports "
            "[v9.portforward.k8s.io], server accepts [portforward.k8s.io]",
        ),
    ],
)
async def test_spdy_upgrade_checks_the_protocol_version(
    sandbox_cluster: Any, web: str, headers: dict[str, str], code: int, message: str
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{sandbox_cluster.url}/api/v1/namespaces/default/pods/{web}/portforward",
            headers={
                "Authorization": f"Bearer {sandbox_cluster.token()}",
                "Connection": "Upgrade",
                "Upgrade": "SPDY/3.1",
                **headers,
            },
            ssl=_ssl(sandbox_cluster),
        ) as answer,
    ):
        status = await answer.json()
    assert answer.status == code
    assert status["message"] == message
