"""`pods/proxy` and `services/proxy` through the real kubectl: HTTP forwarded to pods."""

from __future__ import annotations

import base64
import http.client
import json
import secrets
import ssl
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

WAIT = 30.0
PORT = 20000 + secrets.randbelow(10000)
"""Not 8080: in host network mode every pod shares the host's ports."""
ECHO = f"""
import http.server, json
class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        sent = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"one,", b"two,", b"three"):
                self.wfile.write(b"%x\\r\\n%s\\r\\n" % (len(part), part))
            self.wfile.write(b"0\\r\\n\\r\\n")
            return
        seen = {{"method": self.command, "path": self.path, "body": sent,
                "authorization": self.headers.get("Authorization"),
                "forwarded": self.headers.get("X-Forwarded-Uri")}}
        data = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_GET = do_POST = do_PUT = do_DELETE = answer
http.server.ThreadingHTTPServer(("", {PORT + 2}), Echo).serve_forever()
"""
SERVE = (
    "mkdir -p /tmp/site/sub && echo eighty > /tmp/site/id && echo nested > /tmp/site/sub/id && "
    f"cd /tmp/site && (python3 -c '{ECHO}' &) && exec python3 -m http.server {PORT}"
)


@dataclass(frozen=True)
class Site:
    namespace: str
    pod: str
    service: str
    ip: str


def raw(cluster: Any, method: str, path: str, context: str = "admin") -> http.client.HTTPResponse:
    """One request to the sandbox, without following redirects."""
    config = cluster.config
    url = urllib.parse.urlsplit(cluster.url)
    ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])
    connection = http.client.HTTPSConnection(
        url.hostname or "", url.port, context=ssl.create_default_context(cadata=ca.decode())
    )
    connection.request(method, path, headers={"Authorization": f"Bearer {cluster.token(context)}"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def service(namespace: str, name: str, selector: dict[str, str]) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "selector": selector,
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            },
        }
    )


@pytest.fixture(scope="module")
def site(sandbox_cluster: Any) -> Iterator[Site]:
    """A namespace of this module's own: a pod serving /id on PORT, a Service in front."""
    namespace = f"proxy-{secrets.token_hex(3)}"
    made = sandbox_cluster.kubectl("create", "namespace", namespace)
    assert made.returncode == 0, made.stderr
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "site", "namespace": namespace, "labels": {"app": "site"}},
        "spec": {
            "containers": [
                {
                    "name": "site",
                    "image": "python:3.12-slim",
                    "command": ["sh", "-c", SERVE],
                    "ports": [{"name": "http", "containerPort": PORT}],
                }
            ]
        },
    }
    for document in (json.dumps(pod), service(namespace, "site", {"app": "site"})):
        applied = sandbox_cluster.kubectl("create", "-f", "-", input=document)
        assert applied.returncode == 0, applied.stderr
    ready = sandbox_cluster.kubectl(
        "wait", "-n", namespace, "--for=condition=Ready", "pod/site", "--timeout=60s"
    )
    assert ready.returncode == 0, ready.stderr
    deadline = time.monotonic() + WAIT
    path = f"/api/v1/namespaces/{namespace}/pods/site:{PORT}/proxy/id"
    echo = f"/api/v1/namespaces/{namespace}/pods/site:{PORT + 2}/proxy/"
    while (
        raw(sandbox_cluster, "GET", path).status != 200
        or raw(sandbox_cluster, "GET", echo).status != 200
    ):
        assert time.monotonic() < deadline, "the pod's server never answered"
        time.sleep(0.1)
    ip = sandbox_cluster.kubectl(
        "get", "pod", "site", "-n", namespace, "-o", "jsonpath={.status.podIP}"
    ).stdout
    yield Site(namespace, "site", "site", ip)
    sandbox_cluster.kubectl("delete", "services", "--all", "-n", namespace)
    sandbox_cluster.kubectl("delete", "namespace", namespace, "--wait=false")


def get_raw(cluster: Any, path: str, context: str | None = None) -> Any:
    return cluster.kubectl("get", "--raw", path, context=context)


def test_pod_proxy_returns_the_servers_body(sandbox_cluster: Any, site: Site) -> None:
    base = f"/api/v1/namespaces/{site.namespace}/pods"
    for ident in (f"site:{PORT}", "site", f"http:site:{PORT}", "site:http"):
        result = get_raw(sandbox_cluster, f"{base}/{ident}/proxy/id")
        assert result.returncode == 0, (ident, result.stderr)
        assert result.stdout == "eighty\n"
    listing = get_raw(sandbox_cluster, f"{base}/site:{PORT}/proxy/")
    assert listing.returncode == 0, listing.stderr
    assert "Directory listing for /" in listing.stdout
    assert 'href="sub/"' in listing.stdout


def test_redirects_come_back_through_the_proxy(sandbox_cluster: Any, site: Site) -> None:
    prefix = f"/api/v1/namespaces/{site.namespace}/pods/site:{PORT}/proxy"
    moved = raw(sandbox_cluster, "GET", f"{prefix}/sub?x=1")
    assert moved.status == 301
    location = urllib.parse.urlsplit(moved.headers["Location"])
    assert (location.path, location.query) == (f"{prefix}/sub/", "x=1")
    assert location.netloc == urllib.parse.urlsplit(sandbox_cluster.url).netloc
    followed = get_raw(sandbox_cluster, f"{prefix}/sub")
    assert followed.returncode == 0, followed.stderr
    assert "Directory listing for /sub/" in followed.stdout
    bare = raw(sandbox_cluster, "GET", prefix)
    assert bare.status == 301
    assert bare.headers["Location"] == prefix + "/"


def test_methods_and_statuses_pass_through(sandbox_cluster: Any, site: Site) -> None:
    prefix = f"/api/v1/namespaces/{site.namespace}/pods/site:{PORT}/proxy"
    posted = raw(sandbox_cluster, "POST", f"{prefix}/id")
    assert posted.status == 501  # python's http.server has no do_POST
    missing = raw(sandbox_cluster, "GET", f"{prefix}/nope")
    assert missing.status == 404
    head = raw(sandbox_cluster, "HEAD", f"{prefix}/id")
    assert head.status == 200
    assert head.headers["Content-Length"] == str(len("eighty\n"))


def test_service_proxy_picks_a_ready_endpoint(sandbox_cluster: Any, site: Site) -> None:
    base = f"/api/v1/namespaces/{site.namespace}/services"
    for ident in ("site:http", "site:80", "http:site:80"):
        result = get_raw(sandbox_cluster, f"{base}/{ident}/proxy/sub/id")
        assert result.returncode == 0, (ident, result.stderr)
        assert result.stdout == "nested\n"


def test_service_errors_are_the_api_servers(sandbox_cluster: Any, site: Site) -> None:
    made = sandbox_cluster.kubectl(
        "create", "-f", "-", input=service(site.namespace, "lonely", {"app": "nobody"})
    )
    assert made.returncode == 0, made.stderr
    base = f"/api/v1/namespaces/{site.namespace}/services"
    cases = {
        "lonely:http": "Error from server (ServiceUnavailable): no endpoints available for "
        'service "lonely"',
        "site:81": "Error from server (ServiceUnavailable): no service port 81 found for "
        'service "site"',
        "site": 'Error from server (ServiceUnavailable): no endpoints available for service "site"',
        "site:other": "Error from server (ServiceUnavailable): no endpoints available for "
        'service "site:other"',
        "nope": 'Error from server (NotFound): services "nope" not found',
        "ftp:site:80": 'Error from server (BadRequest): invalid service request "ftp:site:80"',
    }
    for ident, message in cases.items():
        result = get_raw(sandbox_cluster, f"{base}/{ident}/proxy/")
        assert result.returncode == 1, ident
        assert result.stderr.strip() == message


def test_pod_errors_are_the_api_servers(sandbox_cluster: Any, site: Site) -> None:
    base = f"/api/v1/namespaces/{site.namespace}/pods"
    refused = get_raw(sandbox_cluster, f"{base}/site:{PORT + 1}/proxy/")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "Error from server (ServiceUnavailable): error trying to reach service: "
        f"dial tcp {site.ip}:{PORT + 1}: connect: connection refused"
    )
    missing = get_raw(sandbox_cluster, f"{base}/nope:8080/proxy/")
    assert missing.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'
    invalid = get_raw(sandbox_cluster, f"{base}/a:b:c:d/proxy/")
    assert invalid.stderr.strip() == (
        'Error from server (BadRequest): invalid pod request "a:b:c:d"'
    )


def test_restricted_user_may_not_proxy(sandbox_cluster: Any, site: Site) -> None:
    path = f"/api/v1/namespaces/{site.namespace}/pods/site:{PORT}/proxy/id"
    refused = get_raw(sandbox_cluster, path, context="restricted")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f'Error from server (Forbidden): pods "site:{PORT}" is forbidden: User "restricted" '
        f'cannot get resource "pods/proxy" in API group "" in the namespace "{site.namespace}"'
    )
    posted = raw(
        sandbox_cluster,
        "POST",
        f"/api/v1/namespaces/{site.namespace}/services/site:http/proxy/",
        context="restricted",
    )
    assert posted.status == 403


def test_the_request_is_forwarded_without_credentials(
    sandbox_cluster: Any, site: Site, tmp_path: Any
) -> None:
    prefix = f"/api/v1/namespaces/{site.namespace}/pods/site:{PORT + 2}/proxy"
    body = tmp_path / "body.json"
    body.write_text('{"hello": "pod"}')
    for verb in ("create", "replace"):
        sent = sandbox_cluster.kubectl(verb, "--raw", f"{prefix}/submit?x=1", "-f", str(body))
        assert sent.returncode == 0, sent.stderr
        seen = json.loads(sent.stdout)
        assert seen["method"] == {"create": "POST", "replace": "PUT"}[verb]
        assert (seen["path"], seen["body"]) == ("/submit?x=1", '{"hello": "pod"}')
        assert seen["authorization"] is None
        assert seen["forwarded"] == f"{prefix}/submit"
    deleted = sandbox_cluster.kubectl("delete", "--raw", f"{prefix}/thing")
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout)["method"] == "DELETE"


def test_a_chunked_response_is_streamed_whole(sandbox_cluster: Any, site: Site) -> None:
    path = f"/api/v1/namespaces/{site.namespace}/pods/site:{PORT + 2}/proxy/chunked"
    result = get_raw(sandbox_cluster, path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "one,two,three"
