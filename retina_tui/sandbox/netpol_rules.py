"""NetworkPolicy enforcement: the compiled verdicts as rules in every node namespace.

Each node namespace holds the rules of its own pods, in the forward path every pod packet
takes (routed, or bridged through br_netfilter), after kube-proxy's DNAT: a new connection
from a local pod that is egress-isolated must match one of its egress allows (else it is
dropped), one to a local ingress-isolated pod one of its ingress allows; packets of
established connections pass (conntrack), so replies need no rule. Traffic to and from the
node itself takes the input/output hooks and is never filtered, as the API requires.
Dropped, not rejected: a denied client times out, as with most CNIs.
"""

from __future__ import annotations

import asyncio
from typing import Final

from retina_tui.sandbox import netfilter
from retina_tui.sandbox.controller import Controller
from retina_tui.sandbox.netpol import (
    Allow,
    Compiled,
    Net,
    PodCache,
    PodVerdicts,
    compile_policies,
)
from retina_tui.sandbox.network import Network
from retina_tui.sandbox.store import Store

TABLE: Final = "rtui-netpol"
FEATURE: Final = "NetworkPolicy"
IPT_CHAIN: Final = "RTUI-NETPOL"


def _set(items: list[str]) -> str:
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


class _Sets:
    """Named nftables sets of peer addresses, one per distinct peer list (policies repeat)."""

    def __init__(self) -> None:
        self.names: dict[tuple[str, ...], str] = {}
        # By identity: a policy's peers are one tuple shared by its pods, and hashing a
        # tuple of hundreds of networks per reference costs more than rendering it.
        self._refs: dict[int, tuple[tuple[Net, ...], str]] = {}

    def ref(self, allow: Allow) -> str:
        known = self._refs.get(id(allow.nets))
        if known is not None:
            return known[1]
        items = tuple(str(n) if n.prefixlen < 32 else str(n.network_address) for n in allow.nets)
        if len(items) == 1:
            ref = items[0]
        else:
            ref = "@" + self.names.setdefault(items, f"peers{len(self.names)}")
        self._refs[id(allow.nets)] = (allow.nets, ref)
        return ref

    def render(self) -> list[str]:
        return [
            f"  set {name} {{\n    type ipv4_addr; flags interval;\n"
            f"    elements = {{ {', '.join(items)} }}\n  }}"
            for items, name in self.names.items()
        ]


def _nft_allow(allow: Allow, direction: str, verdict: str, sets: _Sets) -> list[str]:
    peer = "daddr" if direction == "egress" else "saddr"
    nets = sets.ref(allow)
    if allow.ports is None:
        return [f"    ip {peer} {nets} {verdict}"]
    lines = []
    for proto in sorted({p for p, _, _ in allow.ports}):
        ranges = sorted({(lo, hi) for p, lo, hi in allow.ports if p == proto})
        merged: list[tuple[int, int]] = []
        for lo, hi in ranges:
            if merged and lo <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        ports = _set([str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in merged])
        lines.append(
            f"    ip {peer} {nets} meta l4proto {proto.lower()} th dport {ports} {verdict}"
        )
    return lines


def render_nft(pods: list[PodVerdicts]) -> str:
    """The node's table: one egress and one ingress chain per isolated local pod."""
    jumps: list[str] = []
    chains: list[str] = []
    sets = _Sets()
    for index, pod in enumerate(pods):
        if pod.egress is not None:
            jumps.append(f"    ip saddr {pod.ip} jump egress-{index}")
            body = [line for a in pod.egress for line in _nft_allow(a, "egress", "return", sets)]
            chains.append(f"  chain egress-{index} {{\n" + "\n".join([*body, "    drop"]) + "\n  }")
    for index, pod in enumerate(pods):
        if pod.ingress is not None:
            jumps.append(f"    ip daddr {pod.ip} jump ingress-{index}")
            body = [line for a in pod.ingress for line in _nft_allow(a, "ingress", "accept", sets)]
            chains.append(
                f"  chain ingress-{index} {{\n" + "\n".join([*body, "    drop"]) + "\n  }"
            )
    return (
        f"table ip {TABLE} {{}}\ndelete table ip {TABLE}\ntable ip {TABLE} {{\n"
        + "".join(line + "\n" for line in sets.render())
        + "  chain forward {\n    type filter hook forward priority filter; policy accept;\n"
        "    ct state established,related accept\n"
        + "".join(line + "\n" for line in jumps)
        + "  }\n"
        + "".join(chain + "\n" for chain in chains)
        + "}\n"
    )


def _ipt_allow(chain: str, allow: Allow, direction: str, verdict: str) -> list[str]:
    flag = "-d" if direction == "egress" else "-s"
    lines = []
    for net in allow.nets:
        if allow.ports is None:
            lines.append(f"-A {chain} {flag} {net} -j {verdict}")
            continue
        for proto, lo, hi in allow.ports:
            name = proto.lower()
            ports = str(lo) if lo == hi else f"{lo}:{hi}"
            lines.append(
                f"-A {chain} {flag} {net} -p {name} -m {name} --dport {ports} -j {verdict}"
            )
    return lines


def render_iptables(pods: list[PodVerdicts]) -> str:
    """The same rules as one iptables-restore batch for the filter table."""
    declared = [IPT_CHAIN]
    body = [f"-A {IPT_CHAIN} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"]
    chains: list[str] = []
    for direction in ("egress", "ingress"):
        for index, pod in enumerate(pods):
            allows = pod.egress if direction == "egress" else pod.ingress
            if allows is None:
                continue
            chain = f"{IPT_CHAIN}-{direction[0].upper()}{index}"
            declared.append(chain)
            flag = "-s" if direction == "egress" else "-d"
            body.append(f"-A {IPT_CHAIN} {flag} {pod.ip}/32 -j {chain}")
            verdict = "RETURN" if direction == "egress" else "ACCEPT"
            for allow in allows:
                chains += _ipt_allow(chain, allow, direction, verdict)
            chains.append(f"-A {chain} -j DROP")
    lines = ["*filter", *(f":{name} - [0:0]" for name in declared), *body, *chains]
    lines += [f"-D FORWARD -j {IPT_CHAIN}", f"-I FORWARD -j {IPT_CHAIN}", "COMMIT"]
    return "\n".join(lines) + "\n"


class PolicyEnforcer(Controller):
    """Keeps every node namespace's policy rules equal to the compiled policies."""

    name = "network-policy"
    resources = ("pods", "namespaces", "networkpolicies")

    def __init__(
        self, store: Store, network: Network, backend: netfilter.Backend | None = None
    ) -> None:
        super().__init__(store)
        self.network = network
        self.compiled = Compiled()
        self._pod_cache: PodCache = {}
        self.rules = netfilter.NodeRules(FEATURE, network.mode, backend)

    async def sync(self) -> None:
        self.compiled = compile_policies(
            self.store.list("pods"),
            self.store.list("namespaces"),
            self.store.list("networkpolicies"),
            self._pod_cache,
        )
        if not self.rules.enforcing:
            return
        by_node: dict[str, list[PodVerdicts]] = {n: [] for n in self.network.node_names()}
        for pod in self.compiled.pods.values():
            if pod.node in by_node and (pod.ingress is not None or pod.egress is not None):
                by_node[pod.node].append(pod)
        render = render_nft if self.rules.backend == "nftables" else render_iptables
        work = []
        for node, pods in by_node.items():
            netns = self.network.node_netns(node)
            if netns is not None:
                work.append(self.rules.apply(netns, render(sorted(pods, key=lambda p: p.ip))))
        await asyncio.gather(*work)
