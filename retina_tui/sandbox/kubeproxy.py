"""kube-proxy for the sandbox: Service traffic DNAT-ed to endpoints in every node namespace.

Like the real kube-proxy it reads only Services and EndpointSlices, and writes the whole
rule set on every change, atomically (one `nft -f` script or one `iptables-restore` batch
per node namespace, skipped when the text did not change). Pod traffic crosses its node's
namespace (routed, or bridged through br_netfilter), so the rules there serve every pod of
the node, host-network pods and the node's own processes (output hook) alike:
- ClusterIP:port -> one endpoint chosen at random per connection; NodePorts on the node's
  addresses likewise, masqueraded so replies come back through the node;
- a port without a usable endpoint is rejected (TCP reset / ICMP port unreachable), so a
  client fails at once with "Connection refused", as kube-proxy's reject rules do;
- hairpin traffic (a pod reaching itself through its Service) is masqueraded.
Usable endpoints are the ready ones, else the serving terminating ones (kube-proxy's
fallback while a rollout drains).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Final

from retina_tui.sandbox import clusternet, netfilter
from retina_tui.sandbox.controller import Controller
from retina_tui.sandbox.network import Network
from retina_tui.sandbox.store import Store

log = logging.getLogger("retina_tui.sandbox")

Obj = dict[str, Any]
TABLE: Final = "rtui-kube-proxy"
MASQ_MARK: Final = 0x4000
FEATURE: Final = "Services (kube-proxy)"


@dataclass(frozen=True, slots=True)
class Rule:
    """One Service port and where its traffic goes."""

    chain: str
    cluster_ip: str
    protocol: str
    port: int
    node_port: int | None
    endpoints: tuple[tuple[str, int], ...]


def _usable(endpoints: list[Obj]) -> list[Obj]:
    ready = [e for e in endpoints if (e.get("conditions") or {}).get("ready") is not False]
    if ready:
        return ready
    return [
        e
        for e in endpoints
        if (e.get("conditions") or {}).get("serving")
        and (e.get("conditions") or {}).get("terminating")
    ]


def service_rules(store: Store) -> list[Rule]:
    """Every Service port with its endpoints, from Services and EndpointSlices only."""
    slices: dict[tuple[str, str], list[Obj]] = {}
    for slice_ in store.list("endpointslices"):
        meta = slice_["metadata"]
        owner = (meta.get("labels") or {}).get(clusternet.SERVICE_NAME_LABEL)
        if owner and slice_.get("addressType", "IPv4") == "IPv4":
            slices.setdefault((meta.get("namespace", ""), owner), []).append(slice_)
    rules: list[Rule] = []
    for index, svc in enumerate(store.list("services")):
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        if not ip or ip == "None" or spec.get("type") == "ExternalName":
            continue
        key = (svc["metadata"].get("namespace", ""), svc["metadata"]["name"])
        for number, port in enumerate(spec.get("ports") or []):
            name, protocol = port.get("name") or "", port.get("protocol", "TCP")
            if protocol not in ("TCP", "UDP", "SCTP"):
                continue
            targets: set[tuple[str, int]] = set()
            for slice_ in slices.get(key, []):
                match = [
                    p
                    for p in slice_.get("ports") or []
                    if (p.get("name") or "") == name and p.get("protocol", "TCP") == protocol
                ]
                if not match or not isinstance(match[0].get("port"), int):
                    continue
                for endpoint in _usable(slice_.get("endpoints") or []):
                    for address in endpoint.get("addresses") or []:
                        targets.add((address, match[0]["port"]))
            node_port = (
                port.get("nodePort") if spec.get("type") in ("NodePort", "LoadBalancer") else None
            )
            rules.append(
                Rule(
                    chain=f"svc-{index}-{number}",
                    cluster_ip=ip,
                    protocol=protocol.lower(),
                    port=int(port.get("port") or 0),
                    node_port=node_port if isinstance(node_port, int) else None,
                    endpoints=tuple(sorted(targets)),
                )
            )
    return rules


def render_nft(rules: list[Rule]) -> str:
    """The whole nftables table, replacing the previous one in the same transaction."""
    lines = [f"table ip {TABLE} {{}}", f"delete table ip {TABLE}", f"table ip {TABLE} {{"]
    dispatch: list[str] = []
    reject: list[str] = []
    chains: list[str] = []
    for rule in rules:
        match = f"meta l4proto {rule.protocol} th dport"
        if not rule.endpoints:
            reject.append(f"    ip daddr {rule.cluster_ip} {match} {rule.port} jump reject-it")
            if rule.node_port:
                reject.append(f"    fib daddr type local {match} {rule.node_port} jump reject-it")
            continue
        dispatch.append(f"    ip daddr {rule.cluster_ip} {match} {rule.port} goto {rule.chain}")
        if rule.node_port:
            dispatch.append(
                f"    fib daddr type local {match} {rule.node_port} "
                f"meta mark set meta mark | {MASQ_MARK:#x} goto {rule.chain}"
            )
        targets = []
        for number, (address, port) in enumerate(rule.endpoints):
            sep = f"{rule.chain}-ep{number}"
            targets.append(f"{number} : goto {sep}")
            chains.append(
                f"  chain {sep} {{\n"
                f"    ip saddr {address} meta mark set meta mark | {MASQ_MARK:#x}\n"
                f"    meta l4proto {rule.protocol} dnat to {address}:{port}\n  }}"
            )
        if len(targets) == 1:
            chains.append(f"  chain {rule.chain} {{\n    goto {rule.chain}-ep0\n  }}")
        else:
            chains.append(
                f"  chain {rule.chain} {{\n    numgen random mod {len(targets)} vmap "
                f"{{ {', '.join(targets)} }}\n  }}"
            )
    lines += [
        "  chain services {",
        *dispatch,
        "  }",
        "  chain nat-prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
        "    jump services\n  }",
        "  chain nat-output {\n    type nat hook output priority -100; policy accept;\n"
        "    jump services\n  }",
        "  chain nat-postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n"
        f"    meta mark & {MASQ_MARK:#x} == {MASQ_MARK:#x} masquerade\n  }}",
        "  chain reject-it {\n    meta l4proto tcp reject with tcp reset\n"
        "    reject with icmp type port-unreachable\n  }",
        "  chain no-endpoints {",
        *reject,
        "  }",
        "  chain filter-forward {\n    type filter hook forward priority -110; policy accept;\n"
        "    ct state new jump no-endpoints\n  }",
        "  chain filter-output {\n    type filter hook output priority -110; policy accept;\n"
        "    ct state new jump no-endpoints\n  }",
        "  chain filter-input {\n    type filter hook input priority -110; policy accept;\n"
        "    ct state new jump no-endpoints\n  }",
        *chains,
        "}",
    ]
    return "\n".join(lines) + "\n"


def render_iptables(rules: list[Rule]) -> str:
    """The same rules as one iptables-restore batch (our chains flushed and refilled)."""
    nat = ["*nat"]
    filt = ["*filter"]
    own_nat = ["KUBE-SERVICES", "KUBE-POSTROUTING"]
    own_filter = ["KUBE-REJECT"]
    body_nat: list[str] = []
    body_filter: list[str] = []
    for rule in rules:
        proto = rule.protocol
        if not rule.endpoints:
            body_filter.append(
                f"-A KUBE-REJECT -d {rule.cluster_ip}/32 -p {proto} -m {proto} --dport {rule.port} "
                + ("-j REJECT --reject-with tcp-reset" if proto == "tcp" else "-j REJECT")
            )
            if rule.node_port:
                body_filter.append(
                    f"-A KUBE-REJECT -m addrtype --dst-type LOCAL -p {proto} -m {proto} "
                    f"--dport {rule.node_port} "
                    + ("-j REJECT --reject-with tcp-reset" if proto == "tcp" else "-j REJECT")
                )
            continue
        chain = f"KUBE-{rule.chain.upper()}"
        own_nat.append(chain)
        body_nat.append(
            f"-A KUBE-SERVICES -d {rule.cluster_ip}/32 -p {proto} -m {proto} "
            f"--dport {rule.port} -j {chain}"
        )
        if rule.node_port:
            body_nat.append(
                f"-A KUBE-SERVICES -m addrtype --dst-type LOCAL -p {proto} -m {proto} "
                f"--dport {rule.node_port} -j MARK --or-mark {MASQ_MARK:#x}"
            )
            body_nat.append(
                f"-A KUBE-SERVICES -m addrtype --dst-type LOCAL -p {proto} -m {proto} "
                f"--dport {rule.node_port} -j {chain}"
            )
        count = len(rule.endpoints)
        for number, (address, port) in enumerate(rule.endpoints):
            sep = f"{chain}-EP{number}"
            own_nat.append(sep)
            remaining = count - number
            pick = (
                f"-m statistic --mode random --probability {1 / remaining:.10f} "
                if remaining > 1
                else ""
            )
            body_nat.append(f"-A {chain} {pick}-j {sep}")
            body_nat.append(f"-A {sep} -s {address}/32 -j MARK --or-mark {MASQ_MARK:#x}")
            body_nat.append(f"-A {sep} -p {proto} -j DNAT --to-destination {address}:{port}")
    body_nat.append(
        f"-A KUBE-POSTROUTING -m mark --mark {MASQ_MARK:#x}/{MASQ_MARK:#x} -j MASQUERADE"
    )
    nat += [f":{name} - [0:0]" for name in own_nat]
    nat += body_nat
    nat += [
        "-D PREROUTING -j KUBE-SERVICES",
        "-I PREROUTING -j KUBE-SERVICES",
        "-D OUTPUT -j KUBE-SERVICES",
        "-I OUTPUT -j KUBE-SERVICES",
        "-D POSTROUTING -j KUBE-POSTROUTING",
        "-I POSTROUTING -j KUBE-POSTROUTING",
        "COMMIT",
    ]
    filt += [f":{name} - [0:0]" for name in own_filter]
    filt += body_filter
    for hook in ("FORWARD", "OUTPUT", "INPUT"):
        filt += [
            f"-D {hook} -m conntrack --ctstate NEW -j KUBE-REJECT",
            f"-I {hook} -m conntrack --ctstate NEW -j KUBE-REJECT",
        ]
    filt.append("COMMIT")
    return "\n".join(nat + filt) + "\n"


class KubeProxy(Controller):
    """Programs every node namespace from Services and EndpointSlices."""

    name = "kube-proxy"
    resources = ("services", "endpointslices")

    def __init__(
        self, store: Store, network: Network, backend: netfilter.Backend | None = None
    ) -> None:
        super().__init__(store)
        self.network = network
        self.rules = netfilter.NodeRules(FEATURE, network.mode, backend)

    async def sync(self) -> None:
        if not self.rules.enforcing:
            return
        rules = service_rules(self.store)
        text = render_nft(rules) if self.rules.backend == "nftables" else render_iptables(rules)
        namespaces = [
            netns
            for node in self.network.node_names()
            if (netns := self.network.node_netns(node)) is not None
        ]
        await asyncio.gather(*(self.rules.apply(netns, text) for netns in namespaces))
