"""Profiles against the sandbox's Pod Security Admission: refusals that create nothing, advice
that works when followed, and `auto` finding the profile a namespace admits."""

from __future__ import annotations

from typing import Any

import pytest

from retina_tui.config import Profile
from retina_tui.errors import ForbiddenError, SessionError
from retina_tui.kube.client import KubeClient
from retina_tui.sessions.node import NodeSession
from retina_tui.sessions.pod import PodSession
from retina_tui.sessions.profiles import RESTRICTED_UID
from retina_tui.sessions.specs import NodeSessionSpec, PodSessionSpec
from retina_tui.sessions.wait import wait_running
from retina_tui.sessions.watchdog import heartbeat_path
from tests.sessions.conftest import Screen, prompt, run_line
from tests.sessions.test_session_failures import start_fails
from tests.sessions.test_sessions_sandbox import debug_pods, exit_with, linux_node

RESTRICTED_NS = "locked"
BASELINE_NS = "secure"  # seeded with pod-security.kubernetes.io/enforce=baseline
APP_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 2000,
    "allowPrivilegeEscalation": False,
    "seccompProfile": {"type": "RuntimeDefault"},
    "capabilities": {"drop": ["ALL"]},
}


def app_manifest(namespace: str) -> dict[str, Any]:
    """A pod meeting the restricted level, so that only a debug container is judged."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app", "namespace": namespace},
        "spec": {
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "containers": [
                {
                    "name": "app",
                    "image": "example.test/app:1",
                    "tty": True,
                    "securityContext": APP_SECURITY,
                }
            ],
        },
    }


async def app_pod(kube: KubeClient, namespace: str) -> str:
    """The app pod running in `namespace` (made to enforce restricted if it is RESTRICTED_NS)."""
    if namespace == RESTRICTED_NS:
        labels = {"pod-security.kubernetes.io/enforce": "restricted"}
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        body["metadata"]["labels"] = labels  # type: ignore[index]
        await kube.request("POST", "/api/v1/namespaces", body=body)
    await kube.request("POST", f"/api/v1/namespaces/{namespace}/pods", body=app_manifest(namespace))
    await wait_running(
        kube, namespace, "app", "app", ephemeral=False, timeout=30, on_state=lambda state: None
    )
    return "app"


async def ephemeral_containers(kube: KubeClient, namespace: str, pod: str) -> list[Any]:
    found = await kube.request("GET", f"/api/v1/namespaces/{namespace}/pods/{pod}")
    return list(found["spec"].get("ephemeralContainers") or [])


def pod_session(kube: KubeClient, screen: Screen, namespace: str, profile: Profile) -> PodSession:
    spec = PodSessionSpec(namespace, "app", profile=profile)
    return PodSession(kube, spec, on_phase=screen.on_phase, on_output=screen.on_output)


def phase_details(screen: Screen) -> str:
    return "\n".join(phase.detail for phase in screen.phases if phase.kind == "creating")


async def shell_and_exit(kube: KubeClient, namespace: str, profile: Profile) -> Screen:
    """Open a pod session on the app pod, reach its prompt, exit 0; what it showed."""
    screen = Screen()
    session = pod_session(kube, screen, namespace, profile)
    await session.start()
    try:
        await prompt(session, screen)
        assert await exit_with(session, 0) == 0
    finally:
        await session.close()
    return screen


async def test_the_default_profile_in_a_restricted_namespace_is_refused_and_adds_nothing(
    kube: KubeClient,
) -> None:
    await app_pod(kube, RESTRICTED_NS)
    error = await start_fails(PodSession(kube, PodSessionSpec(RESTRICTED_NS, "app")))
    assert isinstance(error, SessionError)
    assert str(error) == (
        f"Namespace {RESTRICTED_NS} enforces Pod Security level restricted (label "
        "pod-security.kubernetes.io/enforce=restricted), which refuses a debug container with "
        "profile netadmin; retry with --profile restricted or --profile auto."
    )
    assert await ephemeral_containers(kube, RESTRICTED_NS, "app") == []


async def test_the_restricted_profile_opens_a_usable_shell_as_a_non_root_user(
    kube: KubeClient,
) -> None:
    await app_pod(kube, RESTRICTED_NS)
    screen = Screen()
    session = pod_session(kube, screen, RESTRICTED_NS, "restricted")
    await session.start()
    try:
        (added,) = await ephemeral_containers(kube, RESTRICTED_NS, "app")
        assert added["securityContext"]["runAsUser"] == RESTRICTED_UID
        assert "tcpdump (needs NET_RAW)" in phase_details(screen)
        mark = await prompt(session, screen)
        out, mark = await run_line(session, screen, "echo home=$HOME", mark)
        assert b"home=/tmp" in out
        out, mark = await run_line(session, screen, "touch $HOME/x && echo wr''ote", mark)
        assert b"wrote" in out
        # The detach watchdog could write its heartbeat file, so it is watching.
        out, mark = await run_line(session, screen, "ls -a /tmp", mark)
        assert heartbeat_path(session.container).removeprefix("/tmp/").encode() in out
        out, mark = await run_line(session, screen, "echo uid=$(id -u)", mark)
        assert f"uid={RESTRICTED_UID}".encode() in out
        assert await exit_with(session, 0) == 0
    finally:
        await session.close()


async def test_auto_picks_restricted_by_itself_and_says_so(kube: KubeClient) -> None:
    await app_pod(kube, RESTRICTED_NS)
    screen = await shell_and_exit(kube, RESTRICTED_NS, "auto")
    details = phase_details(screen)
    assert f"profile auto chose restricted, the strongest that namespace {RESTRICTED_NS}'s" in (
        details
    )
    assert "iptables (needs NET_ADMIN) will not work" in details
    assert "unprivileged ping may still work (ping_group_range)" in details
    (added,) = await ephemeral_containers(kube, RESTRICTED_NS, "app")
    assert added["securityContext"]["allowPrivilegeEscalation"] is False


async def test_auto_learns_the_level_from_the_dry_run_when_namespaces_are_unreadable(
    kube: KubeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await app_pod(kube, RESTRICTED_NS)
    original = kube.request
    namespace_reads: list[str] = []

    async def without_namespace_reads(method: str, path: str, **options: Any) -> Any:
        if method == "GET" and path.startswith("/api/v1/namespaces/") and path.count("/") == 4:
            namespace_reads.append(path)
            raise ForbiddenError(
                f'namespaces "{RESTRICTED_NS}" is forbidden: User "dev" cannot get resource '
                '"namespaces"',
                status=403,
            )
        return await original(method, path, **options)

    monkeypatch.setattr(kube, "request", without_namespace_reads)
    screen = await shell_and_exit(kube, RESTRICTED_NS, "auto")
    assert namespace_reads == [f"/api/v1/namespaces/{RESTRICTED_NS}"]
    assert "profile auto chose restricted" in phase_details(screen)
    assert len(await ephemeral_containers(kube, RESTRICTED_NS, "app")) == 1


async def test_auto_picks_baseline_in_a_baseline_namespace(kube: KubeClient) -> None:
    await app_pod(kube, BASELINE_NS)
    screen = await shell_and_exit(kube, BASELINE_NS, "auto")
    assert "profile auto chose baseline" in phase_details(screen)
    assert "iptables will not work" in phase_details(screen)
    (added,) = await ephemeral_containers(kube, BASELINE_NS, "app")
    assert added["securityContext"] == {}


async def test_the_advice_for_a_baseline_namespace_works_when_followed(kube: KubeClient) -> None:
    await app_pod(kube, BASELINE_NS)
    error = await start_fails(PodSession(kube, PodSessionSpec(BASELINE_NS, "app")))
    assert "retry with --profile baseline or --profile auto" in str(error)
    assert await ephemeral_containers(kube, BASELINE_NS, "app") == []
    screen = Screen()
    session = pod_session(kube, screen, BASELINE_NS, "baseline")
    await session.start()
    try:
        await prompt(session, screen)
        assert await exit_with(session, 0) == 0
    finally:
        await session.close()


async def test_a_node_session_in_a_baseline_namespace_names_the_level_and_suggests_n(
    kube: KubeClient,
) -> None:
    for profile in ("netadmin", "auto", "sysadmin"):
        spec = NodeSessionSpec(node=await linux_node(kube), namespace=BASELINE_NS, profile=profile)
        error = await start_fails(NodeSession(kube, spec))
        assert str(error).startswith(
            f"Namespace {BASELINE_NS} enforces Pod Security level baseline (label "
            "pod-security.kubernetes.io/enforce=baseline), which forbids the host network"
        )
        assert "-n NAMESPACE for a namespace whose level is privileged" in str(error)
    assert await debug_pods(kube) == []


async def test_a_node_session_with_a_baseline_profile_is_refused_before_any_request(
    kube: KubeClient,
) -> None:
    spec = NodeSessionSpec(node="no-such-node", namespace="default", profile="baseline")
    error = await start_fails(NodeSession(kube, spec))
    assert str(error).startswith("A node shell needs the host network, which profile baseline")
    assert await debug_pods(kube) == []


async def test_node_pods_get_no_service_account_token(kube: KubeClient) -> None:
    screen = Screen()
    spec = NodeSessionSpec(node=await linux_node(kube), namespace="default", profile="auto")
    session = NodeSession(kube, spec, on_phase=screen.on_phase, on_output=screen.on_output)
    await session.start()
    try:
        created = await kube.request("GET", f"/api/v1/namespaces/default/pods/{session.pod}")
        assert created["spec"]["automountServiceAccountToken"] is False
        assert created["spec"]["hostNetwork"] is True
        await prompt(session, screen)
        assert await exit_with(session, 0) == 0
    finally:
        await session.close()
    assert "profile auto chose netadmin" in phase_details(screen)
