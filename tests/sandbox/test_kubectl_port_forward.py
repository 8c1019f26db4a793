"""The real kubectl port-forward through the sandbox kubelet (WebSocket tunnel and SPDY)."""

from __future__ import annotations

import hashlib
import os
import re
import select
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.sandbox.kubelet_support import serving_pod

WAIT = 30.0
HASHER = """
import hashlib, socket
server = socket.create_server(("127.0.0.1", 9000))
while True:
    conn, digest = server.accept()[0], hashlib.sha256()
    while data := conn.recv(65536):
        digest.update(data)
    conn.sendall(digest.hexdigest().encode())
    conn.close()
"""
SERVE = (
    "mkdir -p /tmp/a /tmp/b && echo eighty > /tmp/a/id && echo ninety > /tmp/b/id && "
    f"python3 -m http.server 8080 -d /tmp/a & python3 -c '{HASHER}' & "
    "python3 -m http.server 9090 -d /tmp/b"
)
LISTENING = (
    "import socket\n"
    "for port in (8080, 9090, 9000):\n"
    "    socket.create_connection(('127.0.0.1', port)).close()\n"
)


@pytest.fixture(scope="module")
def web(sandbox_cluster: Any) -> Iterator[str]:
    """A pod of this module's own serving /id on 8080 ("eighty") and 9090 ("ninety"), and
    on 9000 the SHA-256 of what a connection sent once it half-closed."""
    with serving_pod(sandbox_cluster, "pf", ["sh", "-c", SERVE], LISTENING) as name:
        yield name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def port_forward(
    cluster: Any, *args: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """`kubectl port-forward ARGS`, once it printed a "Forwarding from" line per port."""
    process = subprocess.Popen(
        cluster.kubectl_argv("port-forward", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        ports = [a for a in args if ":" in a]
        assert process.stdout is not None
        seen = ""
        deadline = time.monotonic() + WAIT
        while seen.count("Forwarding from 127.0.0.1") < len(ports):
            ready, _, _ = select.select([process.stdout], [], [], 0.5)
            if ready:  # os.read: the text wrapper's buffer would hide lines from select
                chunk = os.read(process.stdout.fileno(), 65536).decode()
                assert chunk, f"kubectl ended: {process.communicate()[1]}"
                seen += chunk
            assert time.monotonic() < deadline, seen
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        process.communicate(timeout=WAIT)


def get(port: int, path: str = "/id") -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=WAIT) as answer:
        assert answer.status == 200
        text: str = answer.read().decode()
        return text


def test_two_requests_on_two_connections_over_the_websocket_tunnel(
    sandbox_cluster: Any, web: str
) -> None:
    local = free_port()
    with port_forward(sandbox_cluster, "-v=6", f"pod/{web}", f"{local}:8080") as kubectl:
        assert get(local) == "eighty\n"
        assert get(local) == "eighty\n"
        kubectl.terminate()
        out, err = kubectl.communicate(timeout=WAIT)
    assert out.count(f"Handling connection for {local}") == 2, out
    upgraded = [line for line in err.splitlines() if "101 Switching Protocols" in line]
    assert len(upgraded) == 1 and 'verb="GET"' in upgraded[0], err[-3000:]
    assert f"/pods/{web}/portforward" in upgraded[0]


def test_two_ports_at_once(sandbox_cluster: Any, web: str) -> None:
    first, second = free_port(), free_port()
    with port_forward(sandbox_cluster, f"pod/{web}", f"{first}:8080", f"{second}:9090"):
        assert get(first) == "eighty\n"
        assert get(second) == "ninety\n"
        assert get(first) == "eighty\n"


def test_spdy_when_websockets_are_off(sandbox_cluster: Any, web: str) -> None:
    local = free_port()
    off = {"KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"}
    with port_forward(sandbox_cluster, "-v=6", f"pod/{web}", f"{local}:9090", env=off) as kubectl:
        assert get(local) == "ninety\n"
        assert get(local) == "ninety\n"
        kubectl.terminate()
        _, err = kubectl.communicate(timeout=WAIT)
    upgraded = [line for line in err.splitlines() if "101 Switching Protocols" in line]
    assert len(upgraded) == 1 and 'verb="POST"' in upgraded[0], err[-3000:]


def test_a_closed_port_gives_the_kubelet_error_and_ends_kubectl(
    sandbox_cluster: Any, web: str
) -> None:
    local = free_port()
    with port_forward(sandbox_cluster, f"pod/{web}", f"{local}:7777") as kubectl:
        with socket.create_connection(("127.0.0.1", local), timeout=WAIT) as conn:
            assert conn.recv(100) == b""
        code = kubectl.wait(timeout=WAIT)
        _, err = kubectl.communicate(timeout=WAIT)
    assert code == 1
    text = err.replace('\\"', '"')
    shape = re.compile(
        r"error forwarding port 7777 to pod (?P<id>[0-9a-f]{64}), uid : failed to execute "
        r'portforward in network namespace "(/run/netns/[^"]+|host)": failed to connect to '
        r'localhost:7777 inside namespace "(?P=id)", IPv4: dial tcp4 127\.0\.0\.1:7777: '
        r"connect: connection refused IPv6 dial tcp6 \[::1\]:7777: connect: "
    )
    assert shape.search(text), err
    assert "error: lost connection to pod" in err


def test_the_pod_must_exist(sandbox_cluster: Any) -> None:
    result = sandbox_cluster.kubectl("port-forward", "pod/no-such-pod", f"{free_port()}:80")
    assert result.returncode == 1
    assert 'pods "no-such-pod" not found' in result.stderr


@pytest.mark.parametrize("websockets", ["true", "false"])
def test_a_large_upload_and_its_half_close_reach_the_pod(
    sandbox_cluster: Any, web: str, websockets: str
) -> None:
    local, data = free_port(), os.urandom(8 << 20)
    env = {"KUBECTL_PORT_FORWARD_WEBSOCKETS": websockets}
    with (
        port_forward(sandbox_cluster, f"pod/{web}", f"{local}:9000", env=env),
        socket.create_connection(("127.0.0.1", local), timeout=WAIT) as conn,
    ):
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.decode() == hashlib.sha256(data).hexdigest()
