"""Pod Security Admission: the baseline and restricted levels of the Pod Security Standards.

A namespace labelled `pod-security.kubernetes.io/enforce=baseline|restricted` refuses
pods (and ephemeral containers added to pods) that break its level, with the message
the real admission plugin writes: `violates PodSecurity "baseline:latest": host
namespaces (hostNetwork=true), non-default capabilities (container "c" must not include
"NET_ADMIN" in securityContext.capabilities.add)`.
"""

from __future__ import annotations

from typing import Any

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
VERSION_LABEL = "pod-security.kubernetes.io/enforce-version"
LEVELS = ("privileged", "baseline", "restricted")
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
RESTRICTED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
WINDOWS_EXEMPT = frozenset(
    {"allowPrivilegeEscalation != false", "unrestricted capabilities", "seccompProfile"}
)

Obj = dict[str, Any]


def _quote(items: list[str]) -> str:
    return ", ".join(f'"{item}"' for item in items)


def _containers(spec: Obj) -> list[Obj]:
    result: list[Obj] = []
    for field in ("initContainers", "containers", "ephemeralContainers"):
        result.extend(c for c in spec.get(field) or [] if isinstance(c, dict))
    return result


def _sc(container: Obj) -> Obj:
    value = container.get("securityContext")
    return value if isinstance(value, dict) else {}


def _plural(names: list[str]) -> str:
    return "container" if len(names) == 1 else "containers"


def _baseline(spec: Obj) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    hosts = [f"{field}=true" for field in ("hostNetwork", "hostPID", "hostIPC") if spec.get(field)]
    if hosts:
        problems.append(("host namespaces", ", ".join(hosts)))
    containers = _containers(spec)
    privileged = [c.get("name", "") for c in containers if _sc(c).get("privileged") is True]
    if privileged:
        problems.append(
            (
                "privileged",
                f"{_plural(privileged)} {_quote(privileged)} must not set "
                "securityContext.privileged=true",
            )
        )
    bad_containers: list[str] = []
    bad_caps: list[str] = []
    for container in containers:
        caps = _sc(container).get("capabilities")
        added = caps.get("add") if isinstance(caps, dict) else None
        extra = [cap for cap in added or [] if cap not in BASELINE_CAPABILITIES]
        if extra:
            bad_containers.append(container.get("name", ""))
            bad_caps.extend(cap for cap in extra if cap not in bad_caps)
    if bad_containers:
        problems.append(
            (
                "non-default capabilities",
                f"{_plural(bad_containers)} {_quote(bad_containers)} must not include "
                f"{_quote(bad_caps)} in securityContext.capabilities.add",
            )
        )
    host_paths = [
        v.get("name", "")
        for v in spec.get("volumes") or []
        if isinstance(v, dict) and v.get("hostPath") is not None
    ]
    if host_paths:
        noun = "volume" if len(host_paths) == 1 else "volumes"
        problems.append(("hostPath volumes", f"{noun} {_quote(host_paths)}"))
    host_ports: list[str] = []
    port_containers: list[str] = []
    for container in containers:
        for port in container.get("ports") or []:
            if isinstance(port, dict) and port.get("hostPort"):
                host_ports.append(str(port["hostPort"]))
                if container.get("name", "") not in port_containers:
                    port_containers.append(container.get("name", ""))
    if host_ports:
        problems.append(
            (
                "hostPort",
                f"{_plural(port_containers)} {_quote(port_containers)} uses "
                f"{'hostPort' if len(host_ports) == 1 else 'hostPorts'} {', '.join(host_ports)}",
            )
        )
    host_process = _host_process_setters(spec, containers)
    if host_process:
        problems.append(
            (
                "hostProcess",
                f"{host_process} must not set securityContext.windowsOptions.hostProcess=true",
            )
        )
    return problems


def _host_process_setters(spec: Obj, containers: list[Obj]) -> str:
    """`pod and container "a"`: who sets hostProcess=true, as the check words it."""
    pod_sc = spec.get("securityContext") if isinstance(spec.get("securityContext"), dict) else {}
    assert isinstance(pod_sc, dict)
    setters = []
    if (pod_sc.get("windowsOptions") or {}).get("hostProcess") is True:
        setters.append("pod")
    names = [
        c.get("name", "")
        for c in containers
        if (_sc(c).get("windowsOptions") or {}).get("hostProcess") is True
    ]
    if names:
        setters.append(f"{_plural(names)} {_quote(names)}")
    return " and ".join(setters)


def _restricted(spec: Obj) -> list[tuple[str, str]]:
    return [p for p in _restricted_linux(spec) if not _relaxed_for_windows(spec, p[0])]


def _relaxed_for_windows(spec: Obj, reason: str) -> bool:
    """A pod whose spec.os is windows is exempt from the Linux-only restricted checks."""
    windows = (spec.get("os") or {}).get("name") == "windows"
    return windows and reason in WINDOWS_EXEMPT


def _restricted_linux(spec: Obj) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    containers = _containers(spec)
    pod_sc = spec.get("securityContext") if isinstance(spec.get("securityContext"), dict) else {}
    assert isinstance(pod_sc, dict)
    escalation = [
        c.get("name", "") for c in containers if _sc(c).get("allowPrivilegeEscalation") is not False
    ]
    if escalation:
        problems.append(
            (
                "allowPrivilegeEscalation != false",
                f"{_plural(escalation)} {_quote(escalation)} must set "
                "securityContext.allowPrivilegeEscalation=false",
            )
        )
    no_drop: list[str] = []
    extra_containers: list[str] = []
    extra_caps: list[str] = []
    for container in containers:
        caps = _sc(container).get("capabilities")
        caps = caps if isinstance(caps, dict) else {}
        if "ALL" not in (caps.get("drop") or []):
            no_drop.append(container.get("name", ""))
        extra = [cap for cap in caps.get("add") or [] if cap not in RESTRICTED_CAPABILITIES]
        if extra:
            extra_containers.append(container.get("name", ""))
            extra_caps.extend(cap for cap in extra if cap not in extra_caps)
    details = []
    if no_drop:
        details.append(
            f"{_plural(no_drop)} {_quote(no_drop)} must set "
            'securityContext.capabilities.drop=["ALL"]'
        )
    if extra_containers:
        details.append(
            f"{_plural(extra_containers)} {_quote(extra_containers)} must not include "
            f"{_quote(extra_caps)} in securityContext.capabilities.add"
        )
    if details:
        problems.append(("unrestricted capabilities", "; ".join(details)))
    pod_non_root = pod_sc.get("runAsNonRoot") is True
    root = [
        c.get("name", "")
        for c in containers
        if _sc(c).get("runAsNonRoot") is False
        or (not pod_non_root and _sc(c).get("runAsNonRoot") is not True)
    ]
    if root:
        problems.append(
            (
                "runAsNonRoot != true",
                f"pod or {_plural(root)} {_quote(root)} must set securityContext.runAsNonRoot=true",
            )
        )
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
    no_seccomp = []
    for container in containers:
        kind = (_sc(container).get("seccompProfile") or {}).get("type") or pod_seccomp
        if kind not in ("RuntimeDefault", "Localhost"):
            no_seccomp.append(container.get("name", ""))
    if no_seccomp:
        problems.append(
            (
                "seccompProfile",
                f"pod or {_plural(no_seccomp)} {_quote(no_seccomp)} must set "
                'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
            )
        )
    return problems


def namespace_level(namespace: Obj | None) -> tuple[str, str]:
    """(level, version) enforced in a namespace; ("privileged", "latest") if unlabelled."""
    labels = ((namespace or {}).get("metadata") or {}).get("labels") or {}
    level = labels.get(ENFORCE_LABEL, "privileged")
    if level not in LEVELS:
        level = "restricted"
    return level, labels.get(VERSION_LABEL, "latest")


def violations(level: str, spec: Obj) -> list[str]:
    """`reason (detail)` strings for everything a pod spec breaks at a level."""
    if level == "privileged":
        return []
    problems = _baseline(spec)
    if level == "restricted":
        problems = [p for p in problems if p[0] != "non-default capabilities"]
        problems.extend(_restricted(spec))
    return [f"{reason} ({detail})" for reason, detail in problems]


def check(namespace: Obj | None, spec: Obj) -> str | None:
    """The `violates PodSecurity ...` text, or None if the pod is allowed."""
    level, version = namespace_level(namespace)
    found = violations(level, spec)
    if not found:
        return None
    return f'violates PodSecurity "{level}:{version}": {", ".join(found)}'
