"""Cluster DNS: a real DNS server on the kube-dns pod's address, answering as CoreDNS would.

The seeded `kube-system/coredns-*` pod runs `sleep infinity`; the DNS server itself runs in
the sandbox process, on UDP and TCP sockets created inside that pod's network namespace
(so the pod's IP answers from every pod, on any node, and 10.96.0.10 reaches it through
kube-proxy). It answers cluster.local from an in-memory zone rebuilt on every change of
Services, EndpointSlices, pods and namespaces, and forwards other names to the upstream
servers (the host's resolv.conf nameservers unless configured), as kubeadm's Corefile does.
It follows the pod: when it is recreated or gets another address the sockets move.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import struct
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, Final, cast

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass

from retina_tui.sandbox import dnszone, netfilter, uncancelled
from retina_tui.sandbox.clusternet import DNS_APP_LABEL, DNS_NAMESPACE
from retina_tui.sandbox.controller import Controller
from retina_tui.sandbox.netns_socket import NETNS_DIR, bind_udp_tcp
from retina_tui.sandbox.network import Network
from retina_tui.sandbox.store import Store

log = logging.getLogger("retina_tui.sandbox")

DNS_PORT: Final = 53
FORWARD_TIMEOUT: Final = 2.0
TCP_IDLE_TIMEOUT: Final = 10.0
UDP_MIN_PAYLOAD: Final = 512
TCP_MAX_MESSAGE: Final = 65535
HOST_RESOLV_CONF: Final = Path("/etc/resolv.conf")


def host_nameservers(path: Path = HOST_RESOLV_CONF) -> list[str]:
    """The `nameserver` addresses of the machine's resolv.conf (127.0.0.1 when none)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        lines = []
    found = [ln.split()[1] for ln in lines if ln.split()[:1] == ["nameserver"] and ln.split()[1:]]
    return found or ["127.0.0.1"]


def parse_upstream(entry: str) -> tuple[str, int]:
    """`ip`, `ip:port` or `[ipv6]:port` -> (ip, port)."""
    text = entry.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":") or str(DNS_PORT)
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, str(DNS_PORT)
    ipaddress.ip_address(host)
    return host, int(port)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: ClusterDns) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, int]) -> None:
        self.server.spawn(self._reply(data, addr))

    async def _reply(self, data: bytes, addr: tuple[str | int, int]) -> None:
        wire = await self.server.respond(data, tcp=False)
        if wire is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(wire, addr)


class ClusterDns(Controller):
    """The cluster's DNS server, following the kube-dns pod (see the module docstring)."""

    name = "cluster-dns"
    resources = ("services", "endpointslices", "pods", "namespaces")

    def __init__(self, store: Store, network: Network, upstream: Sequence[str] | None) -> None:
        super().__init__(store)
        self.network = network
        self.upstreams = [parse_upstream(u) for u in (upstream or host_nameservers())]
        self.zone = dnszone.Zone()
        self.serving: tuple[str, str] | None = None  # (netns, ip) of the DNS pod served
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def why_not(self) -> str | None:
        """Why pods cannot be given a DNS server here (None: they can)."""
        if os.geteuid() != 0:
            return "not running as root"
        if self.network.mode != "netns":
            return "the pods share the host's network (network mode host)"
        return None

    async def start(self) -> None:
        why = self.why_not()
        if why is not None:
            netfilter.report_once("cluster DNS", why)
            return
        await super().start()

    async def stop(self) -> None:
        try:
            await super().stop()
        finally:
            await self._close()

    async def sync(self) -> None:
        store = self.store
        self.zone = dnszone.build(
            store.list("services"),
            store.list("endpointslices"),
            store.list("namespaces"),
        )
        target = self._dns_pod()
        if target == self.serving:
            return
        await self._close()
        if target is not None:
            await self._serve(*target)

    def _dns_pod(self) -> tuple[str, str] | None:
        for pod in self.store.list("pods", DNS_NAMESPACE):
            meta = pod.get("metadata") or {}
            labels = meta.get("labels") or {}
            if meta.get("deletionTimestamp") or any(
                labels.get(k) != v for k, v in DNS_APP_LABEL.items()
            ):
                continue
            ip = (pod.get("status") or {}).get("podIP")
            key = f"{meta.get('namespace')}/{meta.get('name')}/{meta.get('uid')}"
            netns = self.network.pod_netns(key)
            if ip and netns and (Path(NETNS_DIR) / netns).exists():
                return netns, str(ip)
        return None

    async def _serve(self, netns: str, ip: str) -> None:
        udp, tcp = await bind_udp_tcp(netns, ip, DNS_PORT)
        # Once the loop watches a socket only its transport or server may close it.
        transport, server = await uncancelled.finish(
            self._adopt(udp, tcp), "sandbox-cluster-dns-serve", undo=_stop_serving
        )
        self._udp, self._tcp = transport, server
        self.serving = (netns, ip)
        log.info("sandbox cluster DNS: serving on %s:%d (UDP and TCP)", ip, DNS_PORT)

    async def _adopt(
        self, udp: socket.socket, tcp: socket.socket
    ) -> tuple[asyncio.DatagramTransport, asyncio.Server]:
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), sock=udp)
        except BaseException:
            udp.close()
            tcp.close()
            raise
        try:
            server = await asyncio.start_server(self._tcp_client, sock=tcp)
        except BaseException:
            transport.close()
            tcp.close()
            raise
        return transport, server

    async def _close(self) -> None:
        self.serving = None
        udp, tcp, self._udp, self._tcp = self._udp, self._tcp, None, None
        if udp is not None:
            udp.close()
        if tcp is not None:
            tcp.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if tcp is not None:
            await tcp.wait_closed()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro, name="sandbox-cluster-dns-query")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            task.set_name("sandbox-cluster-dns-tcp")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            while True:
                async with asyncio.timeout(TCP_IDLE_TIMEOUT):
                    (length,) = struct.unpack("!H", await reader.readexactly(2))
                    data = await reader.readexactly(length)
                wire = await self.respond(data, tcp=True)
                if wire is None:
                    return
                writer.write(struct.pack("!H", len(wire)) + wire)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            return
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def respond(self, data: bytes, *, tcp: bool) -> bytes | None:
        """The wire answer to one query (None: not a DNS message worth answering)."""
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return _format_error(data)
        if query.flags & dns.flags.QR:
            return None
        if query.opcode() != dns.opcode.QUERY or len(query.question) != 1:
            response = dns.message.make_response(query)
            response.set_rcode(
                dns.rcode.NOTIMP if query.opcode() != dns.opcode.QUERY else dns.rcode.FORMERR
            )
        else:
            question = query.question[0]
            zone = self.zone
            if question.rdclass == dns.rdataclass.IN and dnszone.authoritative(zone, question.name):
                response = dnszone.answer(zone, query)
            else:
                response = await self.forward(query, tcp=tcp)
        limit = TCP_MAX_MESSAGE if tcp else max(UDP_MIN_PAYLOAD, query.payload)
        if not tcp and query.edns < 0:
            limit = UDP_MIN_PAYLOAD
        return response.to_wire(max_size=limit, prefer_truncation=True)

    async def forward(self, query: dns.message.Message, *, tcp: bool) -> dns.message.Message:
        """The upstream servers' answer, over the client's transport; SERVFAIL on silence."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FORWARD_TIMEOUT
        for index, (host, port) in enumerate(self.upstreams):
            share = (deadline - loop.time()) / (len(self.upstreams) - index)
            if share <= 0:
                break
            try:
                if tcp:
                    return await dns.asyncquery.tcp(query, host, timeout=share, port=port)
                return await dns.asyncquery.udp(
                    query, host, timeout=share, port=port, ignore_unexpected=True
                )
            except (dns.exception.DNSException, OSError, EOFError):
                continue
        response = dns.message.make_response(query, recursion_available=True)
        response.set_rcode(dns.rcode.SERVFAIL)
        return response


def _format_error(data: bytes) -> bytes | None:
    """FORMERR for a message that does not parse, when it has at least a query header."""
    if len(data) < 12 or data[2] & 0x80:
        return None
    header = dns.message.Message(id=struct.unpack("!H", data[:2])[0])
    header.flags = dns.flags.QR | (struct.unpack("!H", data[2:4])[0] & dns.flags.RD)
    header.set_rcode(dns.rcode.FORMERR)
    return header.to_wire()


def _stop_serving(made: tuple[asyncio.DatagramTransport, asyncio.Server]) -> None:
    made[0].close()
    made[1].close()
