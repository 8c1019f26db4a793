"""The heartbeat: one Lease per namespace where this instance creates debug pods.

While the Lease is renewed, every reaper leaves this instance's pods alone; once the
process dies the renewals stop and the pods become orphans that anyone may reap.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import math
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from retina_tui.errors import (
    ForbiddenError,
    KubeApiError,
    NotFoundError,
    RetinaTuiError,
    SessionError,
)
from retina_tui.kube.shapes import LEASE_FIELDS, POD_FIELDS, expect_items, expect_object, origin_of
from retina_tui.supervisor.api import ApiClient, lease_path, leases_path, pods_path
from retina_tui.supervisor.ownership import (
    INSTANCE_LABEL,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    STALE_INTERVALS,
    format_micro_time,
    lease_name,
)

log = logging.getLogger("retina_tui.supervisor")
CONFLICT = 409


def lease_duration(renew_interval: float) -> int:
    """leaseDurationSeconds for a renew interval: whole seconds, at least one."""
    return max(1, math.ceil(renew_interval))


def holder_identity() -> str:
    """`user@host/pid`: who holds a Lease, for people reading it with kubectl."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}/{os.getpid()}"


def lease_body(
    instance_id: str,
    namespace: str,
    *,
    duration: int,
    now: datetime,
    holder: str,
    resource_version: str | None = None,
    acquired: str | None = None,
) -> dict[str, Any]:
    """The Lease object this instance writes."""
    metadata: dict[str, Any] = {
        "name": lease_name(instance_id),
        "namespace": namespace,
        "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE, INSTANCE_LABEL: instance_id},
    }
    if resource_version is not None:
        metadata["resourceVersion"] = resource_version
    stamp = format_micro_time(now)
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration,
            "acquireTime": acquired or stamp,
            "renewTime": stamp,
        },
    }


class LeaseKeeper:
    """Creates, renews and releases this instance's Leases."""

    def __init__(
        self,
        client: ApiClient,
        instance_id: str,
        *,
        renew_interval: float,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._client = client
        self.instance_id = instance_id
        self.duration = lease_duration(renew_interval)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._holder = holder_identity()
        self._held: dict[str, dict[str, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._failing: set[str] = set()
        self._renewed: dict[str, float] = {}
        """When each Lease was last written successfully (monotonic clock)."""
        self._lapses: dict[str, float] = {}
        """The longest time each Lease went unrenewed beyond what reapers allow."""

    def use_client(self, client: ApiClient) -> None:
        """Talk to the API server through `client` from now on."""
        self._client = client

    @property
    def failing(self) -> bool:
        """Whether the last renewal of some Lease failed."""
        return bool(self._failing)

    async def explain_lapse(self, namespace: str) -> str | None:
        """Who deleted this instance's pod in `namespace`, when its Lease let a reaper do it.

        The words complete "its pod was deleted ..."; None when the Lease was kept fresh.
        """
        stale_after = STALE_INTERVALS * self.duration
        last = self._renewed.get(namespace)
        name = lease_name(self.instance_id)
        gap = max(
            self._lapses.get(namespace, 0.0),
            time.monotonic() - last if last is not None else 0.0,
        )
        if gap > stale_after:
            return (
                "by another retina-tui's cleanup after this instance's Lease expired (it went "
                f"unrenewed for {gap:.0f} s, the limit is {STALE_INTERVALS} x {self.duration} s)"
            )
        try:
            await self._client.request("GET", lease_path(namespace, name))
        except NotFoundError:
            return (
                f"by another retina-tui's cleanup, which also removed this instance's Lease {name}"
            )
        return None

    @property
    def namespaces(self) -> list[str]:
        """Namespaces where this instance holds a Lease."""
        return sorted(self._held)

    async def ensure(self, namespace: str) -> None:
        """Hold a Lease in `namespace` before a debug pod is created there.

        Idempotent and cheap once held. Raises SessionError when the Lease cannot be
        written, so that no pod is created that the supervisor could not protect.
        """
        if namespace in self._held:
            return
        lock = self._locks.setdefault(namespace, asyncio.Lock())
        async with lock:
            if namespace in self._held:
                return
            try:
                await self._write(namespace)
            except ForbiddenError as error:
                raise SessionError(
                    f"No debug pod was created in namespace {namespace}: context "
                    f"{self._client.context!r} may not write the lease "
                    f"{lease_name(self.instance_id)} that keeps it from being reaped as an "
                    "orphan; ask a cluster administrator for create, update and get on leases "
                    f"(coordination.k8s.io) in namespace {namespace}."
                ) from error
            except RetinaTuiError as error:
                raise SessionError(
                    f"No debug pod was created in namespace {namespace}, because the lease "
                    f"{lease_name(self.instance_id)} that keeps it from being cleaned up as an "
                    f"orphan could not be written: {error}"
                ) from error
            log.info("holding lease %s/%s", namespace, lease_name(self.instance_id))

    async def renew(self) -> None:
        """Renew every held Lease once; a failure is logged once and retried next time."""
        for namespace in list(self._held):
            try:
                await self._write(namespace)
            except RetinaTuiError as error:
                if namespace not in self._failing:
                    self._failing.add(namespace)
                    log.warning("could not renew lease in namespace %s: %s", namespace, error)
                continue
            if namespace in self._failing:
                self._failing.discard(namespace)
                log.info("renewing the lease in namespace %s again", namespace)

    def _written(self, namespace: str, lease: Any) -> None:
        now = time.monotonic()
        last = self._renewed.get(namespace)
        if last is not None and now - last > STALE_INTERVALS * self.duration:
            self._lapses[namespace] = max(self._lapses.get(namespace, 0.0), now - last)
        self._held[namespace] = lease
        self._renewed[namespace] = now

    async def release(self) -> None:
        """Delete the Leases on a clean exit, except where pods of this instance still run.

        Several processes may share one instance id; a Lease is only removed once no pod
        of the instance is left running in its namespace, so the others keep theirs.
        """
        for namespace in list(self._held):
            try:
                if await self._pods_left(namespace):
                    log.info("keeping lease in namespace %s: pods of this instance run", namespace)
                    continue
                await self._client.request(
                    "DELETE", lease_path(namespace, lease_name(self.instance_id))
                )
            except NotFoundError:
                pass
            except RetinaTuiError as error:
                log.warning("could not delete lease in namespace %s: %s", namespace, error)
            finally:
                self._held.pop(namespace, None)

    async def _pods_left(self, namespace: str) -> bool:
        try:
            answer = await self._client.request(
                "GET",
                pods_path(namespace),
                params={
                    "labelSelector": f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE},"
                    f"{INSTANCE_LABEL}={self.instance_id}"
                },
            )
            items = expect_items(
                answer,
                "pod",
                origin=origin_of(self._client),
                call=f"GET {pods_path(namespace)}",
                fields=POD_FIELDS,
            )
        except RetinaTuiError:
            return False
        return any(not item["metadata"].get("deletionTimestamp") for item in items)

    async def _write(self, namespace: str) -> None:
        """Create or renew the Lease.

        A conflict means another process sharing this instance id wrote the Lease just
        now, which renews it as well as this write would have; a Lease deleted behind
        this process's back (a reaper that judged it stale) is created again.
        """
        path = lease_path(namespace, lease_name(self.instance_id))
        origin = origin_of(self._client)

        def lease(answer: Any, call: str) -> dict[str, Any]:
            return expect_object(answer, "lease", LEASE_FIELDS, origin=origin, call=call)

        for _ in range(3):
            current = self._held.get(namespace)
            try:
                if current is None:
                    try:
                        created = await self._client.request(
                            "POST", leases_path(namespace), body=self._body(namespace, None)
                        )
                        self._written(namespace, lease(created, f"POST {leases_path(namespace)}"))
                        return
                    except KubeApiError as error:
                        if error.status != CONFLICT:
                            raise
                    current = lease(await self._client.request("GET", path), f"GET {path}")
                try:
                    renewed = lease(
                        await self._client.request(
                            "PUT", path, body=self._body(namespace, current)
                        ),
                        f"PUT {path}",
                    )
                except KubeApiError as error:
                    if error.status != CONFLICT or isinstance(error, NotFoundError):
                        raise
                    renewed = lease(await self._client.request("GET", path), f"GET {path}")
                self._written(namespace, renewed)
                return
            except NotFoundError:
                self._held.pop(namespace, None)
        raise KubeApiError(
            f"The lease {namespace}/{lease_name(self.instance_id)} kept disappearing while "
            "retina-tui wrote it; try again.",
            status=CONFLICT,
            reason="Conflict",
        )

    def _body(self, namespace: str, current: dict[str, Any] | None) -> dict[str, Any]:
        meta = (current or {}).get("metadata") or {}
        spec = (current or {}).get("spec") or {}
        return lease_body(
            self.instance_id,
            namespace,
            duration=self.duration,
            now=self._clock(),
            holder=self._holder,
            resource_version=meta.get("resourceVersion"),
            acquired=spec.get("acquireTime"),
        )
