"""Pod and node rows say what `kubectl get` says."""

from __future__ import annotations

from typing import Any

import pytest

from retina_tui.ui.rows import human_duration, node_row, pod_row, pod_status

NOW = 1_800_000_000.0


def pod(
    *,
    phase: str = "Running",
    statuses: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    init_specs: int = 0,
    deleting: bool = False,
    containers: int = 1,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": "web-1",
        "namespace": "app",
        "uid": "u1",
        "creationTimestamp": "2027-01-15T07:00:00Z",
    }
    if deleting:
        meta["deletionTimestamp"] = "2027-01-15T08:00:00Z"
    status: dict[str, Any] = {"phase": phase, "podIP": "10.1.0.5"}
    if statuses is not None:
        status["containerStatuses"] = statuses
    if init is not None:
        status["initContainerStatuses"] = init
    return {
        "metadata": meta,
        "spec": {
            "nodeName": "node-1",
            "containers": [{"name": f"c{i}"} for i in range(containers)],
            "initContainers": [{"name": f"i{i}"} for i in range(init_specs)],
        },
        "status": status,
    }


RUNNING = {"ready": True, "restartCount": 0, "state": {"running": {"startedAt": "x"}}}


def waiting(reason: str, restarts: int = 0) -> dict[str, Any]:
    return {"ready": False, "restartCount": restarts, "state": {"waiting": {"reason": reason}}}


def terminated(reason: str = "", code: int = 0, signal: int = 0) -> dict[str, Any]:
    term: dict[str, Any] = {"exitCode": code}
    if reason:
        term["reason"] = reason
    if signal:
        term["signal"] = signal
    return {"ready": False, "restartCount": 0, "state": {"terminated": term}}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (pod(statuses=[RUNNING]), "Running"),
        (pod(phase="Pending"), "Pending"),
        (pod(phase="Pending", statuses=[waiting("ContainerCreating")]), "ContainerCreating"),
        (pod(phase="Pending", statuses=[waiting("ErrImagePull")]), "ErrImagePull"),
        (pod(phase="Pending", statuses=[waiting("ImagePullBackOff")]), "ImagePullBackOff"),
        (pod(statuses=[waiting("CrashLoopBackOff", 4)]), "CrashLoopBackOff"),
        (pod(phase="Succeeded", statuses=[terminated("Completed")]), "Completed"),
        (pod(phase="Failed", statuses=[terminated("Error", 1)]), "Error"),
        (pod(phase="Failed", statuses=[terminated(code=3)]), "ExitCode:3"),
        (pod(phase="Failed", statuses=[terminated(signal=9)]), "Signal:9"),
        (pod(statuses=[RUNNING], deleting=True), "Terminating"),
        (pod(phase="Succeeded", statuses=[terminated("Completed")], deleting=True), "Completed"),
        (
            pod(phase="Pending", init=[waiting("PodInitializing")], init_specs=1),
            "Init:0/1",
        ),
        (
            pod(phase="Pending", init=[terminated("Completed"), RUNNING], init_specs=2),
            "Init:1/2",
        ),
        (
            pod(phase="Pending", init=[terminated("Error", 1)], init_specs=1),
            "Init:Error",
        ),
        (
            pod(phase="Pending", init=[waiting("CrashLoopBackOff")], init_specs=1),
            "Init:CrashLoopBackOff",
        ),
        (
            pod(statuses=[RUNNING, terminated("Completed")], containers=2),
            "NotReady",  # one container still runs, but the pod has no Ready condition
        ),
    ],
)
def test_pod_status_uses_kubectl_words(obj: dict[str, Any], expected: str) -> None:
    assert pod_status(obj)[0] == expected


def test_pod_row_cells() -> None:
    restarted = dict(RUNNING)
    restarted["restartCount"] = 3
    restarted["lastState"] = {"terminated": {"finishedAt": "2027-01-15T07:55:00Z"}}
    obj = pod(statuses=[restarted, waiting("CrashLoopBackOff", 2)], containers=2)
    row = pod_row(obj, now=NOW)
    # 1_800_000_000 is 2027-01-15T08:00:00Z: the last restart was five minutes ago.
    assert row.cells == (
        "app",
        "web-1",
        "1/2",
        "CrashLoopBackOff",
        "5 (5m ago)",
        "node-1",
        "10.1.0.5",
    )
    assert row.key == "u1"
    assert row.tone == "error"
    assert NOW - row.created == 3600


def test_unscheduled_pod_shows_none() -> None:
    obj = pod(phase="Pending")
    del obj["spec"]["nodeName"]
    del obj["status"]["podIP"]
    row = pod_row(obj, now=NOW)
    assert row.cells[5:] == ("<none>", "<none>")
    assert row.tone == "pending"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0s"),
        (-1, "0s"),
        (-5, "<invalid>"),
        (59, "59s"),
        (119, "119s"),
        (120, "2m"),
        (125, "2m5s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 120, "3h2m"),
        (8 * 3600 + 120, "8h"),
        (47 * 3600, "47h"),
        (2 * 86400, "2d"),
        (2 * 86400 + 3 * 3600, "2d3h"),
        (30 * 86400, "30d"),
        (3 * 365 * 86400 + 5 * 86400, "3y5d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration_like_kubectl(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


def test_node_row() -> None:
    node = {
        "metadata": {
            "name": "node-1",
            "creationTimestamp": "2027-01-13T08:00:00Z",
            "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/os": "linux"},
        },
        "spec": {"unschedulable": True},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [
                {"type": "Hostname", "address": "node-1"},
                {"type": "InternalIP", "address": "10.0.0.2"},
            ],
            "nodeInfo": {
                "operatingSystem": "linux",
                "architecture": "amd64",
                "kubeletVersion": "v1.31.0",
            },
        },
    }
    row = node_row(node, pods_on_node=7)
    assert row.cells == (
        "node-1",
        "Ready,SchedulingDisabled",
        "control-plane",
        "10.0.0.2",
        "linux/amd64",
        "v1.31.0",
        "7",
    )
    assert NOW - row.created == 2 * 86400


def test_node_without_roles_or_ready_condition() -> None:
    row = node_row({"metadata": {"name": "n"}, "status": {}}, pods_on_node=0)
    assert row.cells[1:3] == ("Unknown", "<none>")


def test_malformed_events_still_make_rows() -> None:
    from retina_tui.ui.events_pane import event_row

    event = {
        "metadata": {"name": "e1", "namespace": "default"},
        "involvedObject": "not a mapping",
        "count": "many",
        "type": "Warning",
        "reason": "Odd",
        "message": "two\n lines",
        "lastTimestamp": "not a time",
    }
    row = event_row(event, namespaced=True)
    assert row.cells == ("Warning", "Odd", "/", "1", "two lines")
    assert row.tone == "error" and row.created == 0.0
