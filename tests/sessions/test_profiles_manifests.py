"""What each security profile puts in a debug container and a node pod, and what it refuses."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from retina_tui.config import Profile
from retina_tui.errors import ConfigError, SessionError
from retina_tui.sandbox import psa
from retina_tui.sessions.node import node_pod_manifest
from retina_tui.sessions.pod import ephemeral_container
from retina_tui.sessions.profiles import (
    RESTRICTED_UID,
    check_node_profile,
    chosen,
    profile_for_level,
)
from retina_tui.sessions.specs import NodeSessionSpec, PodSessionSpec

POD = PodSessionSpec(namespace="web", pod="api-0", idle_logout_seconds=0)
NODE = NodeSessionSpec(node="n1", namespace="debug")


def container(profile: Profile) -> dict[str, Any]:
    return ephemeral_container(replace(POD, profile=profile), "rtui-abcde")


def node_pod(profile: Profile, **options: bool) -> dict[str, Any]:
    spec = replace(NODE, profile=profile, **options)
    return node_pod_manifest(spec, "rtui-node-n1-abcde", session_id="s", instance_id="i")["spec"]


def admitted(level: str, pod_spec: dict[str, Any]) -> bool:
    """Whether the sandbox's Pod Security Admission lets this pod spec through."""
    return psa.violations(level, pod_spec) == []


def test_netadmin_drops_all_and_adds_the_configured_capabilities() -> None:
    assert container("netadmin")["securityContext"] == {
        "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW"]}
    }
    assert "env" not in container("netadmin")


def test_general_adds_sys_ptrace_on_the_runtime_defaults() -> None:
    assert container("general")["securityContext"] == {"capabilities": {"add": ["SYS_PTRACE"]}}


def test_baseline_is_the_runtime_default_and_meets_the_baseline_level() -> None:
    made = container("baseline")
    assert made["securityContext"] == {}
    assert admitted("baseline", {"containers": [made]})
    assert not admitted("baseline", {"containers": [container("netadmin")]})


def test_restricted_runs_as_a_non_root_user_with_home_in_tmp() -> None:
    made = container("restricted")
    assert made["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": RESTRICTED_UID,
        "runAsGroup": RESTRICTED_UID,
        "allowPrivilegeEscalation": False,
        "seccompProfile": {"type": "RuntimeDefault"},
        "capabilities": {"drop": ["ALL"]},
    }
    assert made["env"] == [{"name": "HOME", "value": "/tmp"}]
    assert admitted("restricted", {"containers": [made]})
    assert not admitted("restricted", {"containers": [container("baseline")]})


def test_sysadmin_is_privileged() -> None:
    assert container("sysadmin")["securityContext"] == {"privileged": True}


def test_auto_before_it_settles_is_built_as_netadmin() -> None:
    assert container("auto")["securityContext"] == container("netadmin")["securityContext"]


def test_node_netadmin_has_the_host_network_and_pid_only_when_asked() -> None:
    plain = node_pod("netadmin")
    assert plain["hostNetwork"] is True and "hostPID" not in plain and "hostIPC" not in plain
    assert plain["automountServiceAccountToken"] is False
    assert plain["containers"][0]["securityContext"] == {
        "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW"]}
    }
    assert node_pod("netadmin", host_pid=True)["hostPID"] is True


@pytest.mark.parametrize("profile", ["general", "sysadmin"])
def test_node_general_and_sysadmin_share_the_host_namespaces(profile: Profile) -> None:
    pod_spec = node_pod(profile)
    assert (pod_spec["hostNetwork"], pod_spec["hostPID"], pod_spec["hostIPC"]) == (True,) * 3


def test_node_general_adds_nothing_and_sysadmin_is_privileged() -> None:
    assert node_pod("general")["containers"][0]["securityContext"] == {}
    sysadmin = node_pod("sysadmin", apparmor_unconfined=True, seccomp_unconfined=True)
    assert sysadmin["containers"][0]["securityContext"] == {
        "privileged": True,
        "appArmorProfile": {"type": "Unconfined"},
        "seccompProfile": {"type": "Unconfined"},
    }


@pytest.mark.parametrize("profile", ["baseline", "restricted"])
def test_node_shells_are_refused_with_baseline_and_restricted(profile: Profile) -> None:
    with pytest.raises(SessionError) as caught:
        check_node_profile(replace(NODE, profile=profile))
    text = str(caught.value)
    assert text.startswith("A node shell needs the host network")
    assert f"profile {profile}" in text and "-n NAMESPACE" in text and "privileged" in text


def test_restricted_with_seccomp_unconfined_is_refused_as_a_combination() -> None:
    spec = replace(NODE, profile="restricted", seccomp_unconfined=True)
    with pytest.raises(ConfigError, match="--seccomp-unconfined cannot be combined"):
        check_node_profile(spec)
    others: tuple[Profile, ...] = ("netadmin", "general", "sysadmin", "auto")
    for profile in others:
        check_node_profile(replace(NODE, profile=profile, seccomp_unconfined=True))


def test_levels_admit_their_strongest_profile() -> None:
    assert [profile_for_level(level) for level in ("privileged", "baseline", "restricted")] == [
        "netadmin",
        "baseline",
        "restricted",
    ]
    assert profile_for_level("bogus") == "restricted"


def test_the_phase_line_names_the_profile_and_the_tools_that_will_not_work() -> None:
    line = chosen("restricted", namespace="web", level="restricted", auto=True)
    assert line is not None
    assert line.startswith("profile auto chose restricted")
    assert "tcpdump (needs NET_RAW) and iptables (needs NET_ADMIN) will not work" in line
    assert "ping_group_range" in line
    assert "iptables will not work" in str(chosen("baseline", namespace="w", level="b", auto=False))
    assert chosen("netadmin", namespace="w", level=None, auto=False) is None
