"""Events the sandbox scheduler and kubelet record about pods, as the real ones do.

Scheduled (default-scheduler), and Pulling, Pulled, Created, Started, Killing, Failed and
BackOff (kubelet) with their wording, stored as core/v1 Events in the pod's namespace so
`kubectl describe pod`, `kubectl get events` and `kubectl events --for pod/X` show what
happened. A repeat of the same event (same object, reason and message) is folded into the
first one, its count raised and lastTimestamp moved, as the client-go event correlator
does, so a crash-looping container shows one BackOff "x5" rather than five.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from typing import Any

from retina_tui.sandbox.errors import ApiError
from retina_tui.sandbox.podstatus import PodRuntime
from retina_tui.sandbox.store import Store, now_iso

log = logging.getLogger("retina_tui.sandbox")

Obj = dict[str, Any]


def pod_reference(pod: Obj, container: str | None = None, *, ephemeral: bool = False) -> Obj:
    """The involvedObject of an event about `pod` (and one of its containers)."""
    meta = pod.get("metadata") or {}
    involved: Obj = {
        "kind": "Pod",
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "apiVersion": "v1",
    }
    if container is not None:
        kind = "ephemeralContainers" if ephemeral else "containers"
        involved["fieldPath"] = f"spec.{kind}{{{container}}}"
    return involved


class EventRecorder:
    """Writes events, folding repeats into the event they repeat."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._seen: dict[tuple[str, ...], str] = {}
        """(namespace, uid, fieldPath, type, reason, message) -> the stored event's name."""

    def emit(
        self,
        involved: Obj,
        reason: str,
        message: str,
        *,
        component: str,
        host: str = "",
        warning: bool = False,
        fold: bool = True,
    ) -> None:
        """Store one event about `involved`, or count it again if it is a repeat.

        `fold=False` for an event that cannot repeat: it is not remembered.
        """
        namespace = str(involved.get("namespace", ""))
        kind = "Warning" if warning else "Normal"
        key = (
            namespace,
            str(involved.get("uid", "")),
            str(involved.get("fieldPath", "")),
            kind,
            reason,
            message,
        )
        now = now_iso()
        name = self._seen.get(key)
        if name is not None and self._count_again(namespace, name, now):
            return
        source: Obj = {"component": component}
        if host:
            source["host"] = host
        event: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{involved.get('name', '')}.{secrets.token_hex(8)}",
                "namespace": namespace,
            },
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": kind,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": host,
        }
        with contextlib.suppress(ApiError):  # the namespace may be going away
            self.store.create("events", event)
            if fold:
                self._seen[key] = event["metadata"]["name"]

    def _count_again(self, namespace: str, name: str, now: str) -> bool:
        def bump(event: Obj) -> None:
            event["count"] = int(event.get("count") or 1) + 1
            event["lastTimestamp"] = now

        try:
            self.store.mutate("events", namespace, name, bump)
        except ApiError:  # deleted meanwhile: record it afresh
            return False
        return True

    def forget(self, namespace: str, uid: str) -> None:
        """Drop what is remembered of a pod's events once the pod is gone."""
        for key in [k for k in self._seen if k[0] == namespace and k[1] == uid]:
            del self._seen[key]

    def record(
        self,
        rt: PodRuntime,
        reason: str,
        message: str,
        *,
        warning: bool = False,
        container: str | None = None,
        ephemeral: bool = False,
    ) -> None:
        """A kubelet event about `rt` (and, when given, one of its containers)."""
        involved = pod_reference(rt.pod, container, ephemeral=ephemeral)
        involved.update(namespace=rt.namespace, name=rt.name, uid=rt.uid)
        self.emit(involved, reason, message, component="kubelet", host=rt.node, warning=warning)

    def scheduled(self, pod: Obj) -> None:
        """The scheduler's event for a pod it has just placed on a node."""
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        message = (
            f"Successfully assigned {meta.get('namespace', '')}/{meta.get('name', '')} "
            f"to {spec.get('nodeName', '')}"
        )
        self.emit(
            pod_reference(pod), "Scheduled", message, component="default-scheduler", fold=False
        )
