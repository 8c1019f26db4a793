"""What each security profile sets on a debug container or node pod, as `kubectl debug` has it.

Profiles follow KEP-1441 (`kubectl debug --profile`), adapted to node shells, which are
host-network pods by definition: `netadmin` (the default) drops ALL and adds the
configured capabilities, `general` keeps the runtime's defaults plus SYS_PTRACE,
`baseline` and `restricted` meet those Pod Security levels (so they cannot open a node
shell), `sysadmin` is privileged. `auto` picks the strongest profile the namespace's
`pod-security.kubernetes.io/enforce` level admits.
"""

from __future__ import annotations

from typing import Final, Literal

from retina_tui.config import Profile
from retina_tui.errors import ConfigError, ForbiddenError, NotFoundError, SessionError
from retina_tui.kube.client import KubeClient
from retina_tui.sessions.specs import NodeSessionSpec

Concrete = Literal["netadmin", "general", "baseline", "restricted", "sysadmin"]

PSA_ENFORCE_LABEL: Final = "pod-security.kubernetes.io/enforce"
RESTRICTED_UID: Final = 1000
"""The user and group id of a restricted debug container (any non-root id would do)."""
GENERAL_CAPABILITIES: Final = ("SYS_PTRACE",)
LEVEL_PROFILES: Final[dict[str, Concrete]] = {
    "privileged": "netadmin",
    "baseline": "baseline",
    "restricted": "restricted",
}
NODE_REFUSED: Final = frozenset({"baseline", "restricted"})

_PING_NOTE: Final = "unprivileged ping may still work (ping_group_range)"
TOOL_LIMITS: Final[dict[Concrete, str]] = {
    "baseline": (
        "iptables will not work (it needs NET_ADMIN), tcpdump only where the runtime grants "
        f"NET_RAW by default, and {_PING_NOTE}"
    ),
    "restricted": (
        "tcpdump (needs NET_RAW) and iptables (needs NET_ADMIN) will not work, and the shell "
        f"runs as uid {RESTRICTED_UID}; {_PING_NOTE}"
    ),
}


def settled(profile: Profile) -> Concrete:
    """The profile to build before anything is known: `auto` starts from the strongest."""
    return "netadmin" if profile == "auto" else profile


def profile_for_level(level: str) -> Concrete:
    """The strongest profile a Pod Security level admits (an unknown level is restricted)."""
    return LEVEL_PROFILES.get(level, "restricted")


def _netadmin(capabilities: tuple[str, ...]) -> dict[str, object]:
    return {
        "capabilities": {"drop": ["ALL"], **({"add": list(capabilities)} if capabilities else {})}
    }


def container_security_context(
    profile: Concrete, capabilities: tuple[str, ...]
) -> dict[str, object]:
    """The securityContext of a pod session's ephemeral container."""
    if profile == "netadmin":
        return _netadmin(capabilities)
    if profile == "general":
        return {"capabilities": {"add": list(GENERAL_CAPABILITIES)}}
    if profile == "restricted":
        return {
            "runAsNonRoot": True,
            "runAsUser": RESTRICTED_UID,
            "runAsGroup": RESTRICTED_UID,
            "allowPrivilegeEscalation": False,
            "seccompProfile": {"type": "RuntimeDefault"},
            "capabilities": {"drop": ["ALL"]},
        }
    if profile == "sysadmin":
        return {"privileged": True}
    return {}


def node_security_context(
    profile: Concrete,
    capabilities: tuple[str, ...],
    *,
    apparmor_unconfined: bool = False,
    seccomp_unconfined: bool = False,
) -> dict[str, object]:
    """The securityContext of a node pod's shell; the Unconfined options on top."""
    context: dict[str, object]
    if profile == "netadmin":
        context = _netadmin(capabilities)
    elif profile == "sysadmin":
        context = {"privileged": True}
    else:
        context = {}
    if apparmor_unconfined:
        context["appArmorProfile"] = {"type": "Unconfined"}
    if seccomp_unconfined:
        context["seccompProfile"] = {"type": "Unconfined"}
    return context


def node_host_namespaces(profile: Concrete, host_pid: bool) -> dict[str, bool]:
    """The host namespaces of a node pod: the network always, PID and IPC as the profile says."""
    if profile in ("general", "sysadmin"):
        return {"hostNetwork": True, "hostPID": True, "hostIPC": True}
    return {"hostNetwork": True, **({"hostPID": True} if host_pid else {})}


def profile_env(profile: Concrete) -> list[dict[str, str]]:
    """A restricted shell runs as a user without a home: /tmp is its writable HOME."""
    if profile == "restricted":
        return [{"name": "HOME", "value": "/tmp"}]
    return []


def check_node_profile(spec: NodeSessionSpec) -> None:
    """Refuse a node shell the profile cannot give; nothing is sent to the cluster before."""
    if spec.profile == "restricted" and spec.seccomp_unconfined:
        raise ConfigError(
            "--seccomp-unconfined cannot be combined with profile restricted, whose seccomp "
            "profile must be RuntimeDefault; drop one of the two."
        )
    if spec.profile in NODE_REFUSED:
        raise SessionError(
            f"A node shell needs the host network, which profile {spec.profile} (the Pod "
            f"Security {spec.profile} level) forbids; use --profile netadmin or auto with "
            "-n NAMESPACE for a namespace whose level is privileged."
        )


async def enforced_level(client: KubeClient, namespace: str) -> str | None:
    """The namespace's enforced Pod Security level, or None when it may not be read."""
    try:
        answer = await client.request("GET", f"/api/v1/namespaces/{namespace}")
    except (ForbiddenError, NotFoundError):
        return None
    labels = (answer.get("metadata") or {}).get("labels") if isinstance(answer, dict) else None
    level = labels.get(PSA_ENFORCE_LABEL) if isinstance(labels, dict) else None
    return level if isinstance(level, str) and level else "privileged"


def chosen(profile: Concrete, *, namespace: str, level: str | None, auto: bool) -> str | None:
    """The phase line naming the profile and what will not work with it; None if nothing to say."""
    limits = TOOL_LIMITS.get(profile)
    if not auto:
        return f"profile {profile}: {limits}" if limits else None
    reason = (
        f"the strongest that namespace {namespace}'s Pod Security level {level} admits"
        if level
        else "the strongest profile"
    )
    return f"profile auto chose {profile}, {reason}" + (f": {limits}" if limits else "")
