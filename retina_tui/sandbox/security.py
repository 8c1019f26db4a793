"""What a container's securityContext asks of the sandbox runtime, resolved as runc would.

The pod-level securityContext gives defaults (runAsUser, runAsGroup, runAsNonRoot,
supplementalGroups) that the container's own overrides. Capabilities start from the
runtime default set (containerd's), then `drop` (ALL = every one), then `add` (ALL = every
one); `privileged` gets them all. A container that must not run as root but would is a
config error, worded as the kubelet words it. The plan becomes libcap `capsh` arguments.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from retina_tui.validation.capabilities import ALL, LINUX_CAPABILITIES

Obj = dict[str, Any]

# containerd's default capability set (oci.DefaultCapabilities / defaultUnixCaps).
DEFAULT_CAPABILITIES: Final = frozenset(
    {
        "CHOWN",
        "DAC_OVERRIDE",
        "FSETID",
        "FOWNER",
        "MKNOD",
        "NET_RAW",
        "SETGID",
        "SETUID",
        "SETFCAP",
        "SETPCAP",
        "NET_BIND_SERVICE",
        "SYS_CHROOT",
        "KILL",
        "AUDIT_WRITE",
    }
)
EVERY_CAPABILITY: Final = frozenset(LINUX_CAPABILITIES)


@dataclass(frozen=True, slots=True)
class SecurityPlan:
    """The identity and privileges one container (and every exec in it) runs with."""

    uid: int
    gid: int
    groups: tuple[int, ...]
    capabilities: frozenset[str]
    no_new_privs: bool
    read_only_root: bool
    privileged: bool


@functools.cache
def grantable() -> frozenset[str]:
    """The capabilities this process may hand on (its bounding set): a runtime gives no more."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return EVERY_CAPABILITY
    for line in status.splitlines():
        if line.startswith("CapBnd:"):
            mask = int(line.split()[1], 16)
            return frozenset(n for bit, n in enumerate(LINUX_CAPABILITIES) if mask >> bit & 1)
    return EVERY_CAPABILITY


def _name(value: object) -> str:
    text = str(value).upper()
    return text[4:] if text.startswith("CAP_") else text


def _names(values: object) -> set[str]:
    return {_name(v) for v in values} if isinstance(values, list) else set()


def capabilities(context: Obj) -> frozenset[str]:
    """The container's capability set: defaults, minus `drop`, plus `add`."""
    if context.get("privileged"):
        return EVERY_CAPABILITY
    wanted = context.get("capabilities") or {}
    drop, add = _names(wanted.get("drop")), _names(wanted.get("add"))
    result = set() if ALL in drop else set(DEFAULT_CAPABILITIES - drop)
    result |= set(EVERY_CAPABILITY) if ALL in add else add & EVERY_CAPABILITY
    return frozenset(result)


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _contexts(pod: Obj, container: Obj) -> tuple[Obj, Obj]:
    pod_context = (pod.get("spec") or {}).get("securityContext") or {}
    return pod_context, container.get("securityContext") or {}


def _setting(pod_context: Obj, context: Obj, key: str) -> object:
    return context[key] if context.get(key) is not None else pod_context.get(key)


def plan(pod: Obj, container: Obj) -> SecurityPlan:
    """What the runtime applies to `container` of `pod` (images run as root by default)."""
    pod_context, context = _contexts(pod, container)
    uid = _int(_setting(pod_context, context, "runAsUser"), 0)
    gid = _int(_setting(pod_context, context, "runAsGroup"), 0)
    extra = pod_context.get("supplementalGroups") or []
    groups = tuple(dict.fromkeys([gid, *(g for g in extra if isinstance(g, int))]))
    privileged = bool(context.get("privileged"))
    escalation = context.get("allowPrivilegeEscalation")
    return SecurityPlan(
        uid=uid,
        gid=gid,
        groups=groups,
        capabilities=capabilities(context) & grantable(),
        no_new_privs=escalation is False and not privileged,
        read_only_root=bool(context.get("readOnlyRootFilesystem")),
        privileged=privileged,
    )


def config_error(pod: Obj, container: Obj) -> str | None:
    """The kubelet's CreateContainerConfigError message, when runAsNonRoot cannot hold."""
    pod_context, context = _contexts(pod, container)
    if not _setting(pod_context, context, "runAsNonRoot"):
        return None
    meta = pod.get("metadata") or {}
    where = (
        f'(pod: "{meta.get("name", "")}_{meta.get("namespace", "")}({meta.get("uid", "")})", '
        f"container: {container.get('name', '')})"
    )
    uid = _setting(pod_context, context, "runAsUser")
    if uid is None:
        return f"container has runAsNonRoot and image will run as root {where}"
    if uid == 0:
        return f"container's runAsUser breaks non-root policy {where}"
    return None


def _cap_list(names: Sequence[str]) -> str:
    return ",".join(f"cap_{name.lower()}" for name in names)


def capsh_args(security: SecurityPlan) -> list[str]:
    """capsh options applying `security`, left to right, before it execs the command.

    The bounding set is cut first (CAP_SETPCAP is still effective then), the identity
    changes while CAP_SETUID/CAP_SETGID still are, and for a non-root uid the kept
    capabilities become ambient so that they stay effective across exec.
    """
    kept = [c for c in LINUX_CAPABILITIES if c in security.capabilities]
    dropped = [c for c in LINUX_CAPABILITIES if c not in security.capabilities]
    args = []
    if dropped:
        args.append("--drop=" + ("all" if not kept else _cap_list(dropped)))
    args.append("--inh=" + _cap_list(kept))
    args += [f"--gid={security.gid}", "--groups=" + ",".join(map(str, security.groups))]
    if security.uid != 0:
        caps = _cap_list(kept) + "=eip" if kept else "="
        args += ["--keep=1", f"--uid={security.uid}", f"--caps={caps}"]
        if kept:
            args.append("--addamb=" + _cap_list(kept))
    if security.no_new_privs:
        args.append("--no-new-privs")
    return args
