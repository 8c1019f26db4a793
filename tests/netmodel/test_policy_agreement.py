"""The evaluator agrees with the sandbox's enforcement, which is written apart from it.

The random worlds of the sandbox's own NetworkPolicy property test (namespaces, labels,
named ports, policies) are judged by `netmodel.policy.evaluate` and by the sandbox's
compiled verdicts (many examples), and, for a sample, against real TCP connects between
real pods in real network namespaces under the rules the sandbox applied.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retina_tui.netmodel.policy import evaluate, namespace_labels, pod_endpoint
from retina_tui.sandbox.netpol import compile_policies
from tests.sandbox.test_network_policy_property import (
    MODEL_IPS,
    NAMESPACES,
    PORTS,
    Real,
    World,
    _apply_world,
    _probe,
    objects,
    real,
    world_st,
)

__all__ = ["real"]  # the module fixture, shared


def _judges(world: World) -> tuple[Any, Any]:
    """(netmodel's verdict, the sandbox's) as functions of (src, dst, port, protocol), and
    the pairs of distinct endpoints of the world."""
    pods, namespaces, policies = objects(world, MODEL_IPS)
    compiled = compile_policies(pods, namespaces, policies)
    labels = namespace_labels(namespaces)
    endpoints = [pod_endpoint(p) for p in pods]
    assert all(endpoints)
    pairs = [(s, d) for s in endpoints for d in endpoints if s is not d]

    def ours(src: Any, dst: Any, port: int | None, protocol: str) -> Any:
        return evaluate(src, dst, port, protocol, policies, labels)

    def theirs(src: Any, dst: Any, port: int | None, protocol: str) -> bool:
        return bool(compiled.allowed(src.ip, dst.ip, port or 0, protocol))

    return (ours, theirs), pairs


@settings(max_examples=300, deadline=None)
@given(world=world_st(MODEL_IPS))
def test_evaluator_agrees_with_the_sandbox_compiled_verdicts(world: World) -> None:
    (ours, theirs), pairs = _judges(world)
    for src, dst in pairs:
        for port in PORTS:
            verdict = ours(src, dst, port, "TCP")
            assert verdict.allowed == theirs(src, dst, port, "TCP"), (
                src.label, dst.label, port, verdict.explain(),
            )  # fmt: skip
            if not verdict.allowed:
                assert verdict.deciding
                assert verdict.explain().startswith("denied by NetworkPolic")


@settings(max_examples=200, deadline=None)
@given(world=world_st(MODEL_IPS))
def test_icmp_and_udp_verdicts_agree_too(world: World) -> None:
    (ours, theirs), pairs = _judges(world)
    for src, dst in pairs:
        assert ours(src, dst, 7070, "UDP").allowed == theirs(src, dst, 7070, "UDP")
        assert ours(src, dst, None, "ICMP").allowed == theirs(src, dst, None, "ICMP")


@pytest.mark.netns
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_evaluator_predicts_real_connects(real: Real, data: st.DataObject) -> None:
    world = data.draw(world_st(real.ips))
    real.loop.run(_apply_world(real.sandbox, world))
    store = real.sandbox.store
    pods = [p for p in store.list("pods") if p["metadata"]["namespace"] in NAMESPACES]
    namespaces = [n for n in store.list("namespaces") if n["metadata"]["name"] in NAMESPACES]
    policies = [
        p for p in store.list("networkpolicies") if p["metadata"]["namespace"] in NAMESPACES
    ]
    labels = namespace_labels(namespaces)
    by_ip = {e.ip: e for e in map(pod_endpoint, pods) if e is not None}
    for index, ip in enumerate(real.ips):
        src = by_ip[ip]
        targets = [(dst, port) for dst in real.ips if dst != ip for port in PORTS]
        observed = _probe(real.netns[index], targets)
        for (dst, port), seen in zip(targets, observed, strict=True):
            verdict = evaluate(src, by_ip[dst], port, "TCP", policies, labels)
            assert seen == verdict.allowed, (src.label, dst, port, verdict.explain())
