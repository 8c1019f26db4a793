"""The reaper: list our labelled debug pods and Leases, then delete what should not exist.

It lists cluster-wide when allowed and otherwise falls back, namespace by namespace, to
what the user can see. A namespace it cannot read is reported and skipped, never
guessed about: pods are only judged where their Leases could be read too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from retina_tui.errors import ForbiddenError, NotFoundError, RetinaTuiError
from retina_tui.kube.shapes import LEASE_FIELDS, POD_FIELDS, Fields, expect_items, origin_of
from retina_tui.supervisor.api import ApiClient, lease_path, leases_path, pod_path, pods_path
from retina_tui.supervisor.ownership import MANAGED_SELECTOR
from retina_tui.supervisor.reconcile import Deletion, plan_deletions

log = logging.getLogger("retina_tui.supervisor")


@dataclass(frozen=True)
class Problem:
    """Something the reaper could not do; `key` identifies it so it is reported once."""

    key: str
    message: str


@dataclass
class Scan:
    """Our pods and Leases in the namespaces that could be read."""

    pods: list[dict[str, Any]] = field(default_factory=list)
    leases: list[dict[str, Any]] = field(default_factory=list)
    namespaces: list[str] | None = None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class ReapResult:
    """What one pass decided, what it deleted, and what went wrong."""

    planned: list[Deletion] = field(default_factory=list)
    deleted: list[Deletion] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    namespaces: list[str] | None = None


_SHAPES: dict[str, Fields] = {
    "lease": LEASE_FIELDS,
    "pod": POD_FIELDS,
    "namespace": {"metadata.name": str},
}


def _items(client: ApiClient, answer: Any, path: str, kind: str) -> list[dict[str, Any]]:
    """The items of a list answer, each shaped like a `kind` as far as the reaper reads it."""
    return expect_items(
        answer, kind, origin=origin_of(client), call=f"GET {path}", fields=_SHAPES[kind]
    )


def _namespace(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace", ""))


class Reaper:
    """One reaper per client; `reap()` is one idempotent reconcile pass."""

    def __init__(
        self,
        client: ApiClient,
        *,
        own_instance: str | None,
        missing_lease_grace: float,
        namespaces: Sequence[str] | None = None,
        extra_namespaces: Callable[[], Iterable[str]] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._client = client
        self._own = own_instance
        self._grace = missing_lease_grace
        self._namespaces = list(namespaces) if namespaces is not None else None
        self._extra = extra_namespaces or (lambda: ())
        self._clock = clock or (lambda: datetime.now(UTC))

    async def _list(self, path: str, kind: str) -> list[dict[str, Any]]:
        answer = await self._client.request("GET", path, params={"labelSelector": MANAGED_SELECTOR})
        return _items(self._client, answer, path, kind)

    async def scan(self) -> Scan:
        """Read our pods and Leases; only namespaces whose both lists could be read count."""
        if self._namespaces is not None:
            return await self._scan_namespaces(self._namespaces, None, None)
        try:
            pods: list[dict[str, Any]] | None = await self._list(pods_path(None), "pod")
        except ForbiddenError:
            pods = None
        try:
            leases: list[dict[str, Any]] | None = await self._list(leases_path(None), "lease")
        except ForbiddenError:
            leases = None
        if pods is not None and leases is not None:
            return Scan(pods=pods, leases=leases)
        if pods is not None:
            names = sorted({_namespace(pod) for pod in pods})
        else:
            names = await self._visible_namespaces()
        return await self._scan_namespaces(names, pods, leases)

    async def _visible_namespaces(self) -> list[str]:
        try:
            answer = await self._client.request("GET", "/api/v1/namespaces")
            found = _items(self._client, answer, "/api/v1/namespaces", "namespace")
            names = {str(ns["metadata"].get("name") or "") for ns in found}
        except ForbiddenError:
            names = {self._client.namespace, *self._extra()}
            log.info(
                "cannot list namespaces with context %s; looking for orphaned debug pods in %s",
                self._client.context,
                ", ".join(sorted(names)),
            )
        return sorted(name for name in names if name)

    async def _scan_namespaces(
        self,
        names: Sequence[str],
        all_pods: list[dict[str, Any]] | None,
        all_leases: list[dict[str, Any]] | None,
    ) -> Scan:
        scan = Scan(namespaces=list(names))
        unreadable: dict[str, list[str]] = {}
        for name in names:
            what = "pods"
            try:
                if all_pods is not None:
                    pods = [pod for pod in all_pods if _namespace(pod) == name]
                else:
                    pods = await self._list(pods_path(name), "pod")
                what = "leases"
                if all_leases is not None:
                    leases = [lease for lease in all_leases if _namespace(lease) == name]
                else:
                    leases = await self._list(leases_path(name), "lease")
            except NotFoundError:
                unreadable.setdefault("missing", []).append(name)
                continue
            except ForbiddenError:
                unreadable.setdefault(what, []).append(name)
                continue
            scan.pods.extend(pods)
            scan.leases.extend(leases)
        scan.problems.extend(self._unreadable(what, where) for what, where in unreadable.items())
        return scan

    def _unreadable(self, what: str, namespaces: list[str]) -> Problem:
        """One sentence for every namespace that failed the same way."""
        plural = "s" if len(namespaces) > 1 else ""
        where = f"namespace{plural} {', '.join(namespaces)}"
        if what == "missing":
            message = f"Cannot clean up debug pods in {where}: no such namespace."
        else:
            message = (
                f"Cannot clean up debug pods in {where}: context {self._client.context!r} "
                f"may not list {what} there; ask a cluster administrator for permission to "
                "list pods and leases there."
            )
        return Problem(key=f"list:{what}:{','.join(namespaces)}", message=message)

    async def reap(self, *, dry_run: bool = False) -> ReapResult:
        """One pass: scan, decide, then delete (or only report, with `dry_run`)."""
        scan = await self.scan()
        planned = plan_deletions(
            scan.pods,
            scan.leases,
            now=self._clock(),
            own_instance=self._own,
            missing_lease_grace=self._grace,
        )
        result = ReapResult(planned=planned, problems=scan.problems, namespaces=scan.namespaces)
        if dry_run:
            return result
        for deletion in planned:
            path = (
                pod_path(deletion.namespace, deletion.name)
                if deletion.kind == "pod"
                else lease_path(deletion.namespace, deletion.name)
            )
            try:
                await self._client.request("DELETE", path)
            except NotFoundError:
                log.info("%s was already gone", deletion.describe())
                continue
            except RetinaTuiError as error:
                result.problems.append(
                    Problem(
                        key=f"delete:{deletion.kind}:{deletion.namespace}",
                        message=f"Could not delete {deletion.kind} {deletion.namespace}/"
                        f"{deletion.name}: {error}",
                    )
                )
                continue
            log.info("deleted %s", deletion.describe())
            result.deleted.append(deletion)
        return result
