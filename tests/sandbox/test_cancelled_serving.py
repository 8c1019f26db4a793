"""A cancelled step of the sandbox must leave the event loop watching only open descriptors.

If the loop keeps watching a descriptor that was closed behind its back, the next socket
or pipe given that number is never read: a later `ip` command's output never arrives and
the sandbox hangs while stopping. The test cancels such a step at every point it waits.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess

import pytest

from retina_tui.sandbox import clusterdns
from retina_tui.sandbox.clusterdns import ClusterDns
from retina_tui.sandbox.netns_socket import bind_udp_tcp
from retina_tui.sandbox.network import Network
from retina_tui.sandbox.store import Store

requires_root_netns = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and iproute2"
)


def unwatched_descriptors() -> list[int]:
    """Descriptors the loop believes it watches that its epoll instance does not hold."""
    selector = asyncio.get_running_loop()._selector  # type: ignore[attr-defined]
    with open(f"/proc/self/fdinfo/{selector.fileno()}") as info:
        held = {int(line.split()[1]) for line in info if line.startswith("tfd:")}
    return sorted({key.fd for key in selector.get_map().values()} - held)


async def cancel_after(coro: object, turns: int) -> None:
    task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def pipe_output() -> bytes:
    proc = await asyncio.create_subprocess_exec(
        "echo", "still read", stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    async with asyncio.timeout(10):
        out, _ = await proc.communicate()
    return out


@pytest.mark.netns
@requires_root_netns
async def test_cluster_dns_cancelled_while_starting_to_serve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    network = await Network.create("netns", ["a"])
    dns = ClusterDns(Store(), network, None)
    netns, ip = network.node_netns("a"), network.node_ip("a")
    assert netns is not None

    async def bound_in_advance(*_: object) -> tuple[socket.socket, socket.socket]:
        return sockets  # the thread entering the namespace takes a varying number of turns

    monkeypatch.setattr(clusterdns, "bind_udp_tcp", bound_in_advance)
    try:
        for turns in range(8):
            sockets = await bind_udp_tcp(netns, ip, clusterdns.DNS_PORT)
            await cancel_after(dns._serve(netns, ip), turns)
            await dns._close()
            await asyncio.sleep(0.01)
            assert unwatched_descriptors() == [], f"cancelled after {turns} turns"
            for unadopted in sockets:  # cancelled before _serve began
                unadopted.close()
            assert await pipe_output() == b"still read\n"
    finally:
        await dns._close()
        await network.close()
