"""The real kubectl on Services, EndpointSlices and NetworkPolicies of the sandbox."""

from __future__ import annotations

import json
import os
import secrets
import select
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def app(sandbox_cluster: Any) -> Iterator[str]:
    """A running pod of this test's own in `default`, labelled app=<its name>."""
    name = f"svc-{secrets.token_hex(3)}"
    made = sandbox_cluster.kubectl(
        "run", name, "--image=python:3.12-slim", f"--labels=app={name}", "--restart=Never",
        "--port=8080", "--", "python3", "-m", "http.server", "8080",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    ready = sandbox_cluster.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
    assert ready.returncode == 0, ready.stderr
    yield name
    sandbox_cluster.kubectl("delete", "svc", name, "--ignore-not-found")
    sandbox_cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")


def get_json(cluster: Any, *args: str) -> Any:
    result = cluster.kubectl("get", *args, "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def slices_of(cluster: Any, service: str) -> list[Any]:
    found = get_json(cluster, "endpointslices", "-l", f"kubernetes.io/service-name={service}")
    items: list[Any] = found["items"]
    return items


def test_expose_gives_a_service_its_endpoints(sandbox_cluster: Any, app: str) -> None:
    made = sandbox_cluster.kubectl("expose", "pod", app, "--port=80", "--target-port=8080")
    assert made.returncode == 0, made.stderr
    svc = get_json(sandbox_cluster, "svc", app)
    assert svc["spec"]["selector"] == {"app": app}
    assert svc["spec"]["clusterIP"].startswith("10.96.")
    pod_ip = get_json(sandbox_cluster, "pod", app)["status"]["podIP"]
    (slice_,) = slices_of(sandbox_cluster, app)
    assert slice_["endpoints"][0]["addresses"] == [pod_ip]
    assert slice_["endpoints"][0]["conditions"]["ready"] is True
    assert slice_["ports"][0]["port"] == 8080
    wide = sandbox_cluster.kubectl("get", "svc,endpointslices", "-o", "wide")
    assert wide.returncode == 0, wide.stderr
    row = next(line for line in wide.stdout.splitlines() if line.startswith(f"service/{app} "))
    assert row.split()[1:5] == ["ClusterIP", svc["spec"]["clusterIP"], "<none>", "80/TCP"]
    assert row.split()[-1] == f"app={app}"
    assert any(
        line.startswith(f"endpointslice.discovery.k8s.io/{app}-") and pod_ip in line
        for line in wide.stdout.splitlines()
    ), wide.stdout
    described = sandbox_cluster.kubectl("describe", "svc", app)
    assert described.returncode == 0, described.stderr
    text = described.stdout
    assert f"IP:                       {svc['spec']['clusterIP']}" in text
    assert "TargetPort:               8080/TCP" in text
    assert f"Endpoints:                {pod_ip}:8080" in text


def test_create_service_nodeport_and_its_conflicts(sandbox_cluster: Any) -> None:
    name = f"np-{secrets.token_hex(3)}"
    made = sandbox_cluster.kubectl("create", "service", "nodeport", name, "--tcp=80:8080")
    assert made.returncode == 0, made.stderr
    try:
        port = get_json(sandbox_cluster, "svc", name)["spec"]["ports"][0]["nodePort"]
        assert 30000 <= port <= 32767
        again = sandbox_cluster.kubectl(
            "create", "service", "nodeport", name + "b", "--tcp=80:8080", f"--node-port={port}"
        )
        assert again.returncode != 0
        assert (
            f'Service "{name}b" is invalid: spec.ports[0].nodePort: Invalid value: {port}: '
            "provided port is already allocated"
        ) in again.stderr
        outside = sandbox_cluster.kubectl(
            "create", "service", "nodeport", name + "c", "--tcp=80:8080", "--node-port=80"
        )
        assert (
            "provided port is not in the valid range. The range of valid ports is 30000-32767"
            in (outside.stderr)
        )
    finally:
        sandbox_cluster.kubectl("delete", "svc", name)


def test_cluster_ip_requests_are_checked_like_the_api_server(sandbox_cluster: Any) -> None:
    name = f"ip-{secrets.token_hex(3)}"
    taken = sandbox_cluster.kubectl(
        "create", "service", "clusterip", name, "--tcp=80:8080", "--clusterip=10.96.0.10"
    )
    assert taken.returncode != 0
    assert (
        f'Service "{name}" is invalid: spec.clusterIPs: Invalid value: ["10.96.0.10"]: failed to '
        "allocate IP 10.96.0.10: provided IP is already allocated"
    ) in taken.stderr
    outside = sandbox_cluster.kubectl(
        "create", "service", "clusterip", name, "--tcp=80:8080", "--clusterip=10.97.0.1"
    )
    assert (
        "the provided IP (10.97.0.1) is not in the valid range. The range of valid IPs is "
        "10.96.0.0/16"
    ) in outside.stderr
    dry = sandbox_cluster.kubectl(
        "create", "service", "clusterip", name, "--tcp=80:8080", "--clusterip=10.96.77.77",
        "--dry-run=server", "-o", "json",
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    made = sandbox_cluster.kubectl(
        "create", "service", "clusterip", name, "--tcp=80:8080", "--clusterip=10.96.77.77"
    )
    assert made.returncode == 0, made.stderr  # the dry run allocated nothing
    try:
        changed = sandbox_cluster.kubectl(
            "patch", "svc", name, "--type=merge", "-p", '{"spec":{"clusterIP":"10.96.77.78"}}'
        )
        assert changed.returncode != 0
        assert 'spec.clusterIPs[0]: Invalid value: ["10.96.77.78"]: may not change once set' in (
            changed.stderr
        )
        ports = sandbox_cluster.kubectl(
            "patch", "svc", name, "--type=json",
            "-p", '[{"op":"replace","path":"/spec/ports/0/port","value":0}]',
        )  # fmt: skip
        assert "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive" in (
            ports.stderr
        )
        strategic = sandbox_cluster.kubectl(
            "patch", "svc", name, "-p", '{"spec":{"ports":[{"port":80,"targetPort":9090}]}}'
        )
        assert strategic.returncode == 0, strategic.stderr
        (port,) = get_json(sandbox_cluster, "svc", name)["spec"]["ports"]
        assert (port["port"], port["targetPort"], port["name"]) == (80, 9090, "80-8080")
    finally:
        sandbox_cluster.kubectl("delete", "svc", name)


def test_watching_endpointslices_shows_a_pod_going_away(sandbox_cluster: Any, app: str) -> None:
    assert sandbox_cluster.kubectl("expose", "pod", app, "--port=80").returncode == 0
    pod_ip = get_json(sandbox_cluster, "pod", app)["status"]["podIP"]
    watch = sandbox_cluster.kubectl_popen(
        "get", "endpointslices", "-l", f"kubernetes.io/service-name={app}", "-w",
        "--output-watch-events",
    )  # fmt: skip
    seen = ""
    try:
        assert watch.stdout is not None
        fd = watch.stdout.fileno()
        deadline = time.monotonic() + 30
        deleted = False
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                seen += os.read(fd, 65536).decode()
            lines = seen.splitlines()
            if not deleted and any(pod_ip in line for line in lines):
                gone = sandbox_cluster.kubectl(
                    "delete", "pod", app, "--wait=false", "--grace-period=1"
                )
                assert gone.returncode == 0, gone.stderr
                deleted = True
            if deleted and any(line.startswith("MODIFIED") and "<none>" in line for line in lines):
                break
        assert deleted, seen
        assert any(
            line.startswith("MODIFIED") and "<none>" in line for line in seen.splitlines()
        ), seen
    finally:
        watch.kill()
        watch.wait()


def test_network_policies_are_created_listed_and_described(
    sandbox_cluster: Any, tmp_path: Any
) -> None:
    name = f"deny-{secrets.token_hex(3)}"
    manifest = tmp_path / "policy.yaml"
    manifest.write_text(
        textwrap.dedent(
            f"""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {{name: {name}}}
            spec:
              podSelector: {{matchLabels: {{app: nothing-{name}}}}}
              policyTypes: [Ingress]
              ingress:
              - from:
                - ipBlock: {{cidr: 10.0.0.0/8, except: [10.244.0.0/16]}}
                ports: [{{port: 8080, endPort: 8090}}]
            """
        )
    )
    made = sandbox_cluster.kubectl("create", "-f", str(manifest))
    assert made.returncode == 0, made.stderr
    try:
        listed = sandbox_cluster.kubectl("get", "netpol")
        row = next(line for line in listed.stdout.splitlines() if line.startswith(name))
        assert row.split()[1] == f"app=nothing-{name}"
        described = sandbox_cluster.kubectl("describe", "networkpolicy", name)
        assert described.returncode == 0, described.stderr
        assert f"PodSelector:     app=nothing-{name}" in described.stdout
        assert "IPBlock:" in described.stdout and "CIDR: 10.0.0.0/8" in described.stdout
        assert "Except: 10.244.0.0/16" in described.stdout
        shop = sandbox_cluster.kubectl("describe", "networkpolicy", "db-allow-api", "-n", "shop")
        assert "PodSelector: app=api" in shop.stdout, shop.stdout
    finally:
        sandbox_cluster.kubectl("delete", "netpol", name)


def test_api_resources_lists_the_network_resources(sandbox_cluster: Any) -> None:
    listed = sandbox_cluster.kubectl("api-resources")
    assert listed.returncode == 0, listed.stderr
    kinds = {line.split()[-1]: line.split() for line in listed.stdout.splitlines()[1:]}
    assert kinds["Service"][:2] == ["services", "svc"]
    assert kinds["EndpointSlice"][1] == "discovery.k8s.io/v1"
    assert kinds["NetworkPolicy"][:3] == ["networkpolicies", "netpol", "networking.k8s.io/v1"]
