"""The supervisor against the sandbox cluster: heartbeat, reaping, and what it never touches."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from retina_tui.errors import NotFoundError
from retina_tui.kube.client import KubeClient, connect
from retina_tui.supervisor import Supervisor
from retina_tui.supervisor.api import lease_path, leases_path, pods_path
from retina_tui.supervisor.ownership import format_micro_time
from retina_tui.supervisor.runner import REAP_TASK, RENEW_TASK
from tests.supervisor.conftest import debug_pod, fast_settings, stale_lease, wait_for

MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def create(client: KubeClient, obj: dict[str, Any]) -> None:
    namespace = obj["metadata"]["namespace"]
    path = leases_path(namespace) if obj["kind"] == "Lease" else pods_path(namespace)
    await client.request("POST", path, body=obj)


def long_ago() -> str:
    return format_micro_time(datetime.now(UTC) - timedelta(hours=1))


async def test_lease_is_created_renewed_and_deleted_on_clean_exit(admin: KubeClient) -> None:
    async with Supervisor(admin, fast_settings(renew=0.2, reap=60), instance_id="hb000001") as sup:
        assert {RENEW_TASK, REAP_TASK} <= {task.get_name() for task in asyncio.all_tasks()}
        await sup.ensure_lease("default")
        await sup.ensure_lease("default")
        lease = await admin.request("GET", lease_path("default", "retina-tui-hb000001"))
        labels = lease["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "retina-tui"
        assert labels["retina-tui.io/instance"] == "hb000001"
        spec = lease["spec"]
        assert spec["leaseDurationSeconds"] == 1
        assert MICRO_TIME.match(spec["renewTime"]), spec["renewTime"]
        assert spec["holderIdentity"].endswith(f"/{__import__('os').getpid()}")
        first = spec["renewTime"]
        await wait_for(
            admin,
            leases_path("default"),
            lambda leases: leases["default/retina-tui-hb000001"]["spec"]["renewTime"] != first,
        )
    with pytest.raises(NotFoundError):
        await admin.request("GET", lease_path("default", "retina-tui-hb000001"))
    assert not {RENEW_TASK, REAP_TASK} & {task.get_name() for task in asyncio.all_tasks()}


async def test_a_lease_deleted_behind_its_back_is_recreated(admin: KubeClient) -> None:
    async with Supervisor(admin, fast_settings(renew=0.2, reap=60), instance_id="hb000002") as sup:
        await sup.ensure_lease("default")
        await admin.request("DELETE", lease_path("default", "retina-tui-hb000002"))
        await wait_for(
            admin, leases_path("default"), lambda leases: "default/retina-tui-hb000002" in leases
        )


async def test_reaps_orphans_and_never_touches_live_own_or_foreign_pods(
    admin: KubeClient, sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="retina_tui.supervisor")
    node = "node-1"
    await create(admin, stale_lease("dead0001", renewed=long_ago()))
    orphans = [f"rtui-node-dead-{i}" for i in range(5)]
    for name in orphans:
        await create(admin, debug_pod(name, instance="dead0001", node=node))
    await create(admin, debug_pod("rtui-node-gone-0", instance="gone0001", node=node))
    orphans.append("rtui-node-gone-0")
    kept = {
        "rtui-node-live-0": debug_pod("rtui-node-live-0", instance="live0001", node=node),
        "rtui-node-similar-abcde": debug_pod(
            "rtui-node-similar-abcde", instance=None, node=node, managed_by=None
        ),
        "rtui-node-dead-similar": debug_pod(
            "rtui-node-dead-similar", instance="dead0001", node=node, managed_by=None
        ),
        "node-debugger-kubectl": debug_pod(
            "node-debugger-kubectl", instance="dead0001", node=node, managed_by="kubectl-debug"
        ),
        "rtui-node-helper-0": debug_pod(
            "rtui-node-helper-0", instance="dead0001", node=node, managed_by="retina-tui-helper"
        ),
    }
    settings = fast_settings(renew=0.2, reap=0.2)
    async with Supervisor(admin, settings, instance_id="live0001") as live:
        await live.ensure_lease("default")
        for pod in kept.values():
            await create(admin, pod)
        async with Supervisor(admin, settings, instance_id="self0001") as me:
            await me.ensure_lease("default")
            own = debug_pod("rtui-node-self-0", instance="self0001", node=node)
            await create(admin, own)
            kept["rtui-node-self-0"] = own
            remaining = await wait_for(
                admin,
                "/api/v1/pods",
                lambda pods: not any(f"default/{name}" in pods for name in orphans),
            )
            await wait_for(
                admin,
                leases_path(None),
                lambda leases: "default/retina-tui-dead0001" not in leases,
            )
            for name in kept:
                assert f"default/{name}" in remaining
                pod = await admin.request("GET", f"{pods_path('default')}/{name}")
                assert "deletionTimestamp" not in pod["metadata"], name
    messages = [record.getMessage() for record in caplog.records]
    for name in orphans[:5]:
        assert any(
            m.startswith(
                f"deleted pod default/{name}: instance dead0001 is gone: its lease "
                "retina-tui-dead0001 was last renewed"
            )
            for m in messages
        ), messages
    assert any(
        m.startswith(
            "deleted pod default/rtui-node-gone-0: instance gone0001 is gone: there is "
            "no lease retina-tui-gone0001"
        )
        for m in messages
    ), messages
    assert any(m.startswith("deleted lease default/retina-tui-dead0001: ") for m in messages)
    assert not any(name in m for m in messages for name in kept if m.startswith("deleted"))


async def test_restricted_user_gets_one_clear_message(
    admin: KubeClient, sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="retina_tui.supervisor")
    await create(admin, stale_lease("dead0002", renewed=long_ago()))
    await create(admin, debug_pod("rtui-node-dead2-0", instance="dead0002", node="node-1"))
    restricted = await connect(kubeconfig=str(sandbox.kubeconfig_path), context="restricted")
    try:
        supervisor = Supervisor(restricted, fast_settings(reap=60), instance_id="rest0001")
        async with supervisor:
            for _ in range(3):
                result = await supervisor.reap_once()
                assert result.deleted == []
    finally:
        await restricted.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        "Cannot clean up debug pods in namespace default: context 'restricted' may not list "
        "leases there; ask a cluster administrator for permission to list pods and leases there."
    ]
    assert supervisor.problems == warnings
    pod = await admin.request("GET", f"{pods_path('default')}/rtui-node-dead2-0")
    assert "deletionTimestamp" not in pod["metadata"]


async def test_processes_sharing_an_instance_id_keep_one_lease_alive(
    admin: KubeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="retina_tui.supervisor")
    settings = fast_settings(renew=0.05, reap=60)
    name = "default/retina-tui-shared01"
    async with Supervisor(admin, settings, instance_id="shared01") as first:
        async with Supervisor(admin, settings, instance_id="shared01") as second:
            await first.ensure_lease("default")
            await second.ensure_lease("default")
            await create(admin, debug_pod("rtui-node-shared-0", instance="shared01", node="node-1"))
            seen: set[str] = set()

            def renewed_often(leases: dict[str, dict[str, Any]]) -> bool:
                if name in leases:
                    seen.add(leases[name]["spec"]["renewTime"])
                return len(seen) >= 20

            await wait_for(admin, leases_path("default"), renewed_often)
        lease = await admin.request("GET", lease_path("default", "retina-tui-shared01"))
        assert lease["metadata"]["labels"]["retina-tui.io/instance"] == "shared01"
        await admin.request("DELETE", f"{pods_path('default')}/rtui-node-shared-0")
    with pytest.raises(NotFoundError):
        await admin.request("GET", lease_path("default", "retina-tui-shared01"))
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_many_processes_sharing_an_id_take_the_lease_at_once(admin: KubeClient) -> None:
    from retina_tui.supervisor.lease import LeaseKeeper

    keepers = [LeaseKeeper(admin, "crowd001", renew_interval=1) for _ in range(8)]
    await asyncio.gather(*(keeper.ensure("default") for keeper in keepers))
    await asyncio.gather(*(keeper.renew() for keeper in keepers))
    lease = await admin.request("GET", lease_path("default", "retina-tui-crowd001"))
    assert lease["spec"]["leaseDurationSeconds"] == 1
    assert all(keeper.namespaces == ["default"] for keeper in keepers)


async def test_a_lease_that_cannot_be_written_stops_the_session_before_its_pod(
    sandbox: Any,
) -> None:
    from retina_tui.errors import SessionError

    restricted = await connect(kubeconfig=str(sandbox.kubeconfig_path), context="restricted")
    try:
        async with Supervisor(restricted, fast_settings(reap=60), instance_id="rest0002") as sup:
            with pytest.raises(SessionError) as caught:
                await sup.ensure_lease("default")
    finally:
        await restricted.close()
    message = str(caught.value)
    assert message.startswith(
        "No debug pod was created in namespace default: context 'restricted' may not write "
        "the lease retina-tui-rest0002 that keeps it from being reaped as an orphan; "
    )
    assert "create, update and get on leases (coordination.k8s.io) in namespace default" in message
    assert "\n" not in message


async def test_an_unreachable_cluster_is_reported_once(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="retina_tui.supervisor")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        'clusters: [{name: c, cluster: {server: "http://127.0.0.1:9"}}]\n'
        "users: [{name: u, user: {token: x}}]\n"
        "contexts: [{name: gone, context: {cluster: c, user: u}}]\n"
        "current-context: gone\n",
        encoding="utf-8",
    )
    client = await connect(kubeconfig=str(kubeconfig))
    try:
        async with Supervisor(client, fast_settings(reap=60), instance_id="away0001") as sup:
            for _ in range(3):
                assert (await sup.reap_once()).deleted == []
    finally:
        await client.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("Could not connect to the API server http://127.0.0.1:9")


async def test_finished_pods_nobody_can_attribute_are_reaped_running_ones_are_not(
    admin: KubeClient, sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="retina_tui.supervisor")
    for name in ("rtui-node-ended-0", "rtui-node-alive-0"):
        await create(admin, debug_pod(name, instance=None, node="node-1"))

    def deadline_exceeded(pod: dict[str, Any]) -> None:
        pod["status"] = {"phase": "Failed", "reason": "DeadlineExceeded"}

    sandbox.store.mutate("pods", "default", "rtui-node-ended-0", deadline_exceeded)
    settings = fast_settings(renew=0.2, reap=0.2)
    async with Supervisor(admin, settings, instance_id="fin00001") as supervisor:
        await wait_for(
            admin, pods_path("default"), lambda pods: "default/rtui-node-ended-0" not in pods
        )
        assert (await supervisor.reap_once()).planned == []
    alive = await admin.request("GET", f"{pods_path('default')}/rtui-node-alive-0")
    assert "deletionTimestamp" not in alive["metadata"]
    assert "deleted pod default/rtui-node-ended-0: pod Failed and carries no instance label" in [
        r.getMessage() for r in caplog.records
    ]
