"""`retina-tui gc` as a user runs it: dry run first, then the real thing, against the sandbox."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from retina_tui.kube.client import KubeClient
from retina_tui.supervisor.api import leases_path, pods_path
from tests.supervisor.conftest import debug_pod, stale_lease, wait_for
from tests.supervisor.test_supervisor_sandbox import create, long_ago


async def gc(kubeconfig: Path, *args: str) -> tuple[int, list[str], list[str]]:
    """Run `retina-tui gc` in a child process (the sandbox answers on this event loop)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "retina_tui",
        "gc",
        "--kubeconfig",
        str(kubeconfig),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode().splitlines(), err.decode().splitlines()


async def names_in(client: KubeClient, namespace: str) -> set[str]:
    answer = await client.request("GET", pods_path(namespace))
    return {
        pod["metadata"]["name"]
        for pod in answer["items"]
        if not pod["metadata"].get("deletionTimestamp")
    }


async def test_dry_run_lists_orphans_then_gc_deletes_exactly_those(
    admin: KubeClient, kubeconfig: Path, sandbox: Any
) -> None:
    await admin.request(
        "POST",
        "/api/v1/namespaces",
        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "debug"}},
    )
    await create(admin, stale_lease("dead0003", renewed=long_ago()))
    await create(admin, stale_lease("dead0003", namespace="debug", renewed=long_ago()))
    orphans = {"rtui-node-node-1-aaaaa", "rtui-node-node-2-bbbbb"}
    for name in orphans:
        await create(admin, debug_pod(name, instance="dead0003", node="node-1"))
    elsewhere = debug_pod(
        "rtui-node-node-3-ccccc", instance="dead0003", node="node-1", namespace="debug"
    )
    await create(admin, elsewhere)
    foreign = {
        "rtui-node-node-1-zzzzz": debug_pod(
            "rtui-node-node-1-zzzzz", instance="dead0003", node="node-1", managed_by="kubectl-debug"
        ),
        "rtui-node-node-1-yyyyy": debug_pod(
            "rtui-node-node-1-yyyyy", instance=None, node="node-1", managed_by=None
        ),
    }
    for pod in foreign.values():
        await create(admin, pod)
    before = await names_in(admin, "default")

    code, out, err = await gc(kubeconfig, "--dry-run", "-n", "default")
    assert (code, err) == (0, [])
    reason = "instance dead0003 is gone: its lease retina-tui-dead0003 was last renewed"
    assert sorted(line.split(":")[0] for line in out) == sorted(
        f"would delete pod default/{name}" for name in orphans
    )
    assert all(reason in line for line in out), out
    assert await names_in(admin, "default") == before

    code, out, err = await gc(kubeconfig, "-n", "default")
    assert (code, err) == (0, [])
    assert sorted(line.split(":")[0] for line in out) == sorted(
        f"deleted pod default/{name}" for name in orphans
    )
    await wait_for(
        admin, pods_path("default"), lambda pods: not any(f"default/{n}" in pods for n in orphans)
    )
    assert await names_in(admin, "default") == before - orphans
    assert "rtui-node-node-3-ccccc" in await names_in(admin, "debug")

    code, out, err = await gc(kubeconfig, "-A")
    assert (code, err) == (0, [])
    assert sorted(line.split(":")[0] for line in out) == [
        "deleted lease default/retina-tui-dead0003",
        "deleted pod debug/rtui-node-node-3-ccccc",
    ]
    await wait_for(admin, pods_path("debug"), lambda pods: not pods)
    code, out, err = await gc(kubeconfig, "-A")
    assert (code, err) == (0, [])
    assert out == [
        "deleted lease debug/retina-tui-dead0003: instance dead0003 is gone: the lease was last "
        f"renewed {out[0].split('renewed ')[1].split('s ago')[0]}s ago (more than 3 x 1s) and "
        "none of its pods is left"
    ]
    code, out, err = await gc(kubeconfig, "-A", "--dry-run")
    assert (code, out, err) == (0, ["No orphaned debug pods in the namespaces you can read."], [])
    leases = await admin.request("GET", leases_path(None))
    assert not [lz for lz in leases["items"] if "dead0003" in lz["metadata"]["name"]]
    assert await names_in(admin, "default") == before - orphans


async def test_gc_as_restricted_user_says_so_once_and_fails(
    admin: KubeClient, kubeconfig: Path
) -> None:
    await create(admin, stale_lease("dead0004", renewed=long_ago()))
    await create(admin, debug_pod("rtui-node-node-1-rrrrr", instance="dead0004", node="node-1"))
    code, out, err = await gc(kubeconfig, "--context", "restricted", "-n", "default")
    assert code == 1
    assert out == []
    assert err == [
        "retina-tui: Cannot clean up debug pods in namespace default: context 'restricted' may "
        "not list leases there; ask a cluster administrator for permission to list pods and "
        "leases there."
    ]
    assert "rtui-node-node-1-rrrrr" in await names_in(admin, "default")


async def test_gc_refuses_both_scopes(kubeconfig: Path) -> None:
    code, _, err = await gc(kubeconfig, "-n", "default", "-A")
    assert code == 2
    assert any("either -n/--namespace or -A/--all-namespaces" in line for line in err)


async def test_gc_all_namespaces_as_restricted_user_names_every_namespace_in_one_line(
    admin: KubeClient, kubeconfig: Path
) -> None:
    await admin.request(
        "POST",
        "/api/v1/namespaces",
        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "debug"}},
    )
    for namespace in ("default", "debug"):
        await create(admin, stale_lease("dead0005", namespace=namespace, renewed=long_ago()))
        await create(
            admin,
            debug_pod(
                "rtui-node-node-1-qqqqq", instance="dead0005", node="node-1", namespace=namespace
            ),
        )
    code, out, err = await gc(kubeconfig, "--context", "restricted", "-A")
    assert (code, out) == (1, [])
    assert err == [
        "retina-tui: Cannot clean up debug pods in namespaces debug, default: context "
        "'restricted' may not list leases there; ask a cluster administrator for permission to "
        "list pods and leases there."
    ]
