"""Pod and node rows from Kubernetes JSON, worded the way `kubectl get` words them.

Pure functions over plain dicts so that they are cheap for 10,000 pods and can be
tested without a cluster or a UI. Ages are not part of a row: the table computes
them at render time from `created`, so a row never goes stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

NONE = "<none>"

POD_COLUMNS = ("NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "NODE", "IP", "AGE")
NODE_COLUMNS = ("NAME", "STATUS", "ROLES", "INTERNAL-IP", "OS/ARCH", "VERSION", "PODS", "AGE")

# Statuses shown in the "good" and "warning" colours; anything else that is not
# Running-like is shown as an error.
OK_STATUSES = frozenset({"Running", "Completed", "Succeeded", "Ready"})
PENDING_STATUSES = frozenset(
    {"Pending", "ContainerCreating", "PodInitializing", "Terminating", "NotReady", "Unknown"}
)


@dataclass(frozen=True, slots=True)
class Row:
    """One table row: cell texts (the age cell is computed later) and sort keys."""

    key: str
    cells: tuple[str, ...]
    created: float
    sort_keys: tuple[Any, ...]
    tone: str  # "ok", "pending" or "error": how the status cell is coloured

    @property
    def haystack(self) -> str:
        """What the `/` filter searches: every cell, lower-cased."""
        return " ".join(self.cells).lower()


def parse_time(value: str | None) -> float:
    """Seconds since the epoch for an RFC 3339 timestamp; 0.0 when missing or invalid."""
    if not value:
        return 0.0
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def last_seen(event: dict[str, Any]) -> float:
    """When an event was last seen: lastTimestamp, else eventTime, else its creation."""
    for value in (
        event.get("lastTimestamp"),
        event.get("eventTime"),
        (event.get("series") or {}).get("lastObservedTime"),
        (event.get("metadata") or {}).get("creationTimestamp"),
    ):
        seen = parse_time(value) if isinstance(value, str) else 0.0
        if seen:
            return seen
    return 0.0


def object_selector(kind: str, name: str, namespace: str | None) -> str:
    """The field selector of one object's events."""
    parts = [f"involvedObject.kind={kind}", f"involvedObject.name={name}"]
    if namespace:
        parts.append(f"involvedObject.namespace={namespace}")
    return ",".join(parts)


def involved_object(event: dict[str, Any]) -> dict[str, Any]:
    """The object an event is about; empty when the event does not say it as a mapping."""
    value = event.get("involvedObject")
    return value if isinstance(value, dict) else {}


def event_count(event: dict[str, Any]) -> int:
    """How many times an event was seen (`count`, or its series' count); 1 if unreadable."""
    value = event.get("count") or (event.get("series") or {}).get("count") or 1
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def human_duration(seconds: float) -> str:
    """A duration as kubectl prints it (k8s.io/apimachinery duration.HumanDuration)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def age(created: float, now: float) -> str:
    """The AGE column for an object created at `created` (epoch seconds)."""
    if created <= 0:
        return NONE
    return human_duration(now - created)


def _terminated_reason(term: dict[str, Any], prefix: str = "") -> str:
    if term.get("reason"):
        return prefix + str(term["reason"])
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


def _has_condition(pod: dict[str, Any], kind: str) -> bool:
    for condition in pod.get("status", {}).get("conditions") or ():
        if condition.get("type") == kind and condition.get("status") == "True":
            return True
    return False


def pod_status(pod: dict[str, Any]) -> tuple[str, int, int, int, float]:
    """kubectl's STATUS, ready and total containers, restarts and the last restart time.

    Follows kubectl's printPod: init containers first (Init:N/M, Init:Reason), then
    the containers from last to first, Completed turned back to Running if one still
    runs, and Terminating once the deletionTimestamp is set.
    """
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    reason = str(status.get("reason") or status.get("phase") or "Unknown")
    restarts = 0
    ready = 0
    last_restart = 0.0
    total = len(spec.get("containers") or ())
    init_specs = spec.get("initContainers") or ()
    initializing = False
    for index, init in enumerate(status.get("initContainerStatuses") or ()):
        restarts += int(init.get("restartCount") or 0)
        last_restart = max(last_restart, _last_termination(init))
        state = init.get("state") or {}
        term = state.get("terminated")
        waiting = state.get("waiting")
        sidecar = (init_specs[index] if index < len(init_specs) else {}).get(
            "restartPolicy"
        ) == "Always"
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if sidecar and init.get("started"):
            continue
        if term is not None:
            reason = _terminated_reason(term, "Init:")
        elif waiting is not None and waiting.get("reason") not in (None, "", "PodInitializing"):
            reason = "Init:" + str(waiting["reason"])
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        initializing = True
        break
    if not initializing or _has_condition(pod, "Initialized"):
        restarts = 0
        has_running = False
        for container in reversed(status.get("containerStatuses") or ()):
            restarts += int(container.get("restartCount") or 0)
            last_restart = max(last_restart, _last_termination(container))
            state = container.get("state") or {}
            waiting = state.get("waiting")
            term = state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif term is not None:
                reason = _terminated_reason(term)
            elif container.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _has_condition(pod, "Ready") else "NotReady"
    phase = status.get("phase")
    deleting = (pod.get("metadata") or {}).get("deletionTimestamp")
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return reason, ready, total, restarts, last_restart


def _last_termination(container: dict[str, Any]) -> float:
    last = (container.get("lastState") or {}).get("terminated") or {}
    return parse_time(last.get("finishedAt"))


def tone_of(status: str) -> str:
    """How a status is coloured: "ok", "pending" or "error"."""
    if status in OK_STATUSES:
        return "ok"
    if status in PENDING_STATUSES or (status.startswith("Init:") and "/" in status):
        return "pending"
    return "error"


def pod_row(pod: dict[str, Any], now: float) -> Row:
    """The row for one pod; `now` only words the "(5m ago)" of RESTARTS."""
    meta = pod.get("metadata") or {}
    status, ready, total, restarts, last_restart = pod_status(pod)
    restarts_text = str(restarts)
    if restarts and last_restart > 0:
        restarts_text = f"{restarts} ({human_duration(now - last_restart)} ago)"
    namespace = str(meta.get("namespace") or "")
    name = str(meta.get("name") or "")
    node = str((pod.get("spec") or {}).get("nodeName") or NONE)
    ip = str((pod.get("status") or {}).get("podIP") or NONE)
    created = parse_time(meta.get("creationTimestamp"))
    cells = (namespace, name, f"{ready}/{total}", status, restarts_text, node, ip)
    key = str(meta.get("uid") or f"{namespace}/{name}")
    sort_keys = (
        (namespace, name),
        name,
        (ready, total),
        status,
        restarts,
        node,
        _ip_key(ip),
        -created,
    )
    return Row(key, cells, created, sort_keys, tone_of(status))


def _ip_key(ip: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in ip.split("."))
    except ValueError:
        return ()


def node_status(node: dict[str, Any]) -> str:
    """Ready, NotReady or Unknown, plus ",SchedulingDisabled" when cordoned."""
    text = "Unknown"
    for condition in (node.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            text = "Ready" if condition.get("status") == "True" else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        text += ",SchedulingDisabled"
    return text


def node_roles(node: dict[str, Any]) -> str:
    """Roles from node-role.kubernetes.io/<role> labels, like kubectl."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    roles = set()
    for label, value in labels.items():
        if label.startswith("node-role.kubernetes.io/"):
            role = label.removeprefix("node-role.kubernetes.io/")
            if role:
                roles.add(role)
        elif label == "kubernetes.io/role" and value:
            roles.add(str(value))
    return ",".join(sorted(roles)) or NONE


def node_row(node: dict[str, Any], pods_on_node: int) -> Row:
    """The row for one node; `pods_on_node` comes from the pods the browser watches."""
    meta = node.get("metadata") or {}
    status = node.get("status") or {}
    info = status.get("nodeInfo") or {}
    internal_ip = NONE
    for address in status.get("addresses") or ():
        if address.get("type") == "InternalIP":
            internal_ip = str(address.get("address"))
            break
    os_arch = f"{info.get('operatingSystem', '?')}/{info.get('architecture', '?')}"
    name = str(meta.get("name") or "")
    state = node_status(node)
    roles = node_roles(node)
    version = str(info.get("kubeletVersion") or NONE)
    created = parse_time(meta.get("creationTimestamp"))
    cells = (name, state, roles, internal_ip, os_arch, version, str(pods_on_node))
    sort_keys = (name, state, roles, _ip_key(internal_ip), os_arch, version, pods_on_node, -created)
    tone = "ok" if state == "Ready" else "error" if state.startswith("NotReady") else "pending"
    return Row(name, cells, created, sort_keys, tone)
