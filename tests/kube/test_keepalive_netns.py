"""TCP keepalive: a watch whose network path silently dies is noticed within seconds.

Two real network namespaces joined by a veth; a watch-serving HTTP server in one, the
client (our KubeClient in a child process) in the other. Then the server side's link
goes down: no FIN, no RST, nothing arrives any more. Without keepalives the client would
wait for the watch's inactivity deadline (minutes); with them the kernel ends the
connection after about DEAD_PEER_SECONDS.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from retina_tui.kube.client import DEAD_PEER_SECONDS

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and iproute2"
    ),
]

SERVER = textwrap.dedent(
    """
    import asyncio, json
    from aiohttp import web

    async def pods(request):
        if request.query.get("watch") != "true":
            return web.json_response({"kind": "PodList", "metadata": {"resourceVersion": "1"},
                                      "items": []})
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(json.dumps({"type": "BOOKMARK", "object": {"metadata":
                             {"resourceVersion": "1"}}}).encode() + b"\\n")
        await asyncio.sleep(3600)
        return response

    app = web.Application()
    app.router.add_get("/api/v1/pods", pods)
    web.run_app(app, host="10.99.0.1", port=8080, print=lambda *a: print("ready", flush=True))
    """
)

CLIENT = textwrap.dedent(
    """
    import asyncio, sys, time
    from retina_tui.errors import RetinaTuiError
    from retina_tui.kube.client import connect

    async def main():
        client = await connect(kubeconfig=sys.argv[1])
        try:
            async with client.stream_lines("/api/v1/pods", params={"watch": "true"},
                                           read_timeout=300) as lines:
                async for line in lines:
                    print("event", flush=True)
        except RetinaTuiError as error:
            print(f"ended {time.monotonic():.3f} {error}", flush=True)
        finally:
            await client.close()

    asyncio.run(main())
    """
)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def two_namespaces() -> Iterator[tuple[str, str]]:
    tag = secrets.token_hex(3)
    server, client = f"rtuitest-ka-s{tag}", f"rtuitest-ka-c{tag}"
    _ip("netns", "add", server)
    _ip("netns", "add", client)
    try:
        _ip("-n", server, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
            "netns", client)  # fmt: skip
        for name, address in ((server, "10.99.0.1/24"), (client, "10.99.0.2/24")):
            _ip("-n", name, "addr", "add", address, "dev", "eth0")
            _ip("-n", name, "link", "set", "eth0", "up")
            _ip("-n", name, "link", "set", "lo", "up")
        yield server, client
    finally:
        for name in (server, client):
            pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
            for pid in pids.stdout.split():
                subprocess.run(["kill", "-9", pid], check=False)
            subprocess.run(["ip", "netns", "delete", name], check=False)


@pytest.mark.timeout(60)
def test_a_watch_on_a_dead_path_ends_within_the_keepalive_limit(
    two_namespaces: tuple[str, str], tmp_path: Path
) -> None:
    server_ns, client_ns = two_namespaces
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        '{"apiVersion": "v1", "kind": "Config", "current-context": "k",'
        ' "clusters": [{"name": "c", "cluster": {"server": "http://10.99.0.1:8080"}}],'
        ' "users": [{"name": "u", "user": {"token": "t"}}],'
        ' "contexts": [{"name": "k", "context": {"cluster": "c", "user": "u"}}]}'
    )
    server = subprocess.Popen(
        ["ip", "netns", "exec", server_ns, sys.executable, "-c", SERVER],
        stdout=subprocess.PIPE,
        text=True,
    )
    client = None
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        client = subprocess.Popen(
            ["ip", "netns", "exec", client_ns, sys.executable, "-c", CLIENT, str(kubeconfig)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(Path(__file__).resolve().parents[2]),
        )
        assert client.stdout is not None
        assert client.stdout.readline().strip() == "event"
        # The path dies silently: the server's side of the link goes away.
        _ip("-n", server_ns, "link", "set", "eth0", "down")
        cut = time.monotonic()
        line = client.stdout.readline().strip()
        noticed = time.monotonic() - cut
        assert line.startswith("ended "), line
        assert noticed < DEAD_PEER_SECONDS + 5, f"the dead watch was noticed after {noticed:.1f} s"
        print(f"\ndead watch connection noticed {noticed:.1f} s after its path died")
    finally:
        for process in (client, server):
            if process is not None:
                process.kill()
                process.wait()
