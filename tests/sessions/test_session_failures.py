"""Each way a session can fail has its own message, and nothing is left behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from retina_tui.errors import (
    ClusterUnreachableError,
    ForbiddenError,
    NotFoundError,
    RetinaTuiError,
    SessionError,
)
from retina_tui.kube.client import KubeClient, connect
from retina_tui.sessions.node import NodeSession
from retina_tui.sessions.pod import PodSession
from retina_tui.sessions.specs import NodeSessionSpec, PodSessionSpec
from tests.kube.fakeapi import write_kubeconfig
from tests.sessions.conftest import Screen
from tests.sessions.test_sessions_sandbox import debug_pods, linux_node, running_pod


async def windows_node(kube: KubeClient) -> str:
    nodes = await kube.request("GET", "/api/v1/nodes")
    for node in nodes["items"]:
        if node["metadata"]["labels"].get("kubernetes.io/os") == "windows":
            return str(node["metadata"]["name"])
    raise AssertionError("the sandbox has no windows node")


async def start_fails(session: PodSession | NodeSession) -> RetinaTuiError:
    with pytest.raises(RetinaTuiError) as caught:
        await session.start()
    assert session.phase.kind == "failed"
    return caught.value


async def test_pod_not_found(kube: KubeClient) -> None:
    error = await start_fails(PodSession(kube, PodSessionSpec(namespace="default", pod="nope")))
    assert isinstance(error, NotFoundError)
    assert str(error).startswith("Pod default/nope not found")


async def test_node_not_found(kube: KubeClient) -> None:
    session = NodeSession(kube, NodeSessionSpec(node="nope", namespace="default"))
    error = await start_fails(session)
    assert isinstance(error, NotFoundError)
    assert str(error).startswith("Node nope not found")
    assert await debug_pods(kube) == []


async def test_restricted_context_names_the_missing_permissions(
    kube: KubeClient, restricted: KubeClient
) -> None:
    pod = await running_pod(kube)
    error = await start_fails(PodSession(restricted, PodSessionSpec("default", pod)))
    assert isinstance(error, ForbiddenError)
    assert "patch pods/ephemeralcontainers in namespace default" in str(error)
    assert "create pods/attach in namespace default" in str(error)
    node_error = await start_fails(
        NodeSession(restricted, NodeSessionSpec(node=await linux_node(kube), namespace="default"))
    )
    assert "create pods in namespace default" in str(node_error)
    assert await debug_pods(kube) == []


async def test_psa_namespace_refuses_node_pods_before_creating_anything(kube: KubeClient) -> None:
    session = NodeSession(kube, NodeSessionSpec(node=await linux_node(kube), namespace="secure"))
    error = await start_fails(session)
    assert isinstance(error, SessionError)
    assert "pod-security.kubernetes.io/enforce=baseline" in str(error)
    assert "-n NAMESPACE" in str(error)
    assert await debug_pods(kube) == []


async def test_unpullable_image_is_reported_with_the_kubelets_reason(kube: KubeClient) -> None:
    screen = Screen()
    session = NodeSession(
        kube,
        NodeSessionSpec(
            node=await linux_node(kube),
            namespace="default",
            image="registry.example/does-not-exist:1",
            timeout_seconds=60,
        ),
        on_phase=screen.on_phase,
    )
    error = await start_fails(session)
    text = str(error)
    assert "ImagePullBackOff" in text
    assert "did not start within" not in text
    assert await debug_pods(kube) == []
    # The phase line said what the kubelet did while it waited: it tried, failed, backed off.
    said = [phase.detail for phase in screen.phases if phase.kind == "waiting"]
    first = {
        word: next((i for i, detail in enumerate(said) if detail.startswith(word)), None)
        for word in ("Pulling", "Failed", "BackOff")
    }
    assert None not in first.values(), said
    assert first["Pulling"] < first["BackOff"] and first["Failed"] < first["BackOff"], said
    assert any('"registry.example/does-not-exist:1"' in detail for detail in said), said


async def test_unpullable_image_in_a_pod_session(kube: KubeClient) -> None:
    pod = await running_pod(kube)
    spec = PodSessionSpec("default", pod, image="does-not-exist:latest", timeout_seconds=60)
    screen = Screen()
    error = await start_fails(PodSession(kube, spec, on_phase=screen.on_phase))
    assert "ImagePullBackOff" in str(error)
    said = [phase.detail for phase in screen.phases if phase.kind == "waiting"]
    assert any(detail.startswith("Pulling: ") for detail in said), said
    assert not any("Started" in detail for detail in said), said


async def test_timeout_names_the_last_state(kube: KubeClient) -> None:
    session = NodeSession(
        kube,
        NodeSessionSpec(node=await linux_node(kube), namespace="default", timeout_seconds=0.05),
    )
    error = await start_fails(session)
    assert "did not start within 0.05 s" in str(error)
    assert "the last state seen was" in str(error)
    assert await debug_pods(kube) == []


async def test_pod_not_running(kube: KubeClient) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "stuck", "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "does-not-exist:1"}]},
    }
    await kube.request("POST", "/api/v1/namespaces/default/pods", body=pod)
    error = await start_fails(PodSession(kube, PodSessionSpec("default", "stuck")))
    assert "Pod default/stuck is Pending, not Running" in str(error)


async def test_missing_target_container(kube: KubeClient) -> None:
    pod = await running_pod(kube)
    error = await start_fails(PodSession(kube, PodSessionSpec("default", pod, target="nope")))
    assert f"Pod default/{pod} has no container 'nope'" in str(error)


async def test_a_refused_host_process_pod_is_reported_in_our_words(
    kube: KubeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retina_tui.sessions import node as node_sessions

    built = node_sessions.windows_node_pod_manifest

    def without_host_network(*args: Any, **kwargs: Any) -> dict[str, Any]:
        manifest = built(*args, **kwargs)
        del manifest["spec"]["hostNetwork"]
        return manifest

    monkeypatch.setattr(node_sessions, "windows_node_pod_manifest", without_host_network)
    node = await windows_node(kube)
    error = await start_fails(NodeSession(kube, NodeSessionSpec(node=node, namespace="default")))
    text = str(error)
    assert text.startswith(f"The API server rejected the HostProcess pod for Windows node {node}: ")
    assert (
        "is invalid: spec.hostNetwork: Invalid value: false: hostNetwork must be true if pod "
        "contains any hostProcess containers"
    ) in text
    assert str(error).endswith(
        "A HostProcess pod needs the host network and every container HostProcess; check "
        "--image and --windows-user."
    )
    assert await debug_pods(kube) == []


async def test_a_windows_build_without_an_image_is_explained_first(
    kube: KubeClient, api_sandbox: Any
) -> None:
    node = await windows_node(kube)

    def insider(obj: dict[str, Any]) -> None:
        obj["status"]["nodeInfo"]["kernelVersion"] = "10.0.19041.1415"

    api_sandbox.store.mutate("nodes", None, node, insider)
    error = await start_fails(NodeSession(kube, NodeSessionSpec(node=node, namespace="default")))
    assert str(error) == (
        f"Node {node} runs Windows build 19041, for which there is no retina-tui Windows image "
        "(there are ltsc2019 (17763), ltsc2022 (20348), ltsc2025 (26100)); pass --image with "
        "an image built for that build."
    )
    assert await debug_pods(kube) == []


async def test_a_node_of_another_system_is_refused(kube: KubeClient, api_sandbox: Any) -> None:
    node = await windows_node(kube)

    def other(obj: dict[str, Any]) -> None:
        obj["metadata"]["labels"]["kubernetes.io/os"] = "plan9"

    api_sandbox.store.mutate("nodes", None, node, other)
    error = await start_fails(NodeSession(kube, NodeSessionSpec(node=node, namespace="default")))
    assert str(error) == (
        f"Node {node} runs plan9, and debug shells support Linux and Windows nodes; pick a pod "
        "or node on one of those."
    )
    assert await debug_pods(kube) == []


async def test_unreachable_server(tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kc", "http://127.0.0.1:9", "gone")
    client = await connect(kubeconfig=str(kubeconfig))
    try:
        error = await start_fails(PodSession(client, PodSessionSpec("default", "web")))
    finally:
        await client.close()
    assert isinstance(error, ClusterUnreachableError)
    assert "http://127.0.0.1:9 (context 'gone')" in str(error)


async def test_a_failed_delete_is_reported_not_swallowed(
    kube: KubeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = NodeSession(kube, NodeSessionSpec(node=await linux_node(kube), namespace="default"))
    await session.start()
    real_request = kube.request

    async def refuse_deletes(method: str, path: str, **kwargs: Any) -> Any:
        if method == "DELETE":
            raise ForbiddenError("pods is forbidden: deletes are off today", status=403)
        return await real_request(method, path, **kwargs)

    monkeypatch.setattr(kube, "request", refuse_deletes)
    with pytest.raises(SessionError) as caught:
        await session.close()
    monkeypatch.undo()
    assert str(caught.value).startswith(f"Could not delete the debug pod default/{session.pod}")
    assert f"kubectl delete pod -n default {session.pod}" in str(caught.value)
    assert session.phase.kind == "failed"
    assert await debug_pods(kube) == [session.pod]
    await kube.request("DELETE", f"/api/v1/namespaces/default/pods/{session.pod}")
