"""What a pod debug shell may really do in the sandbox: exactly the capabilities it was given.

The sandbox runtime applies securityContext as runc does, so these run real commands in a
real pod session and read the kernel's answer: the effective set, an interface change that
needs NET_ADMIN, a mount that needs SYS_ADMIN, a raw-socket ping that needs NET_RAW.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from retina_tui.kube.client import KubeClient
from retina_tui.sessions.pod import PodSession
from retina_tui.sessions.specs import PodSessionSpec
from retina_tui.validation.capabilities import LINUX_CAPABILITIES
from tests.sessions.conftest import Screen, prompt, run_line
from tests.sessions.test_profiles_sandbox import app_pod
from tests.sessions.test_sessions_sandbox import exit_with, linux_node, node_session

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(os.geteuid() != 0, reason="the runtime isolates containers as root only"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2"),
]


def capability_names(mask: int) -> set[str]:
    """The names of the bits set in a /proc/PID/status capability mask."""
    return {name for bit, name in enumerate(LINUX_CAPABILITIES) if mask >> bit & 1}


async def open_shell(
    kube: KubeClient, capabilities: tuple[str, ...] | None = None
) -> tuple[PodSession, Screen, int]:
    pod = await app_pod(kube, "default")
    screen = Screen()
    spec = PodSessionSpec("default", pod)
    if capabilities is not None:
        spec = PodSessionSpec("default", pod, capabilities=capabilities)
    session = PodSession(kube, spec, on_phase=screen.on_phase, on_output=screen.on_output)
    await session.start()
    return session, screen, await prompt(session, screen)


def effective_set(output: bytes) -> set[str]:
    found = re.search(rb"CapEff:\s*([0-9a-f]+)", output)
    assert found is not None, output
    return capability_names(int(found.group(1), 16))


async def test_the_default_profile_has_exactly_net_admin_and_net_raw(kube: KubeClient) -> None:
    session, screen, mark = await open_shell(kube)
    try:
        out, mark = await run_line(session, screen, "grep Cap /proc/self/status", mark)
        assert effective_set(out) == {"NET_ADMIN", "NET_RAW"}
        out, mark = await run_line(
            session, screen, "ip link set lo mtu 1400 && ip -o link show lo", mark
        )
        assert b"mtu 1400" in out
        out, mark = await run_line(session, screen, "mount -t tmpfs x /mnt; echo rc=$?", mark)
        assert re.search(rb"[Pp]ermission denied|[Oo]peration not permitted", out), out
        assert b"rc=0" not in out
        assert await exit_with(session, 0) == 0
    finally:
        await session.close()


def icmp_sockets_allowed(ping_group_range: bytes, gid: int = 0) -> bool:
    """Whether the range lets group `gid` open ICMP datagram sockets (ping without NET_RAW)."""
    found = re.search(rb"(\d+)\s+(\d+)", ping_group_range)
    assert found is not None, ping_group_range
    return int(found.group(1)) <= gid <= int(found.group(2))


async def test_no_capabilities_leaves_ping_only_what_the_kernel_grants(kube: KubeClient) -> None:
    session, screen, mark = await open_shell(kube, capabilities=())
    try:
        out, mark = await run_line(session, screen, "grep Cap /proc/self/status", mark)
        assert effective_set(out) == set()
        # The range is a sysctl of the pod's own network namespace, so read it there.
        groups, mark = await run_line(
            session, screen, "cat /proc/sys/net/ipv4/ping_group_range", mark
        )
        out, mark = await run_line(
            session, screen, "ping -c1 -W1 127.0.0.1 >/dev/null 2>&1; echo rc=$?", mark
        )
        # Without NET_RAW a raw socket is refused; only the ICMP datagram socket that
        # ping_group_range opens to some groups could still let ping through.
        if icmp_sockets_allowed(groups):
            assert b"rc=0" in out, out
        else:
            assert b"rc=0" not in out, out
        out, mark = await run_line(
            session, screen, "ip link set lo mtu 1400; ip -o link show lo", mark
        )
        assert b"mtu 1400" not in out
        assert await exit_with(session, 0) == 0
    finally:
        await session.close()


@pytest.mark.parametrize("host_pid", [True, False])
async def test_a_node_shell_sees_the_nodes_processes_only_with_host_pid(
    kube: KubeClient, host_pid: bool
) -> None:
    screen = Screen()
    node = await linux_node(kube)
    session = node_session(kube, screen, node, host_pid=host_pid)
    await session.start()
    try:
        mark = await prompt(session, screen)
        out, mark = await run_line(session, screen, "ps -e -o pid= | tr -s ' \\n' ','", mark)
        pids = {int(part) for part in re.findall(rb"\d+", out)}
        # This test process runs on the machine the sandbox's node is: the node's process.
        assert (os.getpid() in pids) is host_pid, out
        if not host_pid:
            assert len(pids) <= 5, out  # the shell, its wrapper and ps: a namespace of its own
        assert await exit_with(session, 0) == 0
    finally:
        await session.close()
