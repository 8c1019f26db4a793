"""Attaching to containers through the kubelet: terminals, resizes, detaching, dropped streams."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from retina_tui.sandbox import SandboxOptions
from retina_tui.sessions import protocol
from tests.sandbox.apiclient import pod_body
from tests.sandbox.kubelet_support import (
    WAIT,
    client_ssl,
    container_state,
    open_stream,
    wait_pod,
)

PODS = "/api/v1/namespaces/default/pods"
TTY = [("stdin", "true"), ("stdout", "true"), ("tty", "true")]


@pytest.fixture
def sandbox_options() -> Any:
    return SandboxOptions(nodes=2, pods=3, network="host", kubelet=True, start_delay=0.1)


async def read_until(ws: aiohttp.ClientWebSocketResponse, marker: bytes) -> bytes:
    seen = b""
    async with asyncio.timeout(WAIT):
        while marker not in seen:
            message = await ws.receive()
            assert message.type == aiohttp.WSMsgType.BINARY, message
            frame = protocol.decode(message.data)
            assert frame.channel != protocol.ERROR, frame.data
            seen += frame.data
    return seen


async def send(ws: aiohttp.ClientWebSocketResponse, text: str) -> None:
    await ws.send_bytes(protocol.encode(protocol.STDIN, text.encode()))


async def start_tty_pod(api_sandbox: Any, admin_api: Any, name: str) -> None:
    body = pod_body(name)
    body["spec"]["containers"][0].update(stdin=True, tty=True)
    assert (await admin_api.post(PODS, body)).status == 201
    await wait_pod(
        api_sandbox.store, "default", name, lambda p: container_state(p, "main") == "running"
    )


async def test_tty_attach_resize_and_detach(api_sandbox: Any, admin_api: Any) -> None:
    await start_tty_pod(api_sandbox, admin_api, "term")
    async with aiohttp.ClientSession() as session:
        ws = await open_stream(api_sandbox, "default", "term", "attach", TTY, session)
        assert ws.protocol == protocol.PROTOCOL_V5
        await ws.send_bytes(protocol.encode_resize(132, 43))
        await send(ws, "stty size; echo TERM=$TERM\r")
        seen = await read_until(ws, b"TERM=xterm\r\n")
        assert b"43 132\r\n" in seen
        await ws.close()

        ws = await open_stream(api_sandbox, "default", "term", "attach", TTY, session)
        await send(ws, "echo again-$((6*7))\r")
        await read_until(ws, b"again-42")
        await send(ws, "exit 9\r")
        status = None
        async with asyncio.timeout(WAIT):
            async for message in ws:
                frame = protocol.decode(message.data)
                if frame.channel == protocol.ERROR:
                    status = protocol.parse_status(frame.data)
        # As the kubelet's ServeAttach: Success whatever the exit code; the pod has the code.
        assert status is not None and status.success, status
    pod = await wait_pod(
        api_sandbox.store, "default", "term", lambda p: container_state(p, "main") != "running"
    )
    assert pod is not None
    assert pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 9


async def test_dropped_streams_leave_the_shell_running(api_sandbox: Any, admin_api: Any) -> None:
    await start_tty_pod(api_sandbox, admin_api, "survivor")
    async with aiohttp.ClientSession() as session:
        one = await open_stream(api_sandbox, "default", "survivor", "attach", TTY, session)
        two = await open_stream(api_sandbox, "default", "survivor", "attach", TTY, session)
        await send(one, "export MARK=kept\r")
        await send(two, "echo from-two\r")
        await read_until(one, b"from-two\r\n")
        await read_until(two, b"from-two\r\n")

        assert await api_sandbox.kubelet.drop_streams() == 2
        for ws in (one, two):
            async with asyncio.timeout(WAIT):
                while not ws.closed:
                    await ws.receive()
        pod = api_sandbox.store.get("pods", "default", "survivor")
        assert container_state(pod, "main") == "running"

        again = await open_stream(api_sandbox, "default", "survivor", "attach", TTY, session)
        await send(again, "echo mark=$MARK\r")
        await read_until(again, b"mark=kept\r\n")
        await again.close()


async def test_attach_to_a_synthetic_pod_starts_its_container(api_sandbox: Any) -> None:
    params = [("stdin", "true"), ("stdout", "true"), ("stderr", "true")]
    async with aiohttp.ClientSession() as session:
        ws = await open_stream(api_sandbox, "default", "load-0002", "attach", params, session)
        await send(ws, "echo woke-$HOSTNAME\n")
        seen = await read_until(ws, b"woke-load-0002\n")
        await ws.close()
    assert seen.endswith(b"woke-load-0002\n")
    async with aiohttp.ClientSession() as session:
        logs = await session.get(
            f"{api_sandbox.url}/api/v1/namespaces/default/pods/load-0002/log",
            headers={"Authorization": f"Bearer {api_sandbox.admin_token}"},
            ssl=client_ssl(api_sandbox.ca_pem),
        )
        assert "woke-load-0002" in await logs.text()


async def test_stdin_once_ends_when_the_first_client_leaves(
    api_sandbox: Any, admin_api: Any
) -> None:
    body = pod_body("once", restartPolicy="Never")
    body["spec"]["containers"][0].update(stdin=True, stdinOnce=True)
    assert (await admin_api.post(PODS, body)).status == 201
    await wait_pod(
        api_sandbox.store, "default", "once", lambda p: container_state(p, "main") == "running"
    )
    params = [("stdin", "true"), ("stdout", "true"), ("stderr", "true")]
    async with aiohttp.ClientSession() as session:
        ws = await open_stream(api_sandbox, "default", "once", "attach", params, session)
        await send(ws, "echo only-once\n")
        await read_until(ws, b"only-once\n")
        await ws.close()
    pod = await wait_pod(
        api_sandbox.store, "default", "once", lambda p: p["status"]["phase"] == "Succeeded"
    )
    assert container_state(pod, "main") == "terminated:Completed"
