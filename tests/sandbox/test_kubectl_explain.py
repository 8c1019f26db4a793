"""The OpenAPI documents through the real kubectl: `kubectl explain` and validated `apply -f`."""

from __future__ import annotations

import json
import re
import secrets
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def fields(output: str) -> dict[str, str]:
    """FIELDS of an explain output: name -> `<type>` and an optional ` -required-`."""
    listed = output.split("FIELDS:\n", 1)[1]
    return dict(re.findall(r"^  (\w+)\t(<[^>]+>(?: -required-)?)", listed, re.MULTILINE))


def test_explain_pods_lists_the_top_level_fields(sandbox_cluster: Any) -> None:
    result = sandbox_cluster.kubectl("explain", "pods")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("KIND:       Pod\nVERSION:    v1\n")
    assert "Pod is a collection of containers that can run on a host." in result.stdout
    assert fields(result.stdout) == {
        "apiVersion": "<string>",
        "kind": "<string>",
        "metadata": "<ObjectMeta>",
        "spec": "<PodSpec>",
        "status": "<Object>",
    }


def test_explain_containers_shows_types_and_descriptions(sandbox_cluster: Any) -> None:
    result = sandbox_cluster.kubectl("explain", "pods.spec.containers")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "FIELD: containers <[]Container>" in out
    assert "A single application container that you want to run within a pod." in out
    listed = fields(out)
    assert listed["name"] == "<string> -required-"
    assert listed["image"] == "<string>"
    assert listed["command"] == "<[]string>"
    assert listed["ports"] == "<[]ContainerPort>"
    assert listed["env"] == "<[]EnvVar>"
    assert listed["securityContext"] == "<SecurityContext>"
    assert "imagePullPolicy\t<string>\n    Image pull policy. One of Always, Never" in out


def test_explain_service_ports_follows_the_short_name(sandbox_cluster: Any) -> None:
    result = sandbox_cluster.kubectl("explain", "svc.spec.ports")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("KIND:       Service\nVERSION:    v1\n")
    listed = fields(result.stdout)
    assert listed["port"] == "<integer> -required-"
    assert listed["targetPort"] == "<IntOrString>"
    assert listed["protocol"] == "<string>"
    assert "The port that will be exposed by this service." in result.stdout


def test_explain_a_group_kind_and_an_unknown_field(sandbox_cluster: Any) -> None:
    lease = sandbox_cluster.kubectl("explain", "leases.spec")
    assert lease.returncode == 0, lease.stderr
    assert lease.stdout.startswith("GROUP:      coordination.k8s.io\nKIND:       Lease\n")
    assert fields(lease.stdout)["holderIdentity"] == "<string>"
    review = sandbox_cluster.kubectl("explain", "selfsubjectaccessreviews")
    assert review.returncode == 0, review.stderr
    assert "KIND:       SelfSubjectAccessReview\n" in review.stdout
    missing = sandbox_cluster.kubectl("explain", "pods.spec.nosuchfield")
    assert missing.returncode == 1
    assert 'field "nosuchfield" does not exist' in missing.stderr


@pytest.fixture
def namespace(sandbox_cluster: Any) -> Iterator[str]:
    name = f"explain-{secrets.token_hex(3)}"
    created = sandbox_cluster.kubectl("create", "namespace", name)
    assert created.returncode == 0, created.stderr
    yield name
    sandbox_cluster.kubectl("delete", "namespace", name, "--wait=false")


LIST = {
    "apiVersion": "v1",
    "kind": "List",
    "items": [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "listed"},
            "spec": {"selector": {"app": "listed"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "listed", "labels": {"app": "listed"}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
        },
    ],
}


@pytest.mark.parametrize("mode", ["client", "server"])
def test_apply_of_a_list_is_validated_and_applied(
    sandbox_cluster: Any, namespace: str, tmp_path: Path, mode: str
) -> None:
    manifest = tmp_path / "list.json"
    manifest.write_text(json.dumps(LIST))
    extra = ["--server-side"] if mode == "server" else []
    result = sandbox_cluster.kubectl("apply", "-n", namespace, "-f", str(manifest), *extra)
    assert result.returncode == 0, result.stderr
    verb = "serverside-applied" if mode == "server" else "created"
    assert result.stdout == f"service/listed {verb}\npod/listed {verb}\n"
    typo = json.loads(json.dumps(LIST))
    typo["items"][1]["spec"]["containers"][0]["imagee"] = "x"
    manifest.write_text(json.dumps(typo))
    refused = sandbox_cluster.kubectl("apply", "-n", namespace, "-f", str(manifest), *extra)
    assert refused.returncode == 1
    assert 'unknown field "spec.containers[0].imagee"' in refused.stderr


def fetch(cluster: Any, path: str, accept: str = "application/json") -> tuple[str, bytes]:
    request = urllib.request.Request(
        cluster.url + path,
        headers={"Authorization": f"Bearer {cluster.token()}", "Accept": accept},
    )
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        return response.headers["Content-Type"], response.read()


def test_the_v3_index_points_at_documents_with_component_schemas(sandbox_cluster: Any) -> None:
    _, raw = fetch(sandbox_cluster, "/openapi/v3")
    index = json.loads(raw)
    url = index["paths"]["api/v1"]["serverRelativeURL"]
    assert re.fullmatch(r"/openapi/v3/api/v1\?hash=[0-9A-F]{128}", url)
    _, raw = fetch(sandbox_cluster, url)
    schemas = json.loads(raw)["components"]["schemas"]
    pod = schemas["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "version": "v1", "kind": "Pod"}]
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-list-map-keys"] == ["name"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    ports = schemas["io.k8s.api.core.v1.Container"]["properties"]["ports"]
    assert ports["x-kubernetes-list-map-keys"] == ["containerPort", "protocol"]
    ref = "#/components/schemas/io.k8s.api.core.v1.Container"
    assert containers["items"]["allOf"] == [{"$ref": ref}]
    media, raw = fetch(
        sandbox_cluster, "/openapi/v2", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    )
    assert media == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    assert raw.startswith(b"\x0a\x032.0")
