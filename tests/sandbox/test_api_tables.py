"""Table rendering: kubectl's STATUS wording, AGE format, and the Table the server sends."""

from __future__ import annotations

import json
from typing import Any

import pytest

from retina_tui.sandbox import tables


def pod(statuses: list[dict[str, Any]], phase: str = "Pending", **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "creationTimestamp": "2026-01-01T00:00:00Z", **meta},
        "spec": {"containers": [{"name": s.get("name", "c")} for s in statuses] or [{"name": "c"}]},
        "status": {"phase": phase, "containerStatuses": statuses},
    }


def waiting(reason: str) -> dict[str, Any]:
    return {
        "name": "c",
        "ready": False,
        "restartCount": 0,
        "state": {"waiting": {"reason": reason}},
    }


@pytest.mark.parametrize(
    ("status", "phase", "expected"),
    [
        ([], "Pending", "Pending"),
        ([waiting("ContainerCreating")], "Pending", "ContainerCreating"),
        ([waiting("ErrImagePull")], "Pending", "ErrImagePull"),
        ([waiting("ImagePullBackOff")], "Pending", "ImagePullBackOff"),
        ([waiting("CrashLoopBackOff")], "Running", "CrashLoopBackOff"),
        (
            [{"name": "c", "ready": True, "restartCount": 2, "state": {"running": {}}}],
            "Running",
            "Running",
        ),
        (
            [{"name": "c", "restartCount": 0, "state": {"terminated": {"reason": "Completed"}}}],
            "Succeeded",
            "Completed",
        ),
        (
            [{"name": "c", "restartCount": 0, "state": {"terminated": {"reason": "Error"}}}],
            "Failed",
            "Error",
        ),
        (
            [{"name": "c", "restartCount": 0, "state": {"terminated": {"exitCode": 3}}}],
            "Failed",
            "ExitCode:3",
        ),
    ],
)
def test_pod_status_wording(status: list[dict[str, Any]], phase: str, expected: str) -> None:
    assert tables.pod_status(pod(status, phase))[0] == expected


def test_terminating_wins_and_ready_counts() -> None:
    running = {"name": "c", "ready": True, "restartCount": 4, "state": {"running": {}}}
    reason, ready, restarts = tables.pod_status(
        pod([running], "Running", deletionTimestamp="2026-01-01T00:00:30Z")
    )
    assert (reason, ready, restarts) == ("Terminating", 1, 4)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "5s"),
        (119, "119s"),
        (125, "2m5s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (50 * 3600, "2d2h"),
        (400 * 86400, "400d"),
    ],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert tables.human_duration(seconds) == text


def test_row_cache_table_has_wide_columns_and_metadata_objects() -> None:
    cache = tables.RowCache()
    running = {"name": "c", "ready": True, "restartCount": 0, "state": {"running": {}}}
    obj = pod([running], "Running")
    obj["status"]["podIP"] = "10.244.1.5"
    obj["spec"]["nodeName"] = "node-2"
    document = json.loads(cache.table("pods", [obj], {"resourceVersion": "9"}))
    assert document["kind"] == "Table" and document["metadata"] == {"resourceVersion": "9"}
    names = [(c["name"], c["priority"]) for c in document["columnDefinitions"]]
    assert names[:5] == [("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0)]
    assert ("IP", 1) in names and ("Node", 1) in names
    row = document["rows"][0]
    assert row["cells"][:4] == ["p", "1/1", "Running", "0"]
    assert row["cells"][5:7] == ["10.244.1.5", "node-2"]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["name"] == "p"
