"""A check's cells: for each source and target, the probes to run and what the API predicts.

Predictions come from `netmodel` alone (policy verdicts, Service resolution, cluster DNS);
observations come from the probes. `ProbeCheck.judge` compares the two and writes the one
sentence a user reads for a cell that is not a plain success.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from retina_tui.netmodel.names import CLUSTER_DOMAIN, predict_name
from retina_tui.netmodel.policy import Endpoint, Verdict, evaluate, pod_endpoint
from retina_tui.netmodel.services import Resolution, resolve_service
from retina_tui.probes.kinds import Kind, Observation, Probe
from retina_tui.probes.targets import Source, Target
from retina_tui.probes.world import World, node_ip

Obj = dict[str, Any]
Predicted = Literal["allowed", "denied", "broken", "partial", "unknown"]
Expect = Literal["allow", "deny"]

MATCHING: dict[str, frozenset[str]] = {
    "allowed": frozenset({"reached"}),
    "denied": frozenset({"blocked"}),
    "broken": frozenset({"refused", "blocked", "failed"}),
    "partial": frozenset({"reached", "refused", "blocked", "failed"}),
    "unknown": frozenset({"reached"}),
    "allow": frozenset({"reached"}),
    "deny": frozenset({"refused", "blocked", "failed"}),
}


ANSWER_VERDICTS: dict[str, Predicted] = {
    "resolves": "allowed",
    "nxdomain": "broken",
    "unknown": "unknown",
}


class PlanError(Exception):
    """A cell that cannot be probed (no such pod, no port, no IP): its one sentence."""


@dataclass(frozen=True, slots=True)
class Prediction:
    verdict: Predicted
    reason: str
    policies: tuple[str, ...] = ()


@dataclass
class ProbeCheck:
    probe: Probe
    prediction: Prediction
    observation: Observation | None = None

    def match(self, expect: Expect | None = None) -> bool | None:
        """Whether the observation is what was predicted (or expected); None until probed."""
        if self.observation is None:
            return None
        if self.observation.outcome == "error":
            return False
        wanted = MATCHING[expect or self.prediction.verdict]
        return self.observation.outcome in wanted

    def explanation(self, expect: Expect | None = None) -> str | None:
        """One sentence for a check that is not a plain predicted success."""
        seen, said = self.observation, self.prediction
        if seen is None:
            return None
        matched = self.match(expect)
        if seen.outcome == "error":
            return f"could not probe: {seen.summary}"
        if seen.outcome == "reached" and matched:
            return None
        what = _what(self.probe)
        if expect is not None and not matched:
            return f"expected {expect}ed, {what} {seen.summary}; the API objects say: {said.reason}"
        if said.verdict == "allowed":
            if seen.outcome == "blocked":
                return (
                    f"predicted allowed, {what} {seen.summary}: not a policy; look at routes, "
                    "the MTU or the node firewall"
                )
            if seen.outcome == "refused":
                return (
                    f"predicted allowed, {what} {seen.summary} at {_where(self.probe)}: the "
                    "policies let it through but nothing listens there; check the "
                    "containerPort and the Service's targetPort"
                )
            return f"predicted allowed, {what} {seen.summary}"
        if said.verdict == "denied" and seen.outcome == "reached":
            return (
                f"predicted {said.reason}, but {what} went through ({seen.summary}): this "
                "network does not enforce that NetworkPolicy (is the CNI policy-capable?)"
            )
        if said.verdict == "broken" and seen.outcome == "reached":
            return (
                f"{said.reason}, yet {what} went through ({seen.summary}): the objects changed "
                "during the check, or something outside the cluster answered"
            )
        if self.probe.kind == "dns" and seen.outcome != "reached":
            return f"{seen.summary}: {said.reason}"
        if said.verdict in ("denied", "broken"):
            return said.reason
        return f"{what} {seen.summary} ({said.reason})"


def _what(probe: Probe) -> str:
    return {
        "tcp": "TCP connect",
        "http": "HTTP GET",
        "ping": "ping",
        "mtu": "the MTU probe",
        "dns": "the lookup",
    }[probe.kind]


def _where(probe: Probe) -> str:
    return f"{probe.address}:{probe.port}" if probe.port is not None else probe.address


@dataclass
class Cell:
    source: Source
    target: Target
    checks: list[ProbeCheck] = field(default_factory=list)
    error: str | None = None
    """Why the cell could not be planned (then it has no checks)."""

    @property
    def done(self) -> bool:
        return self.error is not None or all(c.observation is not None for c in self.checks)

    def match(self, expect: Expect | None = None) -> bool | None:
        if self.error is not None:
            return False
        results = [c.match(expect) for c in self.checks]
        if any(r is None for r in results):
            return None
        return all(results)

    @property
    def failed(self) -> bool:
        """An error: the cell could not be planned or a probe could not run."""
        return self.error is not None or any(
            c.observation is not None and c.observation.outcome == "error" for c in self.checks
        )

    def explanations(self, expect: Expect | None = None) -> list[str]:
        if self.error is not None:
            return [self.error]
        return [e for c in self.checks if (e := c.explanation(expect))]


@dataclass(frozen=True, slots=True)
class CheckOptions:
    kinds: tuple[Kind, ...] = ()
    """Probes to run on every target (empty: what suits each target)."""
    port: int | None = None
    timeout: float = 3.0
    path: str = "/"


def source_endpoint(world: World, source: Source) -> Endpoint:
    if source.kind == "node":
        node = world.node(source.name)
        address = node_ip(node) if node is not None else None
        if address is None:
            raise PlanError(f"node {source.name} has no address; check kubectl get node -o wide")
        return Endpoint(address)
    pod = world.pod(source.namespace, source.name)
    if pod is None:
        raise PlanError(f"pod {source.namespace}/{source.name} does not exist")
    endpoint = pod_endpoint(pod)
    if endpoint is None:
        raise PlanError(f"pod {source.namespace}/{source.name} has no IP yet (is it running?)")
    return endpoint


def _connection(
    world: World, src: Endpoint, dsts: list[tuple[Endpoint, int | None]], protocol: str
) -> Prediction:
    verdicts: list[Verdict] = [
        evaluate(src, dst, port, protocol, world.policies, world.namespace_labels)
        for dst, port in dsts
    ]
    allowed = [v for v in verdicts if v.allowed]
    denied = [v for v in verdicts if not v.allowed]
    deciding = tuple(dict.fromkeys(p for v in verdicts for p in v.deciding))
    if not denied:
        return Prediction("allowed", allowed[0].explain(), deciding)
    if not allowed:
        many = f" (all {len(denied)} endpoints)" if len(denied) > 1 else ""
        return Prediction("denied", denied[0].explain() + many, deciding)
    return Prediction(
        "partial",
        f"{len(allowed)} of {len(verdicts)} endpoints allowed, the others {denied[0].explain()}",
        deciding,
    )


def _pod_port(pod: Obj, wanted: int | str | None) -> int | None:
    ports = [
        p
        for c in (pod.get("spec") or {}).get("containers") or []
        for p in c.get("ports") or []
        if isinstance(p.get("containerPort"), int)
    ]
    if isinstance(wanted, int):
        return wanted
    if isinstance(wanted, str):
        return next((p["containerPort"] for p in ports if p.get("name") == wanted), None)
    return ports[0]["containerPort"] if ports else None


def _kinds(target: Target, port: int | str | None, options: CheckOptions) -> list[Kind]:
    if options.kinds:
        usable: list[Kind] = []
        for kind in options.kinds:
            if kind == "dns" and target.kind not in ("name", "svc"):
                continue
            usable.append(kind)
        return usable
    if target.kind == "name":
        return ["dns", "tcp"] if port is not None else ["dns"]
    if target.kind == "svc":
        return ["tcp"]
    return ["tcp"] if port is not None else ["ping"]


def _dns_prediction(world: World, source: Source, src: Endpoint, name: str) -> Prediction:
    if not src.is_pod:
        return Prediction("unknown", "a node resolves names with its own resolv.conf")
    predicted = predict_name(name, source.namespace, world.services, world.slices)
    dns = world.service("kube-system", "kube-dns")
    if dns is not None:
        resolution = resolve_service(dns, world.slices, world.pods, 53)
        backends = [(world.endpoint_at(b.ip), b.port) for b in resolution.ready]
        if backends:
            egress = _connection(world, src, backends, "UDP")
            if egress.verdict == "denied":
                return Prediction("denied", f"DNS lookups are {egress.reason}", egress.policies)
    return Prediction(ANSWER_VERDICTS[predicted.answer], predicted.reason)


def _service_cell(
    world: World, source: Source, src: Endpoint, target: Target, kinds: list[Kind],
    options: CheckOptions,
) -> list[ProbeCheck]:  # fmt: skip
    service = world.service(target.namespace, target.name)
    if service is None:
        raise PlanError(f"service {target.namespace}/{target.name} does not exist")
    resolution = resolve_service(service, world.slices, world.pods, target.port or options.port)
    checks = []
    for kind in kinds:
        if kind == "dns":
            fqdn = f"{target.name}.{target.namespace}.svc.{CLUSTER_DOMAIN}"
            probe = Probe("dns", fqdn, timeout=options.timeout)
            checks.append(ProbeCheck(probe, _dns_prediction(world, source, src, fqdn)))
            continue
        if kind in ("ping", "mtu"):
            checks.append(_service_icmp(world, src, resolution, kind, options))
            continue
        address, port, prediction = _service_prediction(world, src, resolution)
        checks.append(
            ProbeCheck(Probe(kind, address, port, options.path, options.timeout), prediction)
        )
    return checks


def _service_icmp(
    world: World, src: Endpoint, resolution: Resolution, kind: Kind, options: CheckOptions
) -> ProbeCheck:
    """ICMP to a Service goes to its first ready endpoint: a ClusterIP is virtual and
    answers no ping under kube-proxy's iptables and nftables modes."""
    if not resolution.ready:
        raise PlanError(resolution.problems[0] if resolution.problems else "no ready endpoint")
    backend = resolution.ready[0]
    prediction = _connection(world, src, [(world.endpoint_at(backend.ip), None)], "ICMP")
    return ProbeCheck(Probe(kind, backend.ip, timeout=options.timeout), prediction)


def _service_prediction(
    world: World, src: Endpoint, resolution: Resolution
) -> tuple[str, int | None, Prediction]:
    port = resolution.port
    backends = resolution.ready
    address = resolution.cluster_ip or (backends[0].ip if backends else "")
    number = (port.port if port else None) if resolution.cluster_ip else None
    if resolution.cluster_ip is None and backends:
        number = backends[0].port
    if not resolution.ok:
        if not address or port is None:
            raise PlanError(resolution.problems[0])
        return address, number, Prediction("broken", resolution.problems[0])
    protocol = port.protocol if port else "TCP"
    dsts = [(world.endpoint_at(b.ip), b.port) for b in backends]
    return address, number, _connection(world, src, dsts, protocol)


def plan_cell(world: World, source: Source, target: Target, options: CheckOptions) -> Cell:
    """The probes for one cell, each with its prediction."""
    cell = Cell(source, target)
    try:
        src = source_endpoint(world, source)
        cell.checks = _plan(world, source, src, target, options)
    except PlanError as error:
        cell.error = str(error)
    return cell


def _plan(
    world: World, source: Source, src: Endpoint, target: Target, options: CheckOptions
) -> list[ProbeCheck]:
    port = target.port if target.port is not None else options.port
    if target.kind == "ip" and (service := world.service_at(target.name)) is not None:
        meta = service.get("metadata") or {}
        as_service = Target("svc", str(meta.get("name")), str(meta.get("namespace")), port)
        return _service_cell(world, source, src, as_service, _kinds(as_service, port, options),
                             options)  # fmt: skip
    kinds = _kinds(target, port, options)
    if target.kind == "svc":
        return _service_cell(world, source, src, target, kinds, options)
    if target.kind == "name":
        checks = []
        for kind in kinds:
            if kind == "dns":
                prediction = _dns_prediction(world, source, src, target.name)
                checks.append(
                    ProbeCheck(Probe("dns", target.name, timeout=options.timeout), prediction)
                )
                continue
            if kind in ("tcp", "http") and not isinstance(port, int):
                raise PlanError(f"no port to probe {target.label} on; give --port or NAME:PORT")
            checks.append(
                ProbeCheck(
                    Probe(
                        kind,
                        target.name,
                        port if isinstance(port, int) else None,
                        options.path,
                        options.timeout,
                    ),
                    _name_prediction(world, source, src, target.name, port),
                )
            )
        return checks
    address, dst, port = _address(world, target, port)
    kinds = _kinds(target, port, options)
    checks = []
    for kind in kinds:
        if kind in ("tcp", "http") and port is None:
            raise PlanError(
                f"no port to probe {target.label} on; give --port or {target.label}:PORT"
            )
        icmp = kind in ("ping", "mtu")
        prediction = _connection(
            world, src, [(dst, None if icmp else port)], "ICMP" if icmp else "TCP"
        )
        checks.append(
            ProbeCheck(
                Probe(kind, address, None if icmp else port, options.path, options.timeout),
                prediction,
            )
        )
    return checks


def _address(
    world: World, target: Target, port: int | str | None
) -> tuple[str, Endpoint, int | None]:
    if target.kind == "pod":
        pod = world.pod(target.namespace, target.name)
        if pod is None:
            raise PlanError(f"pod {target.namespace}/{target.name} does not exist")
        dst = pod_endpoint(pod)
        if dst is None:
            raise PlanError(f"pod {target.namespace}/{target.name} has no IP yet (is it running?)")
        number = _pod_port(pod, port)
        if port is not None and number is None:
            raise PlanError(f"pod {target.namespace}/{target.name} declares no port named {port!r}")
        return dst.ip, dst, number
    if target.kind == "node":
        node = world.node(target.name)
        address = node_ip(node) if node is not None else None
        if address is None:
            raise PlanError(f"node {target.name} does not exist or has no address")
        return address, Endpoint(address), port if isinstance(port, int) else None
    return target.name, world.endpoint_at(target.name), port if isinstance(port, int) else None


def _name_prediction(
    world: World, source: Source, src: Endpoint, name: str, port: int | str | None
) -> Prediction:
    predicted = predict_name(name, source.namespace or "default", world.services, world.slices)
    if predicted.service is not None and predicted.answer == "resolves":
        resolution = resolve_service(predicted.service, world.slices, world.pods, port)
        return _service_prediction(world, src, resolution)[2]
    if predicted.answer == "nxdomain":
        return Prediction("broken", predicted.reason)
    return Prediction("unknown", predicted.reason)


def plan(
    world: World, sources: list[Source], targets: list[Target], options: CheckOptions
) -> list[Cell]:
    """Every cell of the matrix, sources by rows."""
    return [plan_cell(world, s, t, options) for s in sources for t in targets]
