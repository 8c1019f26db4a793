"""Port forwarding with the official Python client and with the raw WebSocket channel protocol."""

from __future__ import annotations

import asyncio
import base64
import secrets
import signal
import socket
import ssl
import struct
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from kubernetes import client, config
from kubernetes.stream import portforward

from tests.sandbox.kubelet_support import (
    HTTP_8080,
    LISTENING_8080,
    client_ssl,
    container_state,
    serving_pod,
    wait_pod,
)

WAIT = 30.0
CLOSED_PORT = 7777
REQUEST = b"GET / HTTP/1.0\r\n\r\n"


@pytest.fixture(scope="module")
def web(sandbox_cluster: Any) -> Iterator[str]:
    """A pod of this module's own serving HTTP on 8080."""
    with serving_pod(sandbox_cluster, "pypf", HTTP_8080, LISTENING_8080) as name:
        yield name


def test_the_official_client_forwards_to_the_pod(sandbox_cluster: Any, web: str) -> None:
    api = client.CoreV1Api(
        config.new_client_from_config(config_file=str(sandbox_cluster.kubeconfig))
    )
    forwarded = portforward(
        api.connect_get_namespaced_pod_portforward, web, "default", ports="8080"
    )
    sock = forwarded.socket(8080)
    sock.settimeout(WAIT)
    sock.sendall(REQUEST)
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    sock.close()
    assert answer.startswith(b"HTTP/1.0 200 OK\r\n"), answer[:200]
    assert b"Directory listing for /" in answer
    assert forwarded.error(8080) is None


def _ssl(cluster: Any) -> ssl.SSLContext:
    ca = base64.b64decode(cluster.config["clusters"][0]["cluster"]["certificate-authority-data"])
    return ssl.create_default_context(cadata=ca.decode())


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


async def _connect(
    cluster: Any, session: aiohttp.ClientSession, pod: str, ports: list[int]
) -> aiohttp.ClientWebSocketResponse:
    return await session.ws_connect(
        f"{cluster.url}/api/v1/namespaces/default/pods/{pod}/portforward",
        params=[("ports", str(port)) for port in ports],
        protocols=("v4.channel.k8s.io",),
        headers={"Authorization": f"Bearer {cluster.token()}"},
        ssl=_ssl(cluster),
    )


async def _next_binary(ws: aiohttp.ClientWebSocketResponse) -> bytes:
    message = await ws.receive(timeout=WAIT)
    assert message.type == aiohttp.WSMsgType.BINARY, message
    data: bytes = message.data
    return data


async def test_channels_start_with_the_port_and_a_closed_port_errors(
    sandbox_cluster: Any, web: str, session: aiohttp.ClientSession
) -> None:
    ws = await _connect(sandbox_cluster, session, web, [8080, CLOSED_PORT])
    assert ws.protocol == "v4.channel.k8s.io"
    prefixes = [await _next_binary(ws) for _ in range(4)]
    assert prefixes == [
        b"\x00" + struct.pack("<H", 8080),
        b"\x01" + struct.pack("<H", 8080),
        b"\x02" + struct.pack("<H", CLOSED_PORT),
        b"\x03" + struct.pack("<H", CLOSED_PORT),
    ]
    await ws.send_bytes(b"\x00" + REQUEST)
    data, errors = b"", b""
    async with asyncio.timeout(WAIT):
        async for message in ws:
            assert message.type == aiohttp.WSMsgType.BINARY, message
            channel, payload = message.data[0], message.data[1:]
            assert channel in (0, 3), message.data[:100]
            if channel == 0:
                data += payload
            else:
                errors += payload
    assert ws.close_code == 1000  # every connection ended: the kubelet closes the socket
    assert data.startswith(b"HTTP/1.0 200 OK\r\n"), data[:200]
    text = errors.decode()
    assert text.startswith(f"error forwarding port {CLOSED_PORT} to pod "), text
    assert (
        f"failed to connect to localhost:{CLOSED_PORT} inside namespace" in text
        and f"dial tcp4 127.0.0.1:{CLOSED_PORT}: connect: connection refused" in text
    ), text


async def test_the_ports_query_is_required(
    sandbox_cluster: Any, session: aiohttp.ClientSession, web: str
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        await _connect(sandbox_cluster, session, web, [])
    assert raised.value.status == 400


async def test_portforward_of_a_missing_pod_is_404(
    sandbox_cluster: Any, session: aiohttp.ClientSession
) -> None:
    async with session.get(
        f"{sandbox_cluster.url}/api/v1/namespaces/default/pods/no-such-pod/portforward",
        params={"ports": "80"},
        headers={"Authorization": f"Bearer {sandbox_cluster.token()}"},
        ssl=_ssl(sandbox_cluster),
    ) as answer:
        status = await answer.json()
    assert answer.status == 404
    assert status["reason"] == "NotFound"
    assert status["message"] == 'pods "no-such-pod" not found'


async def test_sigusr1_drops_an_open_forward(
    sandbox_cluster: Any, web: str, session: aiohttp.ClientSession
) -> None:
    ws = await _connect(sandbox_cluster, session, web, [8080])
    assert await _next_binary(ws) == b"\x00" + struct.pack("<H", 8080)
    assert await _next_binary(ws) == b"\x01" + struct.pack("<H", 8080)
    sandbox_cluster.process.send_signal(signal.SIGUSR1)
    message = await ws.receive(timeout=WAIT)
    assert message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR), message
    assert ws.close_code != 1000
    again = await _connect(sandbox_cluster, session, web, [8080])  # the pod still serves
    assert len([await _next_binary(again) for _ in range(2)]) == 2
    await again.send_bytes(b"\x00" + REQUEST)
    first = await _next_binary(again)
    assert first.startswith(b"\x00HTTP/1.0 200 OK"), first[:100]
    await again.close()


async def test_a_pod_that_is_not_running_cannot_be_forwarded_to(
    sandbox_cluster: Any, session: aiohttp.ClientSession
) -> None:
    name = f"pydone-{secrets.token_hex(3)}"
    made = sandbox_cluster.kubectl(
        "run", name, "--image=busybox:1.36", "--restart=Never", "--", "true"
    )
    assert made.returncode == 0, made.stderr
    try:
        done = sandbox_cluster.kubectl(
            "wait", "--for=jsonpath={.status.phase}=Succeeded", f"pod/{name}", "--timeout=60s"
        )
        assert done.returncode == 0, done.stderr
        with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
            await _connect(sandbox_cluster, session, name, [8080])
        assert raised.value.status == 400
        refused = sandbox_cluster.kubectl("port-forward", f"pod/{name}", "18080:8080")
        assert refused.returncode == 1
        assert "unable to forward port because pod is not running" in refused.stderr
        async with session.get(
            f"{sandbox_cluster.url}/api/v1/namespaces/default/pods/{name}/portforward",
            params={"ports": "8080"},
            headers={"Authorization": f"Bearer {sandbox_cluster.token()}"},
            ssl=_ssl(sandbox_cluster),
        ) as answer:
            status = await answer.json()
        assert (answer.status, status["reason"]) == (400, "BadRequest")
        assert (
            status["message"] == f'unable to upgrade connection: pod not found ("{name}_default")'
        )
    finally:
        sandbox_cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")


async def test_an_unknown_subprotocol_is_refused(
    sandbox_cluster: Any, web: str, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        await session.ws_connect(
            f"{sandbox_cluster.url}/api/v1/namespaces/default/pods/{web}/portforward",
            params={"ports": "8080"},
            protocols=("v9.channel.k8s.io",),
            headers={"Authorization": f"Bearer {sandbox_cluster.token()}"},
            ssl=_ssl(sandbox_cluster),
        )
    assert raised.value.status == 403


async def test_in_host_network_mode_the_pod_shares_the_machines_localhost(
    api_sandbox: Any, admin_api: Any
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve = ["python3", "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    pod = {"name": "web", "image": "python:3.12-slim", "command": serve}
    made = await admin_api.post(
        "/api/v1/namespaces/default/pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "hostweb"},
            "spec": {"containers": [pod]},
        },
    )
    assert made.status == 201, made.text
    await wait_pod(
        api_sandbox.store, "default", "hostweb", lambda p: container_state(p, "web") == "running"
    )
    async with aiohttp.ClientSession() as session:
        deadline = time.monotonic() + WAIT
        while True:  # until the server listens: each attempt is a fresh forward
            ws = await session.ws_connect(
                f"{api_sandbox.url}/api/v1/namespaces/default/pods/hostweb/portforward",
                params=[("ports", str(port))],
                protocols=("v4.channel.k8s.io",),
                headers={"Authorization": f"Bearer {api_sandbox.admin_token}"},
                ssl=client_ssl(api_sandbox.ca_pem),
            )
            assert len([await _next_binary(ws) for _ in range(2)]) == 2
            await ws.send_bytes(b"\x00" + REQUEST)
            first = await _next_binary(ws)
            await ws.close()
            if first[0] == 0:
                break
            assert b'network namespace "host"' in first, first
            assert time.monotonic() < deadline, first
            await asyncio.sleep(0.1)
    assert first.startswith(b"\x00HTTP/1.0 200 OK"), first[:100]


def test_the_restricted_user_may_not_forward(sandbox_cluster: Any, web: str) -> None:
    refused = sandbox_cluster.kubectl(
        "port-forward", f"pod/{web}", "18080:8080", context="restricted", timeout=WAIT
    )
    assert refused.returncode == 1
    assert 'cannot create resource "pods/portforward"' in refused.stderr, refused.stderr
