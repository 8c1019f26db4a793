"""Cluster DNS in netns mode: real dig and getent from pods against the kube-dns pod."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import dns.message
import dns.rrset
import pytest

from retina_tui.sandbox import SandboxOptions
from tests.fixtures_sandbox import kubectl_path
from tests.sandbox.apiclient import Api, pod_body
from tests.sandbox.kubelet_support import wait_pod

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("dig") is None,
        reason="needs root, iproute2 and dig",
    ),
]
HOST_RESOLV = Path("/etc/resolv.conf")
WEB_IP = "10.96.20.30"
DEADLINE = 60.0


class Upstream(asyncio.DatagramProtocol):
    """A stub upstream server: example.test A 192.0.2.7; never answers silent.test."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, int]) -> None:
        query = dns.message.from_wire(data)
        name = query.question[0].name.to_text()
        if name == "silent.test.":
            return
        response = dns.message.make_response(query)
        response.answer.append(dns.rrset.from_text(name, 60, "IN", "A", "192.0.2.7"))
        self.transport.sendto(response.to_wire(), addr)


@pytest.fixture
def upstream_socket() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock
    finally:
        sock.close()


@pytest.fixture
def sandbox_options(upstream_socket: socket.socket) -> Any:
    port = upstream_socket.getsockname()[1]
    return SandboxOptions(nodes=2, pods=0, network="netns", dns_upstream=[f"127.0.0.1:{port}"])


@pytest.fixture(autouse=True)
def host_resolv_conf_unchanged() -> Iterator[None]:
    before = HOST_RESOLV.read_bytes(), HOST_RESOLV.stat().st_mtime_ns
    yield
    assert (HOST_RESOLV.read_bytes(), HOST_RESOLV.stat().st_mtime_ns) == before


async def serving(sandbox: Any, other_than: str | None = None) -> str:
    """The DNS pod's IP once cluster DNS serves it (and it is not `other_than`'s namespace)."""
    async with asyncio.timeout(DEADLINE):
        while True:
            current = sandbox.dns.serving
            if current is not None and current[0] != other_than:
                return str(current[1])
            await asyncio.sleep(0.05)


async def run(*argv: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    return out.decode()


def words(text: str) -> list[str]:
    """The lines of dig's output with their whitespace normalised, comments left out."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return [line for line in lines if line and not line.startswith(";")]


def client(sandbox: Any) -> list[str]:
    pod = sandbox.store.get("pods", "shop", "client")
    meta = pod["metadata"]
    key = f"shop/client/{meta['uid']}"
    return sandbox.network.exec_prefix(pod["spec"]["nodeName"], key)


async def dig(sandbox: Any, server: str, *args: str) -> str:
    return await run(*client(sandbox), "dig", "+time=4", "+tries=1", f"@{server}", *args)


def service(name: str, cluster_ip: str, ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"clusterIP": cluster_ip, "clusterIPs": [cluster_ip], "ports": ports},
    }


def endpoint_slice(name: str, service_name: str, endpoints: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": endpoints,
    }


def put(store: Any, resource: str, obj: dict[str, Any]) -> None:
    meta = obj["metadata"]
    if store.get(resource, meta["namespace"], meta["name"]) is None:
        store.create(resource, obj)
    else:
        store.replace(resource, obj)


async def wait_running(sandbox: Any, namespace: str, name: str) -> dict[str, Any]:
    pod = await wait_pod(
        sandbox.store,
        namespace,
        name,
        lambda p: p is not None and (p.get("status") or {}).get("phase") == "Running",
    )
    assert pod is not None
    return pod


async def objects(sandbox: Any) -> str:
    """Create the Services and slices the tests query; returns the web pod's IP."""
    web = await wait_running(sandbox, "shop", "web")
    await wait_running(sandbox, "shop", "client")
    web_ip = web["status"]["podIP"]
    store = sandbox.store
    put(
        store, "services", service("web", WEB_IP, [{"name": "http", "port": 80, "protocol": "TCP"}])
    )
    store.create("services", service("cache", "None", [{"name": "http", "port": 8080}]))
    ready = {"addresses": [web_ip], "conditions": {"ready": True}}
    named = {"addresses": ["10.244.1.60"], "hostname": "cache-0", "conditions": {"ready": True}}
    not_ready = {"addresses": ["10.244.1.61"], "conditions": {"ready": False}}
    store.create("endpointslices", endpoint_slice("cache-abc", "cache", [ready, named, not_ready]))
    store.create("services", service("many", "None", [{"name": "http", "port": 8080}]))
    crowd = [{"addresses": [f"10.244.9.{i}"]} for i in range(1, 121)]
    store.create("endpointslices", endpoint_slice("many-abc", "many", crowd))
    await sandbox.dns.wait_applied(store.resource_version)
    return str(web_ip)


async def test_pods_on_another_node_resolve_services_pods_and_outside_names(
    api_sandbox: Any, upstream_socket: socket.socket
) -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(Upstream, sock=upstream_socket)
    try:
        server = await serving(api_sandbox)
        dns_pod = next(iter(api_sandbox.store.list("pods", "kube-system")))
        assert (
            dns_pod["spec"]["nodeName"]
            != api_sandbox.store.get("pods", "shop", "client")["spec"]["nodeName"]
        )
        web_ip = await objects(api_sandbox)
        dashed = web_ip.replace(".", "-")

        assert await dig(api_sandbox, server, "+short", "web.shop.svc.cluster.local") == (
            f"{WEB_IP}\n"
        )
        headless = await dig(api_sandbox, server, "+short", "cache.shop.svc.cluster.local")
        assert sorted(headless.split()) == sorted([web_ip, "10.244.1.60"])
        assert await dig(api_sandbox, server, "+short", "cache-0.cache.shop.svc.cluster.local") == (
            "10.244.1.60\n"
        )
        aaaa = await dig(api_sandbox, server, "web.shop.svc.cluster.local", "AAAA")
        assert "status: NOERROR" in aaaa and "ANSWER: 0" in aaaa

        srv = await dig(
            api_sandbox, server, "+noall", "+answer", "+additional",
            "_http._tcp.web.shop.svc.cluster.local", "SRV",
        )  # fmt: skip
        assert words(srv) == [
            "_http._tcp.web.shop.svc.cluster.local. 30 IN SRV 0 100 80 web.shop.svc.cluster.local.",
            f"web.shop.svc.cluster.local. 30 IN A {WEB_IP}",
        ]
        srv = await dig(
            api_sandbox, server, "+short", "_http._tcp.cache.shop.svc.cluster.local", "SRV"
        )
        assert sorted(srv.splitlines()) == sorted(
            [
                f"0 50 8080 {dashed}.cache.shop.svc.cluster.local.",
                "0 50 8080 cache-0.cache.shop.svc.cluster.local.",
            ]
        )

        pod = await dig(api_sandbox, server, "+short", "10-244-0-7.shop.pod.cluster.local")
        assert pod == "10.244.0.7\n"
        assert await dig(api_sandbox, server, "+short", "-x", WEB_IP) == (
            "web.shop.svc.cluster.local.\n"
        )
        assert await dig(api_sandbox, server, "+short", "-x", web_ip) == (
            f"{dashed}.cache.shop.svc.cluster.local.\n"
        )

        missing = await dig(api_sandbox, server, "nope.shop.svc.cluster.local")
        assert "status: NXDOMAIN" in missing
        soa = "cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local."
        assert any(line.startswith(soa) for line in words(missing))

        big = await dig(api_sandbox, server, "+notcp", "+ignore", "many.shop.svc.cluster.local")
        assert " tc" in big.split("flags:")[1].split(";")[0]
        over_tcp = await dig(api_sandbox, server, "+tcp", "+short", "many.shop.svc.cluster.local")
        assert len(over_tcp.split()) == 120
        tcp = await dig(api_sandbox, server, "+tcp", "+short", "web.shop.svc.cluster.local")
        assert tcp == f"{WEB_IP}\n"

        assert await dig(api_sandbox, server, "+short", "example.test") == "192.0.2.7\n"
        silent = await dig(api_sandbox, server, "silent.test")
        assert "status: SERVFAIL" in silent

        store = api_sandbox.store
        store.mutate("services", "shop", "web", lambda s: s["spec"].update(clusterIP="10.96.20.31"))
        await api_sandbox.dns.wait_applied(store.resource_version)
        assert await dig(api_sandbox, server, "+short", "web.shop.svc.cluster.local") == (
            "10.96.20.31\n"
        )
    finally:
        transport.close()


async def kubectl(sandbox: Any, *args: str) -> str:
    return await run(kubectl_path(), "--kubeconfig", str(sandbox.kubeconfig_path), *args)


async def test_pods_get_the_resolv_conf_of_their_dns_policy(api_sandbox: Any) -> None:
    server = await serving(api_sandbox)
    await objects(api_sandbox)
    api = Api(api_sandbox.url, api_sandbox.admin_token, api_sandbox.ca_pem)
    try:
        sleeper = {"name": "main", "image": "busybox:1.36", "command": ["sleep", "infinity"]}
        custom = {
            "nameservers": [server],
            "searches": ["shop.svc.cluster.local", "svc.cluster.local"],
            "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
        }
        pods = {
            "plain": {},
            "hostnet": {"hostNetwork": True},
            "withhostnet": {"hostNetwork": True, "dnsPolicy": "ClusterFirstWithHostNet"},
            "custom": {"dnsPolicy": "None", "dnsConfig": custom},
        }
        for name, spec in pods.items():
            body = pod_body(name, **spec)
            body["spec"]["containers"] = [sleeper]
            answer = await api.post("/api/v1/namespaces/shop/pods", body)
            assert answer.status == 201, answer.text
        for name in pods:
            await wait_running(api_sandbox, "shop", name)
    finally:
        await api.close()

    cluster = (
        "search shop.svc.cluster.local svc.cluster.local cluster.local\n"
        "nameserver 10.96.0.10\noptions ndots:5\n"
    )
    assert (
        await kubectl(api_sandbox, "exec", "-n", "shop", "plain", "--", "cat", "/etc/resolv.conf")
        == cluster
    )
    assert (
        await kubectl(
            api_sandbox, "exec", "-n", "shop", "withhostnet", "--", "cat", "/etc/resolv.conf"
        )
        == cluster
    )
    host = await kubectl(
        api_sandbox, "exec", "-n", "shop", "hostnet", "--", "cat", "/etc/resolv.conf"
    )
    host_file = await asyncio.to_thread(HOST_RESOLV.read_text)
    servers = [ln for ln in host_file.splitlines() if ln.startswith("nameserver")]
    assert [ln for ln in host.splitlines() if ln.startswith("nameserver")] == servers
    assert "cluster.local" not in host
    assert await kubectl(
        api_sandbox, "exec", "-n", "shop", "custom", "--", "cat", "/etc/resolv.conf"
    ) == (
        f"search shop.svc.cluster.local svc.cluster.local\nnameserver {server}\n"
        "options ndots:2 edns0\n"
    )

    short = await kubectl(
        api_sandbox, "exec", "-n", "shop", "custom", "--", "getent", "hosts", "web"
    )
    assert short.split() == [WEB_IP, "web.shop.svc.cluster.local"]
    # An ephemeral container gets the pod's resolv.conf too.
    await kubectl(
        api_sandbox, "debug", "-n", "shop", "plain", "--image=busybox:1.36", "-c", "dbg",
        "--attach=false", "--", "sleep", "infinity",
    )  # fmt: skip
    await wait_pod(
        api_sandbox.store,
        "shop",
        "plain",
        lambda p: any(
            "running" in (c.get("state") or {})
            for c in (p or {}).get("status", {}).get("ephemeralContainerStatuses", [])
        ),
    )
    ephemeral = await kubectl(
        api_sandbox, "exec", "-n", "shop", "plain", "-c", "dbg", "--", "cat", "/etc/resolv.conf"
    )
    assert ephemeral == cluster
    full = await kubectl(
        api_sandbox,
        "exec",
        "-n",
        "shop",
        "custom",
        "--",
        "getent",
        "hosts",
        "cache-0.cache.shop.svc.cluster.local",
    )
    assert full.split() == ["10.244.1.60", "cache-0.cache.shop.svc.cluster.local"]


async def test_cluster_dns_follows_a_recreated_dns_pod(api_sandbox: Any) -> None:
    await serving(api_sandbox)
    netns = api_sandbox.dns.serving[0]
    await objects(api_sandbox)
    old = next(iter(api_sandbox.store.list("pods", "kube-system")))
    out = await kubectl(
        api_sandbox,
        "delete",
        "pod",
        "-n",
        "kube-system",
        old["metadata"]["name"],
        "--grace-period=1",
        "--wait=true",
    )
    assert "deleted" in out
    api = Api(api_sandbox.url, api_sandbox.admin_token, api_sandbox.ca_pem)
    try:
        body = pod_body("coredns-again")
        body["metadata"]["labels"] = {"k8s-app": "kube-dns"}
        body["spec"]["containers"] = [
            {
                "name": "coredns",
                "image": "registry.k8s.io/coredns/coredns:v1.12.0",
                "command": ["sleep", "infinity"],
            }
        ]
        answer = await api.post("/api/v1/namespaces/kube-system/pods", body)
        assert answer.status == 201, answer.text
    finally:
        await api.close()
    second = await serving(api_sandbox, other_than=netns)
    assert await dig(api_sandbox, second, "+short", "web.shop.svc.cluster.local") == f"{WEB_IP}\n"
