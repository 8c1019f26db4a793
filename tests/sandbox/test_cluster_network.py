"""The sandbox as a cluster network, end to end: what a user sees from inside the shop's pods.

One sandbox process of its own (policies and Services change here), real namespaces, the
real kubectl, and real programs in the pods: getent, curl.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures_sandbox import SandboxProcess, sandbox_process

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("nft") is None,
        reason="needs root, iproute2 and nftables",
    ),
]

CURL_TIMEOUT_EXIT = 28
CURL_REFUSED_EXIT = 7
SHOP_PODS = ("web", "api", "db", "client")
BACKEND_ENV = "RETINA_TUI_SANDBOX_NETFILTER"


@pytest.fixture(scope="module", params=["nftables", "iptables"])
def cluster(request: pytest.FixtureRequest) -> Iterator[SandboxProcess]:
    """A sandbox whose kube-proxy and policy rules use one backend (the whole module twice)."""
    previous = os.environ.get(BACKEND_ENV)
    os.environ[BACKEND_ENV] = request.param
    try:
        with (
            tempfile.TemporaryDirectory(prefix="retina-tui-test-network-") as tmp,
            sandbox_process(Path(tmp), network="netns", extra=("--pods", "0")) as running,
        ):
            yield from _ready(running)
    finally:
        if previous is None:
            os.environ.pop(BACKEND_ENV, None)
        else:
            os.environ[BACKEND_ENV] = previous


def _ready(running: SandboxProcess) -> Iterator[SandboxProcess]:
    for pod in SHOP_PODS:
        done = running.kubectl(
            "wait", "-n", "shop", "--for=condition=Ready", f"pod/{pod}", "--timeout=60s"
        )
        assert done.returncode == 0, done.stderr + running.log()
    yield running


def in_client(
    cluster: SandboxProcess, *argv: str, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return cluster.kubectl("exec", "-n", "shop", "client", "--", *argv, timeout=timeout)


def until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.1)


def jsonpath(cluster: SandboxProcess, *args: str) -> str:
    result = cluster.kubectl("get", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def curl(cluster: SandboxProcess, url: str, max_time: int = 3) -> subprocess.CompletedProcess[str]:
    return in_client(cluster, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                     "--max-time", str(max_time), url)  # fmt: skip


def apply(cluster: SandboxProcess, manifest: str) -> None:
    result = cluster.kubectl("apply", "-f", "-", input=textwrap.dedent(manifest))
    assert result.returncode == 0, result.stderr


@pytest.fixture
def policies(cluster: SandboxProcess) -> Iterator[list[str]]:
    """Names of the shop policies a test adds; deleted after it (the seed's own stay)."""
    names: list[str] = []
    yield names
    for name in names:
        cluster.kubectl("delete", "networkpolicy", "-n", "shop", name, "--ignore-not-found")


def test_every_pod_resolves_through_the_cluster_dns(cluster: SandboxProcess) -> None:
    resolv = in_client(cluster, "cat", "/etc/resolv.conf")
    assert resolv.stdout.split("\n")[:3] == [
        "search shop.svc.cluster.local svc.cluster.local cluster.local",
        "nameserver 10.96.0.10",
        "options ndots:5",
    ], resolv.stdout
    ip = jsonpath(cluster, "svc", "web", "-n", "shop", "-o", "jsonpath={.spec.clusterIP}")
    full = in_client(cluster, "getent", "hosts", "web.shop.svc.cluster.local")
    assert full.returncode == 0, full.stderr
    assert full.stdout.split()[0] == ip
    short = in_client(cluster, "getent", "hosts", "web")  # through the search path
    assert short.returncode == 0, short.stderr
    assert short.stdout.split()[0] == ip
    missing = in_client(cluster, "getent", "hosts", "nope.shop.svc.cluster.local")
    assert missing.returncode == 2


def test_a_headless_service_resolves_to_its_pods(cluster: SandboxProcess) -> None:
    pod_ip = jsonpath(cluster, "pod", "api", "-n", "shop", "-o", "jsonpath={.status.podIP}")
    found = in_client(cluster, "getent", "hosts", "api.shop.svc.cluster.local")
    assert found.returncode == 0, found.stderr
    assert found.stdout.split()[0] == pod_ip


def test_curl_reaches_web_through_its_cluster_ip_from_another_node(
    cluster: SandboxProcess,
) -> None:
    web_node = jsonpath(cluster, "pod", "web", "-n", "shop", "-o", "jsonpath={.spec.nodeName}")
    client_node = jsonpath(
        cluster, "pod", "client", "-n", "shop", "-o", "jsonpath={.spec.nodeName}"
    )
    assert web_node != client_node
    answered = curl(cluster, "http://web.shop/")
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout == "200"


def test_a_node_port_answers_on_the_node_ip(cluster: SandboxProcess) -> None:
    made = cluster.kubectl(
        "expose", "pod", "web", "-n", "shop", "--type=NodePort", "--port=80",
        "--target-port=8080", "--name=web-nodeport",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    try:
        port = jsonpath(
            cluster, "svc", "web-nodeport", "-n", "shop", "-o", "jsonpath={.spec.ports[0].nodePort}"
        )
        assert 30000 <= int(port) <= 32767
        node_ip = jsonpath(
            cluster, "node", "node-1", "-o",
            "jsonpath={.status.addresses[?(@.type=='InternalIP')].address}",
        )  # fmt: skip
        until(lambda: curl(cluster, f"http://{node_ip}:{port}/").stdout == "200", "NodePort answer")
    finally:
        cluster.kubectl("delete", "svc", "web-nodeport", "-n", "shop")


def test_a_service_without_ready_endpoints_refuses_at_once(cluster: SandboxProcess) -> None:
    apply(
        cluster,
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: lonely, namespace: shop, labels: {app: lonely}}
        spec:
          containers:
          - name: lonely
            image: python:3.12-slim
            command: [python3, -m, http.server, "8080"]
        """,
    )
    made = cluster.kubectl(
        "expose", "pod", "lonely", "-n", "shop", "--port=80", "--target-port=8080"
    )
    assert made.returncode == 0, made.stderr
    try:
        assert (
            cluster.kubectl(
                "wait", "-n", "shop", "--for=condition=Ready", "pod/lonely", "--timeout=60s"
            ).returncode
            == 0
        )
        until(lambda: curl(cluster, "http://lonely.shop/").stdout == "200", "an answer")
        gone = cluster.kubectl(
            "delete", "pod", "lonely", "-n", "shop", "--grace-period=0", "--force"
        )
        assert gone.returncode == 0, gone.stderr

        def refused() -> bool:
            return curl(cluster, "http://lonely.shop/", max_time=5).returncode == CURL_REFUSED_EXIT

        until(refused, "a refusal (curl exit 7, not a timeout)")
    finally:
        cluster.kubectl("delete", "svc", "lonely", "-n", "shop", "--ignore-not-found")
        cluster.kubectl("delete", "pod", "lonely", "-n", "shop", "--ignore-not-found")


def test_default_deny_then_an_allow_rule_for_the_client(
    cluster: SandboxProcess, policies: list[str]
) -> None:
    policies += ["web-deny", "web-allow-client"]
    apply(
        cluster,
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: web-deny, namespace: shop}
        spec:
          podSelector: {matchLabels: {app: web}}
          policyTypes: [Ingress]
        """,
    )
    until(lambda: curl(cluster, "http://web.shop/", max_time=2).returncode == CURL_TIMEOUT_EXIT,
          "the deny taking effect")  # fmt: skip
    apply(
        cluster,
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: web-allow-client, namespace: shop}
        spec:
          podSelector: {matchLabels: {app: web}}
          ingress:
          - from: [{podSelector: {matchLabels: {app: client}}}]
            ports: [{port: http}]
        """,
    )
    until(lambda: curl(cluster, "http://web.shop/").stdout == "200", "the allow rule", timeout=5)


def test_egress_needs_an_explicit_dns_rule(cluster: SandboxProcess, policies: list[str]) -> None:
    policies += ["client-egress-web", "client-egress-dns"]
    apply(
        cluster,
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: client-egress-web, namespace: shop}
        spec:
          podSelector: {matchLabels: {app: client}}
          policyTypes: [Egress]
          egress:
          - to: [{podSelector: {matchLabels: {app: web}}}]
        """,
    )
    # With DNS dropped the resolver retries for long: `timeout` ends the lookup.
    until(lambda: in_client(cluster, "timeout", "3", "getent", "hosts", "web").returncode != 0,
          "name resolution failing")  # fmt: skip
    apply(
        cluster,
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: client-egress-dns, namespace: shop}
        spec:
          podSelector: {matchLabels: {app: client}}
          policyTypes: [Egress]
          egress:
          - to:
            - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
              podSelector: {matchLabels: {k8s-app: kube-dns}}
            ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
        """,
    )
    until(lambda: in_client(cluster, "timeout", "3", "getent", "hosts", "web").returncode == 0,
          "name resolution working again", timeout=10)  # fmt: skip
    assert curl(cluster, "http://web.shop/").stdout == "200"


def test_db_only_lets_api_in(cluster: SandboxProcess) -> None:
    refused = in_client(
        cluster, "curl", "-sS", "-o", "/dev/null", "--max-time", "2", "http://db.shop:5432/"
    )
    assert refused.returncode == CURL_TIMEOUT_EXIT, refused.stderr
    from_api = cluster.kubectl(
        "exec", "-n", "shop", "api", "--", "curl", "-sS", "-o", "/dev/null", "-w",
        "%{http_code}", "--max-time", "3", "http://db.shop:5432/",
    )  # fmt: skip
    assert from_api.stdout == "200", from_api.stderr


@pytest.fixture
def multi(cluster: SandboxProcess, policies: list[str]) -> Iterator[str]:
    """A shop pod serving 8080 (named `http`) and 9090 (unnamed); its IP."""
    apply(
        cluster,
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: multi, namespace: shop, labels: {app: multi}}
        spec:
          containers:
          - name: http
            image: python:3.12-slim
            command: [python3, -m, http.server, "8080"]
            ports: [{name: http, containerPort: 8080}]
          - name: other
            image: python:3.12-slim
            command: [python3, -m, http.server, "9090"]
        """,
    )
    ready = cluster.kubectl(
        "wait", "-n", "shop", "--for=condition=Ready", "pod/multi", "--timeout=60s"
    )
    assert ready.returncode == 0, ready.stderr
    yield jsonpath(cluster, "pod", "multi", "-n", "shop", "-o", "jsonpath={.status.podIP}")
    cluster.kubectl("delete", "pod", "multi", "-n", "shop", "--grace-period=0", "--force")


def test_a_named_port_opens_that_port_only(
    cluster: SandboxProcess, multi: str, policies: list[str]
) -> None:
    policies.append("multi-http-only")
    apply(
        cluster,
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: multi-http-only, namespace: shop}
        spec:
          podSelector: {matchLabels: {app: multi}}
          ingress: [{ports: [{port: http}]}]
        """,
    )

    def closed() -> bool:
        return curl(cluster, f"http://{multi}:9090/", max_time=2).returncode == CURL_TIMEOUT_EXIT

    until(closed, "the unnamed port closing")
    assert curl(cluster, f"http://{multi}:8080/").stdout == "200"


def test_an_ip_block_except_leaves_out_the_excepted_address(
    cluster: SandboxProcess, multi: str, policies: list[str]
) -> None:
    client_ip = jsonpath(cluster, "pod", "client", "-n", "shop", "-o", "jsonpath={.status.podIP}")
    policies.append("multi-block")
    apply(
        cluster,
        f"""
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {{name: multi-block, namespace: shop}}
        spec:
          podSelector: {{matchLabels: {{app: multi}}}}
          ingress:
          - from: [{{ipBlock: {{cidr: 10.244.0.0/16, except: [{client_ip}/32]}}}}]
        """,
    )

    def dropped() -> bool:
        return curl(cluster, f"http://{multi}:8080/", max_time=2).returncode == CURL_TIMEOUT_EXIT

    until(dropped, "the excepted client being dropped")
    from_api = cluster.kubectl(
        "exec", "-n", "shop", "api", "--", "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
        "--max-time", "3", f"http://{multi}:8080/",
    )  # fmt: skip
    assert from_api.stdout == "200", from_api.stderr
