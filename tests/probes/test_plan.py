"""Planning a check on a hand-made shop: which probes each cell runs and what is predicted."""

from __future__ import annotations

from typing import Any

from retina_tui.probes.kinds import Observation
from retina_tui.probes.plan import CheckOptions, plan
from retina_tui.probes.report import document, exit_status
from retina_tui.probes.targets import Source, parse_target
from retina_tui.probes.world import World

Obj = dict[str, Any]


def pod(name: str, ip: str, labels: dict[str, str], port: int | None = None) -> Obj:
    ports = [{"name": "http", "containerPort": port}] if port else []
    return {
        "metadata": {"namespace": "shop", "name": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "ports": ports}]},
        "status": {"phase": "Running", "podIP": ip,
                   "conditions": [{"type": "Ready", "status": "True"}]},
    }  # fmt: skip


def shop() -> World:
    backends = [("10.244.0.5", "web-1", True), ("10.244.0.6", "web-2", True)]
    return World(
        pods=[
            pod("client", "10.244.0.2", {"app": "client"}),
            pod("db", "10.244.0.3", {"app": "db"}, 5432),
            pod("web-1", "10.244.0.5", {"app": "web", "zone": "a"}, 8080),
            pod("web-2", "10.244.0.6", {"app": "web", "zone": "b"}, 8080),
        ],
        namespaces=[{"metadata": {"name": "shop"}}],
        services=[
            {
                "metadata": {"namespace": "shop", "name": "web"},
                "spec": {
                    "clusterIP": "10.96.0.80",
                    "selector": {"app": "web"},
                    "ports": [{"port": 80, "targetPort": "http"}],
                },
            }
        ],
        slices=[
            {
                "metadata": {
                    "namespace": "shop",
                    "name": "web-x",
                    "labels": {"kubernetes.io/service-name": "web"},
                },
                "ports": [{"port": 8080, "protocol": "TCP", "name": ""}],
                "endpoints": [
                    {
                        "addresses": [ip],
                        "conditions": {"ready": ok},
                        "targetRef": {"kind": "Pod", "namespace": "shop", "name": name},
                    }
                    for ip, name, ok in backends
                ],
            }
        ],
        policies=[
            {
                "metadata": {"namespace": "shop", "name": "web-zone-a"},
                "spec": {"podSelector": {"matchLabels": {"zone": "b"}}, "policyTypes": ["Ingress"]},
            }
        ],
    )


def cells_for(*targets: str, **options: Any) -> list[Any]:
    world = shop()
    parsed = [parse_target(t, "shop") for t in targets]
    return plan(world, [Source("pod", "client", "shop")], parsed, CheckOptions(**options))


def test_a_service_with_one_isolated_endpoint_is_partly_allowed() -> None:
    (cell,) = cells_for("svc/web")
    (check,) = cell.checks
    assert (check.probe.kind, check.probe.address, check.probe.port) == ("tcp", "10.96.0.80", 80)
    assert check.prediction.verdict == "partial"
    assert check.prediction.reason.startswith("1 of 2 endpoints allowed, the others denied by")
    assert check.prediction.policies == ("shop/web-zone-a",)


def test_a_cluster_ip_is_checked_as_its_service() -> None:
    (cell,) = cells_for("10.96.0.80:80")
    assert cell.checks[0].prediction.verdict == "partial"


def test_a_pod_target_defaults_to_its_declared_port_and_ping_to_the_endpoint() -> None:
    (db,) = cells_for("pod/db")
    assert [(c.probe.kind, c.probe.port) for c in db.checks] == [("tcp", 5432)]
    assert db.checks[0].prediction.verdict == "allowed"
    (client,) = cells_for("pod/client")
    assert [c.probe.kind for c in client.checks] == ["ping"]
    (web,) = cells_for("svc/web", kinds=("ping",))
    assert web.checks[0].probe.address == "10.244.0.5"  # a ClusterIP answers no ping


def test_names_are_looked_up_then_connected_to() -> None:
    (cell,) = cells_for("web:80")
    assert [c.probe.kind for c in cell.checks] == ["dns", "tcp"]
    assert cell.checks[0].prediction.verdict == "allowed"
    assert cell.checks[1].prediction.verdict == "partial"
    (missing,) = cells_for("nope.shop.svc.cluster.local")
    assert missing.checks[0].prediction.verdict == "broken"


def test_cells_that_cannot_be_probed_are_errors_with_a_reason() -> None:
    (gone,) = cells_for("pod/nope:80")
    assert gone.error == "pod shop/nope does not exist"
    (portless,) = cells_for("svc/web:9999")
    assert portless.error == "service shop/web has no port 9999 (its ports: 80/TCP)"
    assert exit_status([gone], None) == 2
    doc = document([gone], context="c", expect=None, seconds=0.0)
    assert doc["summary"] == {"cells": 1, "matching": 0, "mismatches": 0, "errors": 1,
                              "seconds": 0.0}  # fmt: skip


def test_a_mismatch_is_exit_1_and_explained() -> None:
    (cell,) = cells_for("pod/db:5432")
    cell.checks[0].observation = Observation("blocked", "timed out after 3 s")
    assert exit_status([cell], None) == 1
    assert cell.explanations() == [
        "predicted allowed, TCP connect timed out after 3 s: not a policy; look at routes, "
        "the MTU or the node firewall"
    ]
    cell.checks[0].observation = Observation("reached", "connected in 0.2 ms")
    assert exit_status([cell], None) == 0 and cell.explanations() == []
    assert exit_status([cell], "deny") == 1
