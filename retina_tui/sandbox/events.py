"""Events the sandbox kubelet records about pods, as a real kubelet does (`kubectl describe`).

Pulled, Created, Started, Killing, Failed and BackOff events with the kubelet's wording,
stored as core/v1 Events in the pod's namespace so `kubectl describe pod` and
`kubectl get events` show what happened to a container.
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


class EventRecorder:
    """Writes kubelet events for the pods it runs."""

    def __init__(self, store: Store) -> None:
        self.store = store

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
        """Store one event about `rt` (and, when given, one of its containers)."""
        now = now_iso()
        involved: dict[str, Any] = {
            "kind": "Pod",
            "namespace": rt.namespace,
            "name": rt.name,
            "uid": rt.uid,
            "apiVersion": "v1",
        }
        if container is not None:
            kind = "ephemeralContainers" if ephemeral else "containers"
            involved["fieldPath"] = f"spec.{kind}{{{container}}}"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{rt.name}.{secrets.token_hex(8)}", "namespace": rt.namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": {"component": "kubelet", "host": rt.node},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": "Warning" if warning else "Normal",
            "eventTime": None,
            "reportingComponent": "kubelet",
            "reportingInstance": rt.node,
        }
        with contextlib.suppress(ApiError):  # the namespace may be going away
            self.store.create("events", event)
