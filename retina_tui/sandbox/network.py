"""Pod and node networking for the sandbox: real network namespaces, or the host's as a fallback.

Mode "netns" (root and iproute2): a "fabric" namespace holds a bridge joining one namespace
per node; each node namespace has a bridge for its pod CIDR (10.244.<n>.0/24, gateway .1)
and routes to the other nodes' CIDRs through their fabric addresses (172.18.0.<n+2>), as a
simple CNI would; each pod is a namespace with `eth0`, a veth to its node's bridge.
Nothing is ever created in the host's own namespace: every namespace name starts with the
run prefix (`rtui<pid>x<n>-`), links live only inside those namespaces, and deleting the
namespaces removes everything. Leftovers of a run whose process is dead are removed at start.

Mode "host": everything runs in the host namespace. Addresses are then loopback ones
(node n is 127.1.<n>.1, its pods 127.1.<n>.2-254): reachable on this machine, but every pod
shares the host's ports and interfaces.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ipaddress
import itertools
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from retina_tui.errors import RetinaTuiError
from retina_tui.sandbox.clusternet import SERVICE_CIDR

log = logging.getLogger("retina_tui.sandbox")

NETNS_DIR: Final = Path("/run/netns")
FABRIC_BRIDGE: Final = "fab0"
NODE_BRIDGE: Final = "cbr0"
PREFIX_RE: Final = re.compile(r"^(rtui(\d+)x[0-9a-f]+)-")
MAX_PODS_PER_NODE: Final = 253
LINK_UP_POLLS: Final = 200
LINK_UP_INTERVAL: Final = 0.01

_run_counter = itertools.count(1)
_prefixes_here: set[str] = set()  # run prefixes of the networks built by this process

Mode = Literal["netns", "host"]


class NetworkError(RetinaTuiError):
    """The sandbox could not set up or tear down its network namespaces."""


def default_run_prefix() -> str:
    """A prefix unique to this run, even with several sandboxes in one process.

    The random part tells this process's runs from those of a dead process that had the
    same pid (pids are reused quickly).
    """
    return f"rtui{os.getpid()}x{next(_run_counter)}{secrets.token_hex(2)}"


def netns_available() -> bool:
    """Whether real namespaces can be used: root and an `ip` binary."""
    return os.geteuid() == 0 and shutil.which("ip") is not None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _run(argv: Sequence[str], stdin: str | None = None) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    if proc.returncode != 0:
        what = " ".join(argv) if stdin is None else f"{' '.join(argv)} <<{stdin.strip()!r}"
        raise NetworkError(
            f"`{what}` failed ({err.decode(errors='replace').strip()}); "
            "check that iproute2 works here or run the sandbox with --network host."
        )
    return out.decode()


def _kill_pids(text: str) -> None:
    for word in text.split():
        if word.isdigit():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(word), signal.SIGKILL)


async def delete_namespace(name: str) -> None:
    """Kill whatever still runs in namespace `name`, then delete it."""
    with contextlib.suppress(NetworkError):
        _kill_pids(await _run(["ip", "netns", "pids", name]))
    await _run(["ip", "netns", "delete", name])


def our_namespaces() -> list[str]:
    """Names of every namespace created by any sandbox run on this machine."""
    try:
        return sorted(entry.name for entry in NETNS_DIR.iterdir() if PREFIX_RE.match(entry.name))
    except OSError:
        return []


def _stale(name: str) -> bool:
    match = PREFIX_RE.match(name)
    assert match is not None
    prefix, pid = match.group(1), int(match.group(2))
    if pid == os.getpid():  # ours, unless left by an earlier process with the same pid
        return prefix not in _prefixes_here
    return not _pid_alive(pid)


async def remove_leftovers() -> list[str]:
    """Delete namespaces of sandbox runs whose process is gone; never a live run's."""
    removed = []
    for name in our_namespaces():
        if _stale(name):
            try:
                await delete_namespace(name)
            except NetworkError as error:
                log.warning("could not remove leftover namespace %s: %s", name, error)
            else:
                removed.append(name)
    if removed:
        log.info("removed %d namespaces left by earlier sandbox runs", len(removed))
    return removed


def _veth(pod_netns: str) -> str:
    """The node-side name of a pod's veth (`vp<serial>`, unique in its node namespace)."""
    return f"vp{pod_netns.rsplit('-p', 1)[1]}"


@dataclass
class _Pod:
    node: str
    netns: str
    ip: str


@dataclass
class _Node:
    index: int
    netns: str
    free: list[int] = field(default_factory=lambda: list(range(2, 2 + MAX_PODS_PER_NODE)))


class Network:
    """The sandbox's nodes and pods as addresses and (in netns mode) namespaces."""

    def __init__(self, mode: Mode, node_names: Iterable[str], run_prefix: str) -> None:
        self.mode: Mode = mode
        self.run_prefix = run_prefix
        _prefixes_here.add(run_prefix)
        self._nodes = {
            name: _Node(index, f"{run_prefix}-n{index}") for index, name in enumerate(node_names)
        }
        self._pods: dict[str, _Pod] = {}
        self._namespaces: set[str] = set()
        self._serial = itertools.count(1)
        self._closed = False
        self.fabric = f"{run_prefix}-fabric"

    @classmethod
    async def create(
        cls, mode: str, node_names: Iterable[str], run_prefix: str | None = None
    ) -> Network:
        """Build the node namespaces ("auto" picks netns when possible, else host)."""
        prefix = run_prefix or default_run_prefix()
        if not PREFIX_RE.match(prefix + "-"):
            raise NetworkError(f"run prefix {prefix!r} must look like rtui<pid>x<hex>")
        if mode not in ("auto", "netns", "host"):
            raise NetworkError(f"network mode {mode!r} is not one of auto, netns, host.")
        names = list(node_names)
        if len(names) > 250:
            raise NetworkError(f"{len(names)} nodes is more than the 250 the sandbox can address.")
        if mode == "netns" and not netns_available():
            raise NetworkError(
                "real pod networking needs root and iproute2 (`ip`); "
                "run as root or use --network host."
            )
        why = "this process is not root or has no `ip` (iproute2)"
        if mode != "host" and (mode == "netns" or netns_available()):
            network = cls("netns", names, prefix)
            await remove_leftovers()
            atexit.register(network._close_sync)
            try:
                await network._build()
            except NetworkError as error:
                await network.close()
                if mode == "netns":
                    raise
                why = f"network namespaces do not work here: {error}"
            except BaseException:
                await network.close()
                raise
            else:
                return network
        log.warning(
            "sandbox networking runs in the host namespace (%s): pods share the host's "
            "interfaces and get loopback addresses (127.1.<node>.<n>)",
            why if mode == "auto" else "--network host",
        )
        return cls("host", names, prefix)

    async def _wait_up(self, netns: str, device: str) -> None:
        """Wait until the kernel reports `device` operationally up (carrier on, qdisc ready).

        A veth whose carrier has just come on still drops packets until the kernel's link
        watcher has activated it, which lags on a busy machine.
        """
        for _ in range(LINK_UP_POLLS):
            out = await _run(["ip", "-n", netns, "-o", "link", "show", "dev", device])
            if "state UP" in out:
                return
            await asyncio.sleep(LINK_UP_INTERVAL)
        log.warning("link %s in %s is still not up", device, netns)

    async def _add_namespace(self, name: str) -> None:
        self._namespaces.add(name)
        await _run(["ip", "netns", "add", name])

    async def _build(self) -> None:
        await self._add_namespace(self.fabric)
        await _run(
            ["ip", "-n", self.fabric, "-batch", "-"],
            f"link set lo up\nlink add {FABRIC_BRIDGE} type bridge\nlink set {FABRIC_BRIDGE} up\n",
        )
        for name, node in self._nodes.items():
            await self._add_namespace(node.netns)
            uplink = f"f{node.index}"
            await _run(
                ["ip", "-n", self.fabric, "-batch", "-"],
                f"link add {uplink} type veth peer name eth0 netns {node.netns}\n"
                f"link set {uplink} master {FABRIC_BRIDGE}\nlink set {uplink} up\n",
            )
            routes = "".join(
                f"route add {self.pod_cidr(other)} via {self.node_ip(other)}\n"
                for other in self._nodes
                if other != name
            )
            await _run(
                ["ip", "-n", node.netns, "-batch", "-"],
                f"link set lo up\nlink set eth0 up\naddr add {self.node_ip(name)}/24 dev eth0\n"
                f"link add {NODE_BRIDGE} type bridge\n"
                f"addr add {self._gateway(node)}/24 dev {NODE_BRIDGE}\n"
                f"link set {NODE_BRIDGE} up\n{routes}"
                # Service IPs are routed like off-node addresses, so kube-proxy's forward
                # rules see (and reject) what has no endpoint.
                f"route add {SERVICE_CIDR} dev eth0\n",
            )
            # Bridged pod-to-pod packets go through the node's netfilter hooks (as with
            # br_netfilter on a real node), so kube-proxy and policy rules see them too.
            await _run(
                ["ip", "netns", "exec", node.netns, "sh", "-c",
                 "echo 1 > /proc/sys/net/ipv4/ip_forward; "
                 "echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || true"],
            )  # fmt: skip
            await self._wait_up(node.netns, "eth0")

    def _node(self, node: str) -> _Node:
        try:
            return self._nodes[node]
        except KeyError:
            raise NetworkError(f"node {node!r} is not part of this sandbox.") from None

    def _base(self, node: _Node) -> str:
        return f"127.1.{node.index}" if self.mode == "host" else f"10.244.{node.index}"

    def _gateway(self, node: _Node) -> str:
        return f"{self._base(node)}.1"

    def node_ip(self, node: str) -> str:
        """The node's InternalIP (its fabric address, or a loopback one in host mode)."""
        entry = self._node(node)
        return f"127.1.{entry.index}.1" if self.mode == "host" else f"172.18.0.{entry.index + 2}"

    def pod_cidr(self, node: str) -> str:
        return f"{self._base(self._node(node))}.0/24"

    def pod_ip(self, pod_key: str) -> str | None:
        pod = self._pods.get(pod_key)
        return pod.ip if pod else None

    def pod_netns(self, pod_key: str) -> str | None:
        """The namespace of a pod (None in host mode or for an unknown pod)."""
        pod = self._pods.get(pod_key)
        return pod.netns if pod and self.mode == "netns" else None

    def node_names(self) -> list[str]:
        """Every node of the sandbox, in order."""
        return list(self._nodes)

    def node_netns(self, node: str) -> str | None:
        return self._node(node).netns if self.mode == "netns" else None

    async def add_pod(self, node: str, pod_key: str) -> str:
        """Give a pod an address on `node` (and its namespace in netns mode); idempotent."""
        if pod_key in self._pods:
            return self._pods[pod_key].ip
        entry = self._node(node)
        if not entry.free:
            raise NetworkError(
                f"node {node} has no free pod address ({MAX_PODS_PER_NODE} pods); "
                "delete pods or add nodes."
            )
        host = entry.free.pop(0)
        ip = f"{self._base(entry)}.{host}"
        ipaddress.ip_address(ip)
        pod = _Pod(node, f"{self.run_prefix}-p{next(self._serial)}", ip)
        self._pods[pod_key] = pod
        if self.mode == "host":
            return ip
        veth = _veth(pod.netns)
        try:
            await self._add_namespace(pod.netns)
            await _run(
                ["ip", "-n", entry.netns, "-batch", "-"],
                f"link add {veth} type veth peer name eth0 netns {pod.netns}\n"
                f"link set {veth} master {NODE_BRIDGE}\nlink set {veth} up\n"
                # A pod reaching itself through its Service comes back out of its own port.
                f"link set {veth} type bridge_slave hairpin on\n",
            )
            await _run(
                ["ip", "-n", pod.netns, "-batch", "-"],
                f"link set lo up\naddr add {ip}/24 dev eth0\nlink set eth0 up\n"
                f"route add default via {self._gateway(entry)}\n",
            )
            await self._wait_up(pod.netns, "eth0")
            await self._wait_up(entry.netns, veth)
        except BaseException:
            await self.remove_pod(pod_key)
            raise
        return ip

    async def remove_pod(self, pod_key: str) -> None:
        """Free the pod's address and delete its namespace (killing what still runs there)."""
        pod = self._pods.pop(pod_key, None)
        if pod is None:
            return
        entry = self._nodes[pod.node]
        entry.free.append(int(pod.ip.rsplit(".", 1)[1]))
        if self.mode == "netns" and pod.netns in self._namespaces:
            self._namespaces.discard(pod.netns)
            # The kernel dismantles a deleted namespace later (under load, seconds later);
            # deleting the veth now takes the pod off its node's bridge at once.
            with contextlib.suppress(NetworkError):
                await _run(["ip", "-n", entry.netns, "link", "delete", _veth(pod.netns)])
            if (NETNS_DIR / pod.netns).exists():
                await delete_namespace(pod.netns)

    def exec_prefix(self, node: str, pod_key: str | None) -> list[str]:
        """The argv prefix running a command in the pod's (without one, the node's) network."""
        if self.mode == "host":
            self._node(node)
            return []
        if pod_key is None:
            return ["ip", "netns", "exec", self._node(node).netns]
        pod = self._pods.get(pod_key)
        if pod is None:
            raise NetworkError(f"pod {pod_key} has no network namespace yet.")
        return ["ip", "netns", "exec", pod.netns]

    async def close(self) -> None:
        """Delete every namespace of this run; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._pods.clear()
        failures = []
        if self.mode == "netns":  # also whatever an interrupted add left untracked
            self._namespaces.update(
                n for n in our_namespaces() if n.startswith(f"{self.run_prefix}-")
            )
        for name in sorted(self._namespaces, key=lambda n: n == self.fabric):
            if (NETNS_DIR / name).exists():
                try:
                    await delete_namespace(name)
                except NetworkError as error:
                    failures.append(str(error))
        self._namespaces.clear()
        with contextlib.suppress(Exception):
            atexit.unregister(self._close_sync)
        if failures:
            raise NetworkError(failures[0])

    def _close_sync(self) -> None:
        """Last resort at interpreter exit when `close` was never awaited."""
        for name in list(self._namespaces):
            if (NETNS_DIR / name).exists():
                pids = subprocess.run(
                    ["ip", "netns", "pids", name], capture_output=True, text=True, check=False
                )
                _kill_pids(pids.stdout)
                subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)
        self._namespaces.clear()
