"""How the reaper narrows its view when RBAC forbids listing cluster-wide.

The sandbox's restricted user may list pods everywhere; real clusters often allow less,
so this uses a small in-memory API that refuses what a namespace-scoped Role refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from retina_tui.errors import ForbiddenError
from retina_tui.supervisor.ownership import format_micro_time
from retina_tui.supervisor.reaper import Reaper
from tests.supervisor.test_reconcile import lease, pod


class RoleBoundApi:
    """Answers LIST and DELETE like an API server where the user has a Role in some namespaces."""

    context = "team-a"
    namespace = "team-a"

    def __init__(self, objects: list[dict[str, Any]], readable: set[str], *, namespaces: bool):
        self.objects = objects
        self.readable = readable
        self.may_list_namespaces = namespaces
        self.calls: list[tuple[str, str]] = []

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        self.calls.append((method, path))
        parts = path.strip("/").split("/")
        if path == "/api/v1/namespaces":
            if not self.may_list_namespaces:
                raise ForbiddenError("namespaces is forbidden", status=403, reason="Forbidden")
            names = {o["metadata"]["namespace"] for o in self.objects} | self.readable
            return {"items": [{"metadata": {"name": n}} for n in sorted(names)]}
        if "namespaces" not in parts:
            raise ForbiddenError("cluster-wide list is forbidden", status=403, reason="Forbidden")
        namespace = parts[parts.index("namespaces") + 1]
        if namespace not in self.readable:
            raise ForbiddenError(f"forbidden in {namespace}", status=403, reason="Forbidden")
        kind = "Lease" if "leases" in parts else "Pod"
        if method == "DELETE":
            name = parts[-1]
            self.objects = [o for o in self.objects if o["metadata"]["name"] != name]
            return {}
        items = [
            o for o in self.objects if o["metadata"]["namespace"] == namespace and _kind(o) == kind
        ]
        return {"items": items}


def _kind(obj: dict[str, Any]) -> str:
    return "Lease" if "spec" in obj and "renewTime" in obj.get("spec", {}) else "Pod"


def objects() -> list[dict[str, Any]]:
    stale = format_micro_time(datetime.now(UTC) - timedelta(hours=1))
    found: list[dict[str, Any]] = []
    for namespace in ("team-a", "team-b", "secret"):
        found.append(pod(f"orphan-{namespace}", namespace=namespace, instance="dead0001"))
        dead = lease("dead0001", namespace=namespace, renewed_ago=None)
        dead["spec"]["renewTime"] = stale
        found.append(dead)
    return found


async def test_falls_back_to_listable_namespaces_and_names_the_rest_once() -> None:
    api = RoleBoundApi(objects(), {"team-a", "team-b"}, namespaces=True)
    result = await Reaper(api, own_instance=None, missing_lease_grace=30).reap()
    assert sorted(d.describe().split(":")[0] for d in result.deleted) == [
        "pod team-a/orphan-team-a",
        "pod team-b/orphan-team-b",
    ]
    assert [p.message for p in result.problems] == [
        "Cannot clean up debug pods in namespace secret: context 'team-a' may not list pods "
        "there; ask a cluster administrator for permission to list pods and leases there."
    ]
    assert ("DELETE", "/api/v1/namespaces/secret/pods/orphan-secret") not in api.calls


async def test_without_namespace_list_it_uses_the_context_namespace_and_its_leases() -> None:
    api = RoleBoundApi(objects(), {"team-a", "team-b"}, namespaces=False)
    reaper = Reaper(
        api, own_instance=None, missing_lease_grace=30, extra_namespaces=lambda: ["team-b"]
    )
    result = await reaper.reap(dry_run=True)
    assert result.namespaces == ["team-a", "team-b"]
    assert sorted(d.name for d in result.planned) == ["orphan-team-a", "orphan-team-b"]
    assert result.problems == []
    assert not [call for call in api.calls if call[0] == "DELETE"]
