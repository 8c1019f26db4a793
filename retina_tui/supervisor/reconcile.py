"""The reaper's decision, as a pure function: given what exists now, what should not.

Reconciling instead of tracking means a restarted process, another instance or
`retina-tui gc` all reach the same answer from the cluster's state alone, and deleting
twice is harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from retina_tui.supervisor.ownership import (
    FINISHED_PHASES,
    STALE_INTERVALS,
    instance_of_lease,
    instance_of_pod,
    is_managed_pod,
    lease_name,
    parse_time,
)

DEFAULT_LEASE_DURATION = 10


@dataclass(frozen=True)
class Deletion:
    """One object that should not exist, and why (the reason is logged and printed)."""

    kind: Literal["pod", "lease"]
    namespace: str
    name: str
    reason: str
    instance: str | None = None

    def describe(self) -> str:
        """`pod NS/NAME: reason`."""
        return f"{self.kind} {self.namespace}/{self.name}: {self.reason}"


@dataclass(frozen=True)
class LeaseState:
    """What one of our Leases says about its instance at a given moment."""

    namespace: str
    name: str
    instance: str
    renewed: datetime | None
    duration: int
    age: float | None

    @property
    def stale(self) -> bool:
        """Not renewed for STALE_INTERVALS of its own duration (or never renewed at all)."""
        return self.age is None or self.age > STALE_INTERVALS * self.duration

    def staleness(self) -> str:
        """Human wording for why this Lease counts as dead."""
        if self.renewed is None or self.age is None:
            return "has no renew time"
        return (
            f"was last renewed {self.age:.0f}s ago (more than {STALE_INTERVALS} x {self.duration}s)"
        )


def lease_state(lease: dict[str, Any], now: datetime) -> LeaseState | None:
    """Read one Lease; None when it is not one of ours."""
    instance = instance_of_lease(lease)
    if instance is None:
        return None
    meta = lease.get("metadata") or {}
    spec = lease.get("spec") or {}
    renewed = (
        parse_time(spec.get("renewTime"))
        or parse_time(spec.get("acquireTime"))
        or parse_time(meta.get("creationTimestamp"))
    )
    raw_duration = spec.get("leaseDurationSeconds")
    duration = (
        raw_duration
        if isinstance(raw_duration, int) and raw_duration > 0
        else DEFAULT_LEASE_DURATION
    )
    age = None if renewed is None else (now - renewed).total_seconds()
    return LeaseState(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        instance=instance,
        renewed=renewed,
        duration=duration,
        age=age,
    )


def plan_deletions(
    pods: Iterable[dict[str, Any]],
    leases: Iterable[dict[str, Any]],
    *,
    now: datetime,
    own_instance: str | None,
    missing_lease_grace: float,
) -> list[Deletion]:
    """Which of our pods and Leases should be deleted now, each with its reason.

    `pods` and `leases` must cover the same namespaces (a namespace whose Leases could
    not be read must not be passed at all). An instance counts as alive when any of its
    Leases seen is fresh, so a pod is never deleted while its process still renews.
    A pod whose Lease is missing is spared while younger than `missing_lease_grace`
    seconds. A pod with our managed-by label but no readable instance label is only
    deleted once it has Succeeded or Failed. Pods already terminating are left alone.
    A stale Lease is deleted once no pod of its instance is left in its namespace.
    """
    states = [s for s in (lease_state(lease, now) for lease in leases) if s is not None]
    live = {s.instance for s in states if not s.stale}
    if own_instance is not None:
        live.add(own_instance)
    by_key = {(s.namespace, s.instance): s for s in states}
    remaining: set[tuple[str, str]] = set()
    deletions: list[Deletion] = []
    for pod in sorted(pods, key=_pod_key):
        if not is_managed_pod(pod):
            continue
        meta = pod.get("metadata") or {}
        namespace = str(meta.get("namespace", ""))
        name = str(meta.get("name", ""))
        instance = instance_of_pod(pod)
        if instance is not None:
            remaining.add((namespace, instance))
        if meta.get("deletionTimestamp") or instance in live:
            continue
        reason = _pod_reason(
            pod, instance, by_key.get((namespace, instance or "")), now, missing_lease_grace
        )
        if reason is not None:
            deletions.append(Deletion("pod", namespace, name, reason, instance))
    for state in sorted(states, key=lambda s: (s.namespace, s.name)):
        if state.instance in live or (state.namespace, state.instance) in remaining:
            continue
        deletions.append(
            Deletion(
                "lease",
                state.namespace,
                state.name,
                f"instance {state.instance} is gone: the lease {state.staleness()} "
                "and none of its pods is left",
                state.instance,
            )
        )
    return deletions


def _pod_key(pod: dict[str, Any]) -> tuple[str, str]:
    meta = pod.get("metadata") or {}
    return (str(meta.get("namespace", "")), str(meta.get("name", "")))


def _pod_reason(
    pod: dict[str, Any],
    instance: str | None,
    lease: LeaseState | None,
    now: datetime,
    grace: float,
) -> str | None:
    phase = str((pod.get("status") or {}).get("phase", ""))
    finished = phase in FINISHED_PHASES
    if instance is None:
        return f"pod {phase} and carries no instance label" if finished else None
    prefix = f"pod {phase}; " if finished else ""
    if lease is not None:
        return f"{prefix}instance {instance} is gone: its lease {lease.name} {lease.staleness()}"
    created = parse_time((pod.get("metadata") or {}).get("creationTimestamp"))
    age = None if created is None else (now - created).total_seconds()
    if not finished and age is not None and age < grace:
        return None
    return f"{prefix}instance {instance} is gone: there is no lease {lease_name(instance)}"
