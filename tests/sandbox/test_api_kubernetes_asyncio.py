"""The kubernetes_asyncio client works unchanged against the sandbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes_asyncio import client, config, watch
from kubernetes_asyncio.client.exceptions import ApiException

from tests.sandbox.apiclient import api_only_options


@pytest.fixture
def sandbox_options() -> Any:
    return api_only_options()


@pytest.fixture
async def core(api_sandbox: Any) -> AsyncIterator[Any]:
    configuration = client.Configuration()
    await config.load_kube_config(
        config_file=str(api_sandbox.kubeconfig_path), client_configuration=configuration
    )
    async with client.ApiClient(configuration) as api:
        yield client.CoreV1Api(api)


async def test_list_and_watch(core: Any) -> None:
    nodes = await core.list_node()
    assert [n.metadata.name for n in nodes.items] == ["node-1", "node-2", "node-3"]
    assert nodes.items[0].status.node_info.kubelet_version == "v1.37.0"
    pods = await core.list_namespaced_pod("shop", label_selector="app=web")
    assert [p.metadata.name for p in pods.items] == ["web"]
    resource_version = pods.metadata.resource_version

    body = client.V1Pod(
        metadata=client.V1ObjectMeta(name="watched", labels={"app": "watched"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox:1.36")]),
    )
    await core.create_namespaced_pod("shop", body)
    stream = watch.Watch()
    seen = []
    async with asyncio.timeout(20):
        async for event in stream.stream(
            core.list_namespaced_pod,
            "shop",
            resource_version=resource_version,
            timeout_seconds=5,
        ):
            seen.append((event["type"], event["object"].metadata.name))
            if event["object"].metadata.name == "watched":
                break
    stream.stop()
    assert seen[-1] == ("ADDED", "watched")


async def test_patch_ephemeral_containers(core: Any) -> None:
    patch = {
        "spec": {
            "ephemeralContainers": [
                {
                    "name": "debugger",
                    "image": "busybox:1.36",
                    "targetContainerName": "web",
                    "stdin": True,
                    "tty": True,
                    "securityContext": {
                        "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]}
                    },
                }
            ]
        }
    }
    pod = await core.patch_namespaced_pod_ephemeralcontainers("web", "shop", patch)
    names = [c.name for c in pod.spec.ephemeral_containers]
    assert names == ["debugger"]
    again = await core.patch_namespaced_pod_ephemeralcontainers(
        "web", "shop", {"spec": {"ephemeralContainers": [{"name": "second", "image": "busybox"}]}}
    )
    assert [c.name for c in again.spec.ephemeral_containers] == ["debugger", "second"]
    with pytest.raises(ApiException) as missing:
        await core.patch_namespaced_pod_ephemeralcontainers("ghost", "shop", patch)
    assert missing.value.status == 404


async def test_errors_surface_as_api_exceptions(core: Any) -> None:
    with pytest.raises(ApiException) as conflict:
        await core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="shop")))
    assert conflict.value.status == 409
    with pytest.raises(ApiException) as forbidden:
        await core.create_namespaced_pod(
            "secure",
            client.V1Pod(
                metadata=client.V1ObjectMeta(name="hostnet"),
                spec=client.V1PodSpec(
                    host_network=True,
                    containers=[client.V1Container(name="c", image="busybox")],
                ),
            ),
        )
    assert forbidden.value.status == 403
    status = json.loads(forbidden.value.body)
    assert status["reason"] == "Forbidden"
    assert status["message"] == (
        'pods "hostnet" is forbidden: violates PodSecurity "baseline:latest": '
        "host namespaces (hostNetwork=true)"
    )
