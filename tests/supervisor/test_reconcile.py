"""The reaper's pure decision: which pods and Leases should not exist, and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from retina_tui.supervisor.ownership import (
    INSTANCE_LABEL,
    MANAGED_BY_LABEL,
    format_micro_time,
    instance_id_from_env,
    is_instance_id,
    new_instance_id,
)
from retina_tui.supervisor.reconcile import plan_deletions

NOW = datetime(2026, 11, 26, 17, 0, 0, tzinfo=UTC)
GRACE = 30.0


def pod(
    name: str,
    *,
    namespace: str = "default",
    instance: str | None = "dead0001",
    managed_by: str | None = "retina-tui",
    phase: str = "Running",
    age: float = 600.0,
    terminating: bool = False,
) -> dict[str, Any]:
    labels: dict[str, str] = {}
    if managed_by is not None:
        labels[MANAGED_BY_LABEL] = managed_by
    if instance is not None:
        labels[INSTANCE_LABEL] = instance
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": labels,
        "creationTimestamp": (NOW - timedelta(seconds=age)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if terminating:
        meta["deletionTimestamp"] = format_micro_time(NOW)
    return {"metadata": meta, "status": {"phase": phase}}


def lease(
    instance: str,
    *,
    namespace: str = "default",
    renewed_ago: float | None = 1.0,
    duration: int = 10,
    labelled: bool = True,
) -> dict[str, Any]:
    labels = {MANAGED_BY_LABEL: "retina-tui", INSTANCE_LABEL: instance} if labelled else {}
    spec: dict[str, Any] = {"holderIdentity": "someone", "leaseDurationSeconds": duration}
    if renewed_ago is not None:
        spec["renewTime"] = format_micro_time(NOW - timedelta(seconds=renewed_ago))
    return {
        "metadata": {"name": f"retina-tui-{instance}", "namespace": namespace, "labels": labels},
        "spec": spec,
    }


def plan(pods: list[dict[str, Any]], leases: list[dict[str, Any]], own: str | None = "self0001"):
    return plan_deletions(pods, leases, now=NOW, own_instance=own, missing_lease_grace=GRACE)


def names(deletions: list[Any]) -> set[tuple[str, str, str]]:
    return {(d.kind, d.namespace, d.name) for d in deletions}


def test_pods_of_an_instance_whose_lease_stopped_renewing_are_deleted_with_reason() -> None:
    pods = [pod(f"rtui-node-n{i}-abcde") for i in range(5)]
    result = plan(pods, [lease("dead0001", renewed_ago=31, duration=10)])
    assert names(result) == {("pod", "default", f"rtui-node-n{i}-abcde") for i in range(5)}
    assert all("retina-tui-dead0001" in d.reason and "31s ago" in d.reason for d in result)


def test_a_lease_renewed_within_three_durations_keeps_its_pods() -> None:
    pods = [pod("rtui-node-a-abcde", instance="live0001", phase="Failed")]
    assert plan(pods, [lease("live0001", renewed_ago=29, duration=10)]) == []


def test_own_pods_are_never_touched_even_without_a_lease() -> None:
    pods = [pod("rtui-node-a-abcde", instance="self0001", phase="Succeeded", age=10_000)]
    assert plan(pods, []) == []


def test_missing_lease_deletes_old_pods_but_spares_young_ones() -> None:
    old = pod("rtui-node-a-old01", age=GRACE + 1)
    young = pod("rtui-node-a-new01", age=GRACE - 1)
    result = plan([old, young], [])
    assert names(result) == {("pod", "default", "rtui-node-a-old01")}
    assert "there is no lease retina-tui-dead0001" in result[0].reason


def test_finished_pods_say_so_and_are_deleted_without_grace() -> None:
    result = plan([pod("rtui-node-a-fin01", phase="Succeeded", age=1)], [])
    assert len(result) == 1
    assert result[0].reason.startswith("pod Succeeded; instance dead0001 is gone")


def test_similar_names_and_other_tools_are_never_deleted() -> None:
    pods = [
        pod("rtui-node-a-abcde", managed_by=None),
        pod("rtui-node-b-abcde", managed_by="kubectl-debug"),
        pod("rtui-node-c-abcde", managed_by="retina-tui-helper"),
        pod("rtui-node-d-abcde", managed_by="Retina-TUI"),
        pod("retina-tui-dead0001", managed_by="retina"),
        pod("node-debugger-x", managed_by="kubectl-debug", phase="Failed"),
    ]
    assert plan(pods, []) == []
    assert plan(pods, [], own=None) == []


def test_pod_without_instance_label_is_deleted_only_once_finished() -> None:
    running = pod("rtui-node-a-run01", instance=None)
    failed = pod("rtui-node-a-fai01", instance=None, phase="Failed")
    result = plan([running, failed], [])
    assert names(result) == {("pod", "default", "rtui-node-a-fai01")}
    assert result[0].reason == "pod Failed and carries no instance label"


def test_instance_alive_in_another_namespace_keeps_its_pods_everywhere() -> None:
    pods = [pod("rtui-node-a-abcde", namespace="debug", instance="live0001")]
    leases = [
        lease("live0001", namespace="default"),
        lease("live0001", namespace="debug", renewed_ago=999),
    ]
    assert plan(pods, leases) == []


def test_stale_lease_is_deleted_only_once_its_pods_are_gone() -> None:
    stale = lease("dead0001", renewed_ago=100)
    first = plan([pod("rtui-node-a-abcde")], [stale])
    assert names(first) == {("pod", "default", "rtui-node-a-abcde")}
    terminating = plan([pod("rtui-node-a-abcde", terminating=True)], [stale])
    assert terminating == []
    last = plan([], [stale])
    assert names(last) == {("lease", "default", "retina-tui-dead0001")}
    assert "none of its pods is left" in last[0].reason


def test_fresh_unlabelled_and_own_leases_are_kept() -> None:
    leases = [
        lease("live0001"),
        lease("other001", renewed_ago=999, labelled=False),
        lease("self0001", renewed_ago=999),
    ]
    assert plan([], leases) == []


def test_lease_without_renew_time_counts_as_dead() -> None:
    result = plan([pod("rtui-node-a-abcde")], [lease("dead0001", renewed_ago=None)])
    assert "has no renew time" in result[0].reason


def test_gc_without_own_instance_deletes_every_orphan() -> None:
    pods = [pod("a", instance="self0001"), pod("b", instance="live0001")]
    result = plan(pods, [lease("live0001")], own=None)
    assert names(result) == {("pod", "default", "a")}


def test_instance_ids() -> None:
    generated = {new_instance_id() for _ in range(50)}
    assert len(generated) == 50
    assert all(len(i) == 8 and is_instance_id(i) for i in generated)
    assert instance_id_from_env({"RETINA_TUI_INSTANCE": "chaos01"}) == "chaos01"
    assert is_instance_id(instance_id_from_env({}))


def test_bad_instance_id_from_env_is_a_clear_error() -> None:
    import pytest

    from retina_tui.errors import ConfigError

    with pytest.raises(ConfigError, match="RETINA_TUI_INSTANCE"):
        instance_id_from_env({"RETINA_TUI_INSTANCE": "Not_Valid"})


_instances = st.sampled_from(["self0001", "live0001", "live0002", "dead0001", "dead0002"])
_pods = st.builds(
    lambda i, n, inst, mb, phase, age, term: pod(
        f"p{i}", namespace=n, instance=inst, managed_by=mb, phase=phase, age=age, terminating=term
    ),
    st.integers(0, 10_000),
    st.sampled_from(["default", "debug"]),
    st.one_of(st.none(), _instances),
    st.sampled_from([None, "retina-tui", "kubectl-debug", "retina-tui-x"]),
    st.sampled_from(["Pending", "Running", "Succeeded", "Failed"]),
    st.floats(0, 1000),
    st.booleans(),
)
_leases = st.builds(
    lambda inst, n, ago, labelled: lease(inst, namespace=n, renewed_ago=ago, labelled=labelled),
    _instances,
    st.sampled_from(["default", "debug"]),
    st.one_of(st.none(), st.floats(0, 100)),
    st.booleans(),
)


@given(
    st.lists(_pods, max_size=12, unique_by=lambda p: p["metadata"]["name"]),
    st.lists(_leases, max_size=6),
)
def test_never_deletes_foreign_live_own_or_terminating_pods(
    pods: list[dict[str, Any]], leases: list[dict[str, Any]]
) -> None:
    result = plan(pods, leases)
    live = {"self0001"} | {
        lz["metadata"]["name"].removeprefix("retina-tui-")
        for lz in leases
        if lz["metadata"]["labels"]
        and lz["spec"].get("renewTime")
        and (NOW - datetime.fromisoformat(lz["spec"]["renewTime"])).total_seconds() <= 30
    }
    by_name = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in pods}
    for deletion in result:
        if deletion.kind == "lease":
            assert deletion.instance not in live
            continue
        target = by_name[(deletion.namespace, deletion.name)]
        labels = target["metadata"]["labels"]
        assert labels.get(MANAGED_BY_LABEL) == "retina-tui"
        assert labels.get(INSTANCE_LABEL) not in live
        assert "deletionTimestamp" not in target["metadata"]
        assert deletion.reason
