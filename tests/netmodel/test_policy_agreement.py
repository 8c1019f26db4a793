"""The evaluator agrees with the sandbox's enforcement, which is written apart from it.

The random worlds of the sandbox's own NetworkPolicy property test (namespaces, labels,
named ports, policies) are judged by `netmodel.policy.evaluate` and by the sandbox's
compiled verdicts (many examples), and, for a sample, against real TCP connects between
real pods in real network namespaces under the rules the sandbox applied.
"""

from __future__ import annotations

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


def _endpoints(pods: list[dict]) -> list:  # type: ignore[type-arg]
    found = [pod_endpoint(p) for p in pods]
    assert all(found)
    return found


@settings(max_examples=300, deadline=None)
@given(world=world_st(MODEL_IPS))
def test_evaluator_agrees_with_the_sandbox_compiled_verdicts(world: World) -> None:
    pods, namespaces, policies = objects(world, MODEL_IPS)
    compiled = compile_policies(pods, namespaces, policies)
    labels = namespace_labels(namespaces)
    endpoints = _endpoints(pods)
    for src in endpoints:
        for dst in endpoints:
            if src is dst:
                continue
            for port in PORTS:
                verdict = evaluate(src, dst, port, "TCP", policies, labels)
                assert verdict.allowed == compiled.allowed(src.ip, dst.ip, port), (
                    src.label, dst.label, port, verdict.explain(),
                )  # fmt: skip
                if not verdict.allowed:
                    assert verdict.deciding and verdict.explain().startswith(
                        "denied by NetworkPolic"
                    )


@settings(max_examples=200, deadline=None)
@given(world=world_st(MODEL_IPS))
def test_icmp_and_udp_verdicts_agree_too(world: World) -> None:
    pods, namespaces, policies = objects(world, MODEL_IPS)
    compiled = compile_policies(pods, namespaces, policies)
    labels = namespace_labels(namespaces)
    endpoints = _endpoints(pods)
    for src in endpoints:
        for dst in endpoints:
            if src is dst:
                continue
            udp = evaluate(src, dst, 7070, "UDP", policies, labels)
            assert udp.allowed == compiled.allowed(src.ip, dst.ip, 7070, "UDP")
            icmp = evaluate(src, dst, None, "ICMP", policies, labels)
            assert icmp.allowed == compiled.allowed(src.ip, dst.ip, 0, "ICMP")


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
    by_ip = {e.ip: e for e in _endpoints(pods)}
    for index, ip in enumerate(real.ips):
        src = by_ip[ip]
        targets = [(dst, port) for dst in real.ips if dst != ip for port in PORTS]
        observed = _probe(real.netns[index], targets)
        for (dst, port), seen in zip(targets, observed, strict=True):
            verdict = evaluate(src, by_ip[dst], port, "TCP", policies, labels)
            assert seen == verdict.allowed, (src.label, dst, port, verdict.explain())
