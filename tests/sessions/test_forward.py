"""Port forwards against the sandbox: a pod's and a Service's HTTP server reached from a
local port, several connections, the kubelet's error for a closed port, a dropped stream
that ends one connection only, and the one-sentence refusals."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from retina_tui.kube.client import KubeClient
from retina_tui.sandbox import SandboxOptions
from retina_tui.sessions.forward import (
    Forward,
    ForwardError,
    ForwardSpecError,
    ForwardTarget,
    PortPair,
    parse_ports,
    parse_target,
)


@pytest.fixture
def sandbox_options() -> Any:
    return SandboxOptions(nodes=3, pods=5, network="auto", stop_grace=0.0)


async def running(kube: KubeClient, namespace: str, name: str) -> None:
    for _ in range(300):
        pod = await kube.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}")
        if (pod.get("status") or {}).get("phase") == "Running" and all(
            s.get("ready") for s in pod["status"].get("containerStatuses") or [{}]
        ):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{namespace}/{name} never ran")


async def http_get(port: int, path: str = "/") -> bytes:
    """One HTTP/1.0 request on its own connection; the whole answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        await writer.wait_closed()


async def served(port: int) -> None:
    """Wait until the pod's HTTP server listens (its container is ready before it binds)."""
    for _ in range(100):
        if (await http_get(port)).startswith(b"HTTP/1.0 200"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"nothing answered HTTP through port {port}")


async def drop_once_open(sandbox: Any, forward: Forward) -> None:
    """Drop the streams once the connection just made is the only one, with its stream open
    (an earlier connection's stream lingers until the kubelet has closed it)."""
    for _ in range(500):
        if forward.stats.active == forward.stats.streams == 1:
            assert await sandbox.kubelet.drop_streams() == 1
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the stream did not open alone: {forward.stats}")


def test_port_specs_read_like_kubectls() -> None:
    assert parse_ports(["8080", "18080:80", ":9090", "http", "0:http"]) == [
        PortPair(8080, "8080"),
        PortPair(18080, "80"),
        PortPair(0, "9090"),
        PortPair(0, "http"),
        PortPair(0, "http"),
    ]
    assert parse_target("svc/web", "shop") == ForwardTarget("svc", "shop", "web")
    assert parse_target("pods/web", "shop") == ForwardTarget("pod", "shop", "web")
    assert parse_target("web", "shop") == ForwardTarget("pod", "shop", "web")
    for bad in (["70000"], ["a:b:c"], ["8080:"], ["x:80"], []):
        with pytest.raises(ForwardSpecError):
            parse_ports(bad)
    with pytest.raises(ForwardSpecError, match="pod/NAME or svc/NAME"):
        parse_target("deploy/web", "shop")


TRANSPORTS = pytest.mark.parametrize("tunnelled", [True, False], ids=["spdy-tunnel", "v4-channel"])


@TRANSPORTS
async def test_a_pod_port_answers_two_connections_and_counts_them(
    kube: KubeClient, tunnelled: bool
) -> None:
    await running(kube, "shop", "web")
    heard: list[str] = []
    target = ForwardTarget("pod", "shop", "web")
    forward = Forward(kube, target, [PortPair(0, "http")], say=heard.append)
    forward.tunnelled = tunnelled
    async with forward:
        port = forward.listeners[0].local
        assert port > 0
        await served(port)
        heard.clear()
        connections = forward.stats.connections
        first, second = await asyncio.gather(http_get(port), http_get(port, "/missing"))
        assert first.startswith(b"HTTP/1.0 200")
        assert second.startswith(b"HTTP/1.0 404")
        assert forward.stats.connections == connections + 2
        assert forward.stats.bytes_in > len(first) // 2
        assert forward.stats.bytes_out > 0
        assert heard == [f"Handling connection for {port}"] * 2
        assert forward.tunnelled is tunnelled
    with pytest.raises(OSError):
        await http_get(port)


async def test_a_service_port_goes_to_its_target_port_on_a_ready_pod(kube: KubeClient) -> None:
    await running(kube, "shop", "web")
    async with Forward(kube, ForwardTarget("svc", "shop", "web"), [PortPair(0, "80")]) as forward:
        await served(forward.listeners[0].local)
        assert forward.stats.pod == "web"


async def test_a_closed_port_reports_the_kubelets_error_and_the_forward_goes_on(
    kube: KubeClient,
) -> None:
    await running(kube, "shop", "web")
    problems: list[str] = []
    target = ForwardTarget("pod", "shop", "web")
    pairs = [PortPair(0, "8081"), PortPair(0, "8080")]
    async with Forward(kube, target, pairs, on_problem=problems.append) as forward:
        closed, open_ = (listener.local for listener in forward.listeners)
        await served(open_)
        problems.clear()
        errors = forward.stats.errors
        assert await http_get(closed) == b""
        for _ in range(100):
            if problems:
                break
            await asyncio.sleep(0.05)
        assert problems and "8081" in problems[0] and "refused" in problems[0], problems
        assert forward.stats.errors == errors + 1
        assert (await http_get(open_)).startswith(b"HTTP/1.0 200")
        assert forward.stats.last_problem == ""


@TRANSPORTS
async def test_a_dropped_stream_ends_its_connection_and_the_next_one_works(
    kube: KubeClient, api_sandbox: Any, tunnelled: bool
) -> None:
    await running(kube, "shop", "web")
    problems: list[str] = []
    target = ForwardTarget("pod", "shop", "web")
    fw = Forward(kube, target, [PortPair(0, "8080")], on_problem=problems.append)
    fw.tunnelled = tunnelled
    async with fw:
        port = fw.listeners[0].local
        await served(port)
        drops = fw.stats.drops
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await drop_once_open(api_sandbox, fw)
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()
        await writer.wait_closed()
        for _ in range(100):
            if fw.stats.drops > drops:
                break
            await asyncio.sleep(0.05)
        assert fw.stats.drops == drops + 1
        assert "new stream" in problems[-1]
        assert (await http_get(port)).startswith(b"HTTP/1.0 200")
        assert fw.tunnelled is tunnelled


async def test_what_cannot_be_forwarded_is_said_in_one_sentence(kube: KubeClient) -> None:
    await running(kube, "shop", "web")
    cases = [
        (ForwardTarget("pod", "shop", "nope"), "8080", "pod/nope was not found in namespace shop"),
        (ForwardTarget("svc", "shop", "web"), "81", "svc/web has no port 81 (its ports: 80, http)"),
        (ForwardTarget("pod", "shop", "web"), "grpc", "has no port named 'grpc'"),
    ]
    for target, remote, words in cases:
        with pytest.raises(ForwardError, match=words.replace("(", r"\(").replace(")", r"\)")):
            await Forward(kube, target, [PortPair(0, remote)]).start()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        forward = Forward(kube, ForwardTarget("pod", "shop", "web"), [PortPair(busy, "8080")])
        with pytest.raises(ForwardError, match=f"Cannot listen on 127.0.0.1:{busy}"):
            await forward.start()
        assert forward.listeners == []


async def test_without_the_tunnel_each_connection_opens_its_own_stream(
    api_sandbox: Any, kube: KubeClient
) -> None:
    """A cluster before Kubernetes 1.30 refuses the SPDY tunnel: the forward falls back."""
    api_sandbox.kubelet.tunnel = False
    await running(kube, "shop", "web")
    forward = Forward(kube, ForwardTarget("pod", "shop", "web"), [PortPair(0, "8080")])
    async with forward:
        assert forward.tunnelled
        await served(forward.listeners[0].local)
        assert not forward.tunnelled
        assert (await http_get(forward.listeners[0].local)).startswith(b"HTTP/1.0 200")
