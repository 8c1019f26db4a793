"""Permission checks against a scripted API server with a partial grant.

The restricted sandbox user lacks everything; here the user may attach and delete but not
patch ephemeral containers or create pods, which the session learns from its own request
(the patch or the dry run) and then names precisely.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from retina_tui.errors import ForbiddenError
from retina_tui.kube.access import Permission, allowed
from retina_tui.kube.client import KubeClient, connect
from retina_tui.sessions.node import NodeSession
from retina_tui.sessions.pod import PodSession
from retina_tui.sessions.specs import NodeSessionSpec, PodSessionSpec
from tests.kube.fakeapi import status, write_kubeconfig

DENIED = {("patch", "pods", "ephemeralcontainers"), ("create", "pods", "")}
POD = {
    "metadata": {"name": "web", "namespace": "ns", "resourceVersion": "5"},
    "spec": {"nodeName": "n1", "containers": [{"name": "app"}]},
    "status": {"phase": "Running"},
}
NODE = {"metadata": {"name": "n1", "labels": {"kubernetes.io/os": "linux"}}}


@pytest.fixture
async def partial(tmp_path: Path) -> AsyncIterator[tuple[KubeClient, list[str]]]:
    changes: list[str] = []

    async def review(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        changes.append("review")
        attrs = body["spec"]["resourceAttributes"]
        key = (attrs["verb"], attrs["resource"], attrs.get("subresource", ""))
        return web.json_response({**body, "status": {"allowed": key not in DENIED}})

    async def forbidden(request: web.Request) -> web.StreamResponse:
        changes.append(f"{request.method} {request.path} {request.query_string}")
        message = 'pods is forbidden: User "dev" cannot do that'
        return web.json_response(status(403, "Forbidden", message), status=403)

    async def get_pod(request: web.Request) -> web.StreamResponse:
        return web.json_response(POD)

    async def get_node(request: web.Request) -> web.StreamResponse:
        return web.json_response(NODE)

    app = web.Application()
    app.router.add_get("/api/v1/namespaces/ns/pods/web", get_pod)
    app.router.add_get("/api/v1/nodes/n1", get_node)
    app.router.add_post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review)
    app.router.add_patch("/api/v1/namespaces/ns/pods/web/ephemeralcontainers", forbidden)
    app.router.add_post("/api/v1/namespaces/ns/pods", forbidden)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    client = await connect(kubeconfig=str(write_kubeconfig(tmp_path / "kc", url, "dev")))
    try:
        yield client, changes
    finally:
        await client.close()
        await runner.cleanup()


async def test_a_refused_patch_names_the_missing_permission(
    partial: tuple[KubeClient, list[str]],
) -> None:
    client, changes = partial
    with pytest.raises(ForbiddenError) as caught:
        await PodSession(client, PodSessionSpec("ns", "web")).start()
    assert str(caught.value).startswith(
        "Context 'dev' may not patch pods/ephemeralcontainers in namespace ns, which a pod "
        "debug session needs"
    )
    # attach (granted), exec for the detach watchdog (granted), then patch (refused)
    assert changes.count("review") == 3
    assert len(changes) == 4


async def test_a_refused_dry_run_names_the_missing_permission_before_any_create(
    partial: tuple[KubeClient, list[str]],
) -> None:
    client, changes = partial
    with pytest.raises(ForbiddenError) as caught:
        await NodeSession(client, NodeSessionSpec(node="n1", namespace="ns")).start()
    assert "may not create pods in namespace ns, which a node debug session needs" in str(
        caught.value
    )
    assert [c for c in changes if c != "review"] == ["POST /api/v1/namespaces/ns/pods dryRun=All"]


async def test_granted_permissions_are_remembered_refusals_are_not(
    partial: tuple[KubeClient, list[str]],
) -> None:
    client, changes = partial
    granted = Permission("create", "pods", "attach", "ns")
    refused = Permission("create", "pods", "", "ns")
    assert await allowed(client, granted) and await allowed(client, granted)
    assert await allowed(client, refused) is False
    assert await allowed(client, refused) is False
    assert changes == ["review", "review", "review"]
