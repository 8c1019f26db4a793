"""NetworkPolicy semantics, property-tested: the sandbox agrees with the API's definition.

A reference written here from the Kubernetes documentation (not from the sandbox's code)
decides each (source pod, destination pod, port); random worlds of namespaces, labels,
named ports and policies are checked against the compiled verdicts (many examples, no
namespaces needed), and, for fewer examples, against real TCP connects between real pods
in real network namespaces under the rules the sandbox applied.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retina_tui.sandbox import SandboxOptions, run_sandbox
from retina_tui.sandbox.netpol import compile_policies
from retina_tui.sandbox.seed import namespace as namespace_object
from retina_tui.sandbox.seed import pod as pod_object

Obj = dict[str, Any]
T = TypeVar("T")
PORTS = (8080, 9090, 7070)  # 8080 is named `http` everywhere, 9090 `alt` on some pods
NAMESPACES = ("np-a", "np-b")
POD_NAMES = ("p0", "p1", "p2", "p3")
SERVER = (
    "import socket, threading\n"
    "def serve(port):\n"
    "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "    s.bind(('0.0.0.0', port)); s.listen(64)\n"
    "    while True: s.accept()[0].close()\n"
    "for p in (8080, 9090, 7070): threading.Thread(target=serve, args=(p,)).start()\n"
)
PROBE = (
    "import asyncio, json, sys\n"
    "async def one(ip, port):\n"
    "    try:\n"
    "        _, w = await asyncio.wait_for(asyncio.open_connection(ip, port), 0.6)\n"
    "        w.close(); return True\n"
    "    except Exception: return False\n"
    "async def main(targets):\n"
    "    return await asyncio.gather(*(one(ip, int(p)) for ip, p in targets))\n"
    "targets = json.loads(sys.argv[1])\n"
    "print(json.dumps(asyncio.run(main(targets))))\n"
)


# -- the reference, from the NetworkPolicy documentation ---------------------------------


def ref_selects(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A label selector: every matchLabels pair and every expression must hold."""
    if selector is None:
        return True
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        has, value = e["key"] in labels, labels.get(e["key"])
        wanted = e.get("values") or []
        if e["operator"] == "In" and not (has and value in wanted):
            return False
        if e["operator"] == "NotIn" and has and value in wanted:
            return False
        if e["operator"] == "Exists" and not has:
            return False
        if e["operator"] == "DoesNotExist" and has:
            return False
    return True


@dataclass(frozen=True)
class RefPod:
    namespace: str
    ip: str
    labels: dict[str, str]
    named: dict[str, int]


def ref_peer(
    peer: Obj, policy_ns: str, other: RefPod, ns_labels: dict[str, dict[str, str]]
) -> bool:
    """Whether `other` is one of the peers a from/to entry names."""
    if "ipBlock" in peer:
        address = ipaddress.ip_address(other.ip)
        block = peer["ipBlock"]
        if address not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(address in ipaddress.ip_network(x) for x in block.get("except") or [])
    if "namespaceSelector" in peer:
        if not ref_selects(peer["namespaceSelector"], ns_labels[other.namespace]):
            return False
    elif other.namespace != policy_ns:
        return False
    return ref_selects(peer.get("podSelector"), other.labels)


def ref_port(entries: list[Obj] | None, port: int, receiver: RefPod) -> bool:
    """Whether a TCP `port` on `receiver` is one of a rule's ports (none listed: all)."""
    if not entries:
        return True
    for entry in entries:
        if entry.get("protocol", "TCP") != "TCP":
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, str):
            if receiver.named.get(wanted) == port:
                return True
        elif wanted <= port <= entry.get("endPort", wanted):
            return True
    return False


def ref_types(spec: Obj) -> list[str]:
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def ref_direction(
    pod: RefPod, other: RefPod, port: int, receiver: RefPod, kind: str,
    policies: list[Obj], ns_labels: dict[str, dict[str, str]],
) -> bool:  # fmt: skip
    """`pod`'s side of a connection: allowed unless isolated and no rule lets `other` in/out."""
    field, peers = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == pod.namespace
        and kind in ref_types(p["spec"])
        and ref_selects(p["spec"].get("podSelector") or {}, pod.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get(field) or []:
            named = rule.get(peers)
            peer_ok = not named or any(
                ref_peer(peer, policy["metadata"]["namespace"], other, ns_labels) for peer in named
            )
            if peer_ok and ref_port(rule.get("ports"), port, receiver):
                return True
    return False


def ref_allowed(
    src: RefPod, dst: RefPod, port: int, policies: list[Obj], ns_labels: dict[str, dict[str, str]]
) -> bool:
    """The API's verdict: the source's egress and the destination's ingress both allow it."""
    return ref_direction(src, dst, port, dst, "Egress", policies, ns_labels) and ref_direction(
        dst, src, port, dst, "Ingress", policies, ns_labels
    )


# -- random worlds -------------------------------------------------------------------------

labels_st = st.fixed_dictionaries(
    {}, optional={"app": st.sampled_from(["a", "b"]), "role": st.sampled_from(["x", "y"])}
)
selector_st = st.one_of(
    st.just({}),
    st.builds(lambda v: {"matchLabels": {"app": v}}, st.sampled_from(["a", "b"])),
    st.builds(
        lambda op, v: {
            "matchExpressions": [
                {
                    "key": "role",
                    "operator": op,
                    **({"values": [v]} if op in ("In", "NotIn") else {}),
                }
            ]
        },
        st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]),
        st.sampled_from(["x", "y"]),
    ),
)
ns_selector_st = st.one_of(
    st.just({}), st.builds(lambda v: {"matchLabels": {"team": v}}, st.sampled_from(["red", "blue"]))
)
port_st = st.sampled_from(
    [
        {"port": 8080},
        {"port": "http"},
        {"port": "alt"},
        {"port": 7000, "endPort": 8080},
        {"port": 9000, "endPort": 9999},
        {"protocol": "TCP"},
        {"port": 7070, "protocol": "UDP"},
    ]
)


def peer_st(ips: list[str]) -> st.SearchStrategy[Obj]:
    block = st.builds(
        lambda cidr, holes: {"ipBlock": {"cidr": cidr, **({"except": holes} if holes else {})}},
        st.sampled_from(["10.244.0.0/16", "10.244.0.0/24", "10.244.1.0/24", "0.0.0.0/0"]),
        st.lists(st.sampled_from([f"{ip}/32" for ip in ips]), max_size=2, unique=True),
    ).filter(
        lambda p: all(
            ipaddress.ip_network(x).subnet_of(ipaddress.ip_network(p["ipBlock"]["cidr"]))
            for x in p["ipBlock"].get("except", [])
        )
    )
    return st.one_of(
        st.builds(lambda s: {"podSelector": s}, selector_st),
        st.builds(lambda n: {"namespaceSelector": n}, ns_selector_st),
        st.builds(
            lambda s, n: {"podSelector": s, "namespaceSelector": n}, selector_st, ns_selector_st
        ),
        block,
    )


def rule_st(ips: list[str], peers: str) -> st.SearchStrategy[Obj]:
    return st.fixed_dictionaries(
        {},
        optional={
            peers: st.lists(peer_st(ips), min_size=1, max_size=2),
            "ports": st.lists(port_st, min_size=1, max_size=2),
        },
    )


def policy_st(ips: list[str]) -> st.SearchStrategy[Obj]:
    spec = st.fixed_dictionaries(
        {"podSelector": selector_st},
        optional={
            "policyTypes": st.sampled_from([["Ingress"], ["Egress"], ["Ingress", "Egress"]]),
            "ingress": st.lists(rule_st(ips, "from"), max_size=2),
            "egress": st.lists(rule_st(ips, "to"), max_size=2),
        },
    )
    return st.builds(
        lambda ns, body: {"metadata": {"namespace": ns}, "spec": body},
        st.sampled_from(NAMESPACES),
        spec,
    )


@dataclass
class World:
    ns_labels: dict[str, dict[str, str]]
    pod_labels: list[dict[str, str]]
    policies: list[Obj]


def world_st(ips: list[str]) -> st.SearchStrategy[World]:
    return st.builds(
        World,
        st.fixed_dictionaries(
            {
                ns: st.fixed_dictionaries({}, optional={"team": st.sampled_from(["red", "blue"])})
                for ns in NAMESPACES
            }
        ),
        st.lists(labels_st, min_size=len(POD_NAMES), max_size=len(POD_NAMES)),
        st.lists(policy_st(ips), min_size=1, max_size=4),
    )


def named_ports(index: int) -> dict[str, int]:
    return {"http": 8080, **({"alt": 9090} if index % 2 == 0 else {})}


def pod_namespace(index: int) -> str:
    return NAMESPACES[index % 2]


def ref_pods(world: World, ips: list[str]) -> list[RefPod]:
    return [
        RefPod(pod_namespace(i), ips[i], world.pod_labels[i], named_ports(i))
        for i in range(len(POD_NAMES))
    ]


def objects(world: World, ips: list[str]) -> tuple[list[Obj], list[Obj], list[Obj]]:
    """The world as API objects: pods (with status), namespaces, named policies."""
    pods = []
    for i, name in enumerate(POD_NAMES):
        ports = [
            {"name": n, "containerPort": p, "protocol": "TCP"} for n, p in named_ports(i).items()
        ]
        pods.append(
            {
                "metadata": {
                    "namespace": pod_namespace(i),
                    "name": name,
                    "labels": world.pod_labels[i],
                },
                "spec": {
                    "nodeName": f"node-{i % 2 + 1}",
                    "containers": [{"name": "c", "ports": ports}],
                },
                "status": {"phase": "Running", "podIP": ips[i]},
            }
        )
    namespaces = [
        {"metadata": {"name": ns, "labels": labels}} for ns, labels in world.ns_labels.items()
    ]
    policies = [
        {**p, "metadata": {**p["metadata"], "name": f"pol-{i}"}}
        for i, p in enumerate(world.policies)
    ]
    return pods, namespaces, policies


MODEL_IPS = ["10.244.0.2", "10.244.1.2", "10.244.0.3", "10.244.1.3"]


@settings(max_examples=400, deadline=None)
@given(world=world_st(MODEL_IPS))
def test_compiled_verdicts_follow_the_api_semantics(world: World) -> None:
    pods, namespaces, policies = objects(world, MODEL_IPS)
    compiled = compile_policies(pods, namespaces, policies)
    refs = ref_pods(world, MODEL_IPS)
    for src in refs:
        for dst in refs:
            if src is dst:
                continue
            for port in PORTS:
                expected = ref_allowed(src, dst, port, policies, world.ns_labels)
                assert compiled.allowed(src.ip, dst.ip, port) == expected, (src, dst, port)


# -- the same against real connects --------------------------------------------------------


class LoopThread:
    """An event loop in a thread of its own, holding a sandbox for synchronous tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="sandbox-loop", daemon=True
        )
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Real:
    loop: LoopThread
    sandbox: Any
    ips: list[str]
    netns: list[str]


async def _until_running(store: Any, namespace: str, name: str) -> str:
    async with asyncio.timeout(60):
        while True:
            pod = store.get("pods", namespace, name) or {}
            status = pod.get("status") or {}
            if status.get("phase") == "Running" and status.get("podIP"):
                return str(status["podIP"])
            await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
def real() -> Iterator[Real]:
    if os.geteuid() != 0 or shutil.which("nft") is None:
        pytest.skip("needs root and nftables")
    loop = LoopThread()
    stop: asyncio.Event | None = None
    started: asyncio.Future[Any] = loop.loop.create_future()

    async def hold() -> None:
        nonlocal stop
        stop = asyncio.Event()
        options = SandboxOptions(nodes=2, pods=0, network="netns", stop_grace=0.0, start_delay=0.0)
        try:
            async with run_sandbox(options) as sandbox:
                started.set_result(sandbox)
                await stop.wait()
        except BaseException as error:
            if not started.done():
                started.set_exception(error)
            raise

    holder = asyncio.run_coroutine_threadsafe(hold(), loop.loop)
    try:
        sandbox = loop.run(_wrap(started))
        store = sandbox.store

        async def populate() -> tuple[list[str], list[str]]:
            for ns in NAMESPACES:
                store.create("namespaces", namespace_object(ns, {}))
            for i, name in enumerate(POD_NAMES):
                ports = [
                    {"name": n, "containerPort": p, "protocol": "TCP"}
                    for n, p in named_ports(i).items()
                ]
                obj = pod_object(
                    pod_namespace(i),
                    name,
                    [
                        {
                            "name": "c",
                            "image": "python:3.12-slim",
                            "command": ["python3", "-c", SERVER],
                            "ports": ports,
                        }
                    ],
                    labels={},
                    node_name=f"node-{i % 2 + 1}",
                )
                store.create("pods", obj)
            ips = [
                await _until_running(store, pod_namespace(i), n) for i, n in enumerate(POD_NAMES)
            ]
            keys = []
            for i, name in enumerate(POD_NAMES):
                pod = store.get("pods", pod_namespace(i), name)
                key = f"{pod_namespace(i)}/{name}/{pod['metadata']['uid']}"
                keys.append(sandbox.network.pod_netns(key))
            return ips, keys

        ips, netns = loop.run(populate())
        assert all(netns), netns
        yield Real(loop, sandbox, ips, netns)
    finally:
        if stop is not None:
            loop.loop.call_soon_threadsafe(stop.set)
        holder.result(60)
        loop.close()


async def _wrap(future: asyncio.Future[Any]) -> Any:
    return await future


async def _apply_world(sandbox: Any, world: World) -> None:
    store = sandbox.store
    for policy in store.list("networkpolicies"):
        if policy["metadata"]["namespace"] in NAMESPACES:
            store.remove(
                "networkpolicies", policy["metadata"]["namespace"], policy["metadata"]["name"]
            )
    for ns, labels in world.ns_labels.items():

        def relabel_ns(target: Obj, labels: dict[str, str] = labels, ns: str = ns) -> None:
            target["metadata"]["labels"] = {"kubernetes.io/metadata.name": ns, **labels}

        store.mutate("namespaces", None, ns, relabel_ns)
    for i, name in enumerate(POD_NAMES):

        def relabel(target: Obj, labels: dict[str, str] = world.pod_labels[i]) -> None:
            target["metadata"]["labels"] = dict(labels)

        store.mutate("pods", pod_namespace(i), name, relabel)
    for i, policy in enumerate(world.policies):
        store.create(
            "networkpolicies",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": f"pol-{i}", "namespace": policy["metadata"]["namespace"]},
                "spec": policy["spec"],
            },
        )
    await sandbox.network_policy.wait_applied()


def _probe(netns: str, targets: list[tuple[str, int]]) -> list[bool]:
    out = subprocess.run(
        ["ip", "netns", "exec", netns, "python3", "-c", PROBE, json.dumps(targets)],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    result: list[bool] = json.loads(out.stdout)
    return result


@pytest.mark.netns
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_enforced_verdicts_match_real_connects(real: Real, data: st.DataObject) -> None:
    world = data.draw(world_st(real.ips))
    real.loop.run(_apply_world(real.sandbox, world))
    refs = ref_pods(world, real.ips)
    policies = [
        p
        for p in real.sandbox.store.list("networkpolicies")
        if p["metadata"]["namespace"] in NAMESPACES
    ]
    for index, src in enumerate(refs):
        targets = [(dst.ip, port) for dst in refs if dst is not src for port in PORTS]
        observed = _probe(real.netns[index], targets)
        for (ip, port), seen in zip(targets, observed, strict=True):
            dst = next(r for r in refs if r.ip == ip)
            expected = ref_allowed(src, dst, port, policies, world.ns_labels)
            assert seen == expected, (src, dst, port, policies)
