"""Service resolution and DNS prediction on hand-written objects: what a user is told."""

from __future__ import annotations

from typing import Any

from retina_tui.netmodel.names import candidates, predict_name
from retina_tui.netmodel.policy import summarize
from retina_tui.netmodel.services import endpoint_counts, resolve_service, selected_by

Obj = dict[str, Any]


def pod(name: str, labels: dict[str, str], *, ready: bool = True, reason: str = "") -> Obj:
    state = {"waiting": {"reason": reason}} if reason else {"running": {}}
    return {
        "metadata": {"namespace": "shop", "name": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
        "status": {
            "phase": "Running",
            "podIP": f"10.244.0.{len(name)}",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "c", "state": state}],
        },
    }


def service(name: str, selector: dict[str, str] | None, target: int | str = 8080) -> Obj:
    spec: Obj = {
        "clusterIP": "10.96.0.50",
        "ports": [{"name": "web", "port": 80, "targetPort": target}],
    }
    if selector is not None:
        spec["selector"] = selector
    return {"metadata": {"namespace": "shop", "name": name}, "spec": spec}


def slice_for(name: str, ips: list[tuple[str, bool]]) -> Obj:
    return {
        "metadata": {
            "namespace": "shop",
            "name": f"{name}-x",
            "labels": {"kubernetes.io/service-name": name},
        },
        "ports": [{"name": "web", "port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": [ip], "conditions": {"ready": ok}} for ip, ok in ips],
    }


def test_a_healthy_service_resolves_to_its_ready_endpoints() -> None:
    svc = service("api", {"app": "api"})
    result = resolve_service(svc, [slice_for("api", [("10.244.0.3", True), ("10.244.0.4", False)])],
                             [pod("api-1", {"app": "api"})], 80)  # fmt: skip
    assert result.ok and result.cluster_ip == "10.96.0.50"
    assert [(b.ip, b.port) for b in result.ready] == [("10.244.0.3", 8080)]
    assert endpoint_counts(svc, [slice_for("api", [("a", True), ("b", False)])]) == (1, 2)


def test_no_ready_endpoints_names_the_pods_and_why() -> None:
    pods = [pod("api-1", {"app": "api"}, ready=False, reason="CrashLoopBackOff"),
            pod("api-2", {"app": "api"}, ready=False, reason="ImagePullBackOff")]  # fmt: skip
    result = resolve_service(service("api", {"app": "api"}), [], pods, 80)
    assert result.problems == [
        "service shop/api has no ready endpoints (2 pods match, 0 ready: "
        "api-1 CrashLoopBackOff, api-2 ImagePullBackOff)"
    ]


def test_a_selector_that_matches_nothing_is_said() -> None:
    result = resolve_service(service("api", {"app": "apii"}), [], [pod("api-1", {"app": "api"})])
    assert result.problems == [
        "service shop/api selects app=apii, which matches no pod in namespace shop"
    ]


def test_a_target_port_name_no_pod_declares_is_said() -> None:
    result = resolve_service(
        service("api", {"app": "api"}, "grpc"), [], [pod("api-1", {"app": "api"})]
    )
    assert (
        "targets the port name 'grpc', which none of the 1 selected pods declares"
        in result.problems[0]
    )
    assert "api-1: http=8080" in result.problems[0]


def test_a_port_the_service_lacks_is_said() -> None:
    result = resolve_service(service("api", {"app": "api"}), [], [], 9999)
    assert result.problems == ["service shop/api has no port 9999 (its ports: 80/TCP web)"]


def test_services_selecting_a_pod() -> None:
    services = [service("api", {"app": "api"}), service("web", {"app": "web"}), service("x", None)]
    assert [s["metadata"]["name"] for s in selected_by(pod("a", {"app": "api"}), services)] == [
        "api"
    ]


def test_the_search_path_is_tried_as_a_pod_resolver_does() -> None:
    assert candidates("web", "shop") == [
        "web.shop.svc.cluster.local", "web.svc.cluster.local", "web.cluster.local", "web",
    ]  # fmt: skip
    assert candidates("a.b.c.d.e.f", "shop")[0] == "a.b.c.d.e.f"  # ndots:5 reached
    assert candidates("web.shop.svc.cluster.local.", "shop") == ["web.shop.svc.cluster.local"]


def test_dns_predictions() -> None:
    services = [service("web", {"app": "web"})]
    found = predict_name("web", "shop", services, [])
    assert found.answer == "resolves" and found.addresses == ["10.96.0.50"]
    assert found.fqdn == "web.shop.svc.cluster.local"
    assert predict_name("web.shop", "default", services, []).answer == "resolves"
    missing = predict_name("nope.shop.svc.cluster.local", "shop", services, [])
    assert missing.answer == "nxdomain"
    assert predict_name("example.com", "shop", services, []).answer == "unknown"


def test_a_policy_summary_says_what_it_lets_in() -> None:
    policy = {
        "metadata": {"namespace": "shop", "name": "db"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "db"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "api"}}}],
                         "ports": [{"port": 5432}]}],
        },
    }  # fmt: skip
    assert summarize(policy) == "selects app=db, ingress: app=api on TCP 5432, egress: nothing"
