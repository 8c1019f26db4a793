"""`spec.activeDeadlineSeconds` for the sandbox kubelet: a timer per pod, and what ends it.

A pod's deadline counts from its `status.startTime`. `DeadlineTimers` keeps one timer per
pod that has both, re-armed whenever either changes (the API lets an update lower the
deadline) and dropped when the pod ends or goes. When a timer fires, the kubelet stops the
pod's processes as on deletion; the helpers here mark the pod Failed with the kubelet's
reason and message, record its Warning event and give every container a terminated state.
A pod the kubelet runs nothing for (a synthetic pod never exec'd into) only gets its status
and event written.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from retina_tui.sandbox.errors import ApiError
from retina_tui.sandbox.events import EventRecorder
from retina_tui.sandbox.podstatus import (
    ContainerRuntime,
    Obj,
    PodRuntime,
    adopt_container_status,
    build_status,
)
from retina_tui.sandbox.store import Store, now_iso

REASON: Final = "DeadlineExceeded"
MESSAGE: Final = "Pod was active on the node longer than the specified deadline"
UNKNOWN_EXIT: Final = 137
UNKNOWN_REASON: Final = "ContainerStatusUnknown"
UNKNOWN_MESSAGE: Final = "The container could not be located when the pod was terminated"

Expired = Callable[[str, str, str], None]


def deadline_of(pod: Obj) -> float | None:
    """When (epoch seconds) the pod's active deadline passes; None without one."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    seconds, started = spec.get("activeDeadlineSeconds"), status.get("startTime")
    if meta.get("deletionTimestamp") or status.get("phase") in ("Succeeded", "Failed"):
        return None
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not isinstance(started, str):
        return None
    try:
        start = datetime.strptime(started, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return start.timestamp() + seconds


@dataclass
class _Timer:
    uid: str
    when: float
    task: asyncio.Task[None]


class DeadlineTimers:
    """One timer per pod with a deadline; `expired(namespace, name, uid)` when it passes."""

    def __init__(self, expired: Expired) -> None:
        self._expired = expired
        self._timers: dict[tuple[str, str], _Timer] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def follow(self, pod: Obj) -> None:
        """Arm, re-arm or drop the pod's timer after a change of the pod."""
        meta = pod.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        uid, when = str(meta.get("uid") or ""), deadline_of(pod)
        current = self._timers.get(key)
        if current is not None and (current.uid, current.when) == (uid, when):
            return
        self.forget(*key)
        if when is None:
            return
        task = asyncio.create_task(
            self._wait(key, uid, when), name=f"sandbox-kubelet-deadline-{key[0]}/{key[1]}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._timers[key] = _Timer(uid, when, task)

    def forget(self, namespace: str, name: str) -> None:
        """Drop the pod's timer (the pod is gone)."""
        timer = self._timers.pop((namespace, name), None)
        if timer is not None:
            timer.task.cancel()

    async def close(self) -> None:
        """Cancel every timer and wait for them."""
        self._timers.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _wait(self, key: tuple[str, str], uid: str, when: float) -> None:
        await asyncio.sleep(max(0.0, when - datetime.now(UTC).timestamp()))
        current = self._timers.get(key)
        if current is not None and current.task is asyncio.current_task():
            del self._timers[key]
        self._expired(key[0], key[1], uid)


def mark_exceeded(rt: PodRuntime, events: EventRecorder) -> None:
    """The pod has failed for good: say so in its status from now on, and in an event."""
    rt.failure = (REASON, MESSAGE)
    events.record(rt, REASON, MESSAGE, warning=True)


def settle(rt: PodRuntime, now: str) -> None:
    """Every container not yet reported terminated is: with its exit code if it had one."""
    for entry in rt.all_containers():
        if entry.terminated is not None:
            continue
        process = entry.process
        started = (entry.state.get("running") or {}).get("startedAt")
        if process is not None and process.exit_code is not None:
            code = process.exit_code
            state: Obj = {"exitCode": code, "reason": "Completed" if code == 0 else "Error"}
        else:
            state = {"exitCode": UNKNOWN_EXIT, "reason": UNKNOWN_REASON, "message": UNKNOWN_MESSAGE}
        if started:
            state["startedAt"] = started
        state["finishedAt"] = now
        if entry.container_id:
            state["containerID"] = entry.container_id
        entry.state = {"terminated": state}


def fail_unrun(store: Store, events: EventRecorder, namespace: str, name: str, uid: str) -> None:
    """Fail a pod past its deadline that has no process (a synthetic pod): status and event."""
    pod = store.get("pods", namespace, name)
    if pod is None or (pod.get("metadata") or {}).get("uid") != uid:
        return
    when = deadline_of(pod)
    if when is None or when > datetime.now(UTC).timestamp():
        return
    rt = _detached_runtime(pod)
    mark_exceeded(rt, events)
    settle(rt, now_iso())

    def update(current: Obj) -> None:
        if (current.get("metadata") or {}).get("uid") == uid:
            current["status"] = build_status(rt, current.get("status") or {}, now_iso())

    with contextlib.suppress(ApiError):
        store.mutate("pods", namespace, name, update)


def _detached_runtime(pod: Obj) -> PodRuntime:
    """A runtime rebuilt from the stored status only, to derive the failed status from."""
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    rt = PodRuntime(
        namespace=meta.get("namespace", ""),
        name=meta["name"],
        uid=meta.get("uid", ""),
        node=spec.get("nodeName", ""),
        host_network=bool(spec.get("hostNetwork")),
        synthetic=True,
        pod=pod,
        ip=str(status.get("podIP") or ""),
        host_ip=str(status.get("hostIP") or ""),
        start_time=str(status.get("startTime") or ""),
    )
    for container in spec.get("containers") or []:
        entry = ContainerRuntime(container, ephemeral=False, lazy=True)
        adopt_container_status(entry, pod)
        rt.containers[entry.name] = entry
    return rt
