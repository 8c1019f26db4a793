"""Windows pod sessions against the sandbox's Windows node: a restricted namespace, closing."""

from __future__ import annotations

import asyncio
from typing import Any

from retina_tui.kube.client import KubeClient
from retina_tui.sessions.pod import PodSession
from retina_tui.sessions.specs import PodSessionSpec
from retina_tui.sessions.wait import container_state
from tests.sessions.conftest import Screen
from tests.sessions.test_session_failures import windows_node

PS_PROMPT = b"PS C:\\Windows\\system32> "


async def windows_pod(
    kube: KubeClient, namespace: str, name: str, security: dict[str, Any]
) -> dict[str, Any]:
    """A Windows pod on the Windows node (a `cmd /c` that idles) whose container has
    `security`, once the kubelet has started it or refused to."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "nodeName": await windows_node(kube),
            "os": {"name": "windows"},
            "containers": [
                {
                    "name": "app",
                    "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022",
                    "command": ["cmd.exe", "/c", "sleep 3600"],
                    "securityContext": security,
                }
            ],
        },
    }
    await kube.request("POST", f"/api/v1/namespaces/{namespace}/pods", body=pod)
    path = f"/api/v1/namespaces/{namespace}/pods/{name}"
    async with asyncio.timeout(30):
        while True:
            found: dict[str, Any] = await kube.request("GET", path)
            state = container_state(found, "app", ephemeral=False)
            if state.kind in ("running", "waiting") and state.reason != "ContainerCreating":
                return found
            await asyncio.sleep(0.1)


async def namespace(kube: KubeClient, name: str, level: str) -> None:
    labels = {"pod-security.kubernetes.io/enforce": level}
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
    await kube.request("POST", "/api/v1/namespaces", body=body)


async def test_a_restricted_namespace_gets_a_shell_that_is_not_an_administrator(
    kube: KubeClient,
) -> None:
    await namespace(kube, "winsec", "restricted")
    security = {"runAsNonRoot": True, "windowsOptions": {"runAsUserName": "ContainerUser"}}
    pod = await windows_pod(kube, "winsec", "app", security)
    assert container_state(pod, "app", ephemeral=False).kind == "running"
    screen = Screen()
    session = PodSession(
        kube,
        PodSessionSpec(namespace="winsec", pod="app"),
        on_phase=screen.on_phase,
        on_output=screen.on_output,
    )
    await session.start()
    try:
        mark = await screen.expect(PS_PROMPT)
        await session.write(b"echo user=$USERNAME\r")
        await screen.expect(b"user=ContainerUser", since=mark)
        assert any("runs as ContainerUser" in phase.detail for phase in screen.phases)
        found = await kube.request("GET", "/api/v1/namespaces/winsec/pods/app")
        (shell,) = found["spec"]["ephemeralContainers"]
        assert shell["securityContext"] == {
            "runAsNonRoot": True,
            "windowsOptions": {"runAsUserName": "ContainerUser"},
        }
    finally:
        await session.close()
    async with asyncio.timeout(30):
        while True:
            found = await kube.request("GET", "/api/v1/namespaces/winsec/pods/app")
            if container_state(found, session.container, ephemeral=True).kind == "terminated":
                break
            await asyncio.sleep(0.1)


async def test_the_windows_kubelet_refuses_an_administrator_under_run_as_non_root(
    kube: KubeClient,
) -> None:
    pod = await windows_pod(kube, "default", "admin", {"runAsNonRoot": True})
    state = container_state(pod, "app", ephemeral=False)
    assert (state.kind, state.reason) == ("waiting", "CreateContainerConfigError")
    assert state.message.startswith(
        "container's runAsUser (ContainerAdministrator) which will be regarded as root "
        'identity and will break non-root policy (pod: "admin_default('
    )
