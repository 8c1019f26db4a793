"""The sandbox's watch history is bounded like the API server's watch cache.

Old revisions are compacted by count and by age; a watch from a compacted resourceVersion
gets 410 Expired and clients relist. Checked on the store, with the real kubectl against a
sandbox process under churn, and with our own list-then-watch.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from retina_tui.kube.client import connect
from retina_tui.kube.watch import Snapshot, watch_objects
from retina_tui.sandbox.errors import ApiError
from retina_tui.sandbox.store import HISTORY_FLOOR, Store
from tests.fixtures_sandbox import SandboxProcess, sandbox_process


def pod(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default"}, "spec": {}}


def churn(store: Store, count: int, prefix: str = "p") -> None:
    for n in range(count):
        store.create("pods", pod(f"{prefix}{n}"))


def test_history_is_bounded_by_count() -> None:
    store = Store(history=50, history_seconds=3600)
    first = int(store.resource_version)
    churn(store, 500)
    assert store.history_size == 50
    with pytest.raises(ApiError) as gone:
        store.watch("pods", None, str(first))
    assert gone.value.code == 410
    recent = str(int(store.resource_version) - 10)
    watcher = store.watch("pods", None, recent)
    assert len(watcher.drain()) == 10
    watcher.close()


def test_history_older_than_the_window_is_compacted_but_the_newest_are_kept() -> None:
    store = Store(history=100_000, history_seconds=0.05)
    churn(store, 3 * HISTORY_FLOOR)
    before = int(store.resource_version)
    time.sleep(0.1)
    store.create("pods", pod("late"))
    assert store.history_size == HISTORY_FLOOR
    with pytest.raises(ApiError):
        store.watch("pods", None, str(before - 2 * HISTORY_FLOOR))
    watcher = store.watch("pods", None, str(before - 10))
    assert [event.obj["metadata"]["name"] for event in watcher.drain()][-1] == "late"
    watcher.close()


@pytest.fixture(scope="module")
def churning(tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = tmp_path_factory.mktemp("history")
    extra = ("--churn", "100", "--history-seconds", "0.5", "--no-kubelet")
    with sandbox_process(Path(directory), network="host", extra=extra) as running:
        yield running


def churn_version(sandbox: SandboxProcess) -> str:
    listed = sandbox.kubectl("get", "--raw", "/api/v1/namespaces/churn/pods", check=True)
    return str(json.loads(listed.stdout)["metadata"]["resourceVersion"])


def test_kubectl_watch_from_a_compacted_version_gets_410_expired(churning: SandboxProcess) -> None:
    old = churn_version(churning)
    time.sleep(3.0)
    path = f"/api/v1/namespaces/churn/pods?watch=1&resourceVersion={old}&timeoutSeconds=2"
    result = churning.kubectl("get", "--raw", path, check=True)
    event = json.loads(result.stdout.splitlines()[0])
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"
    assert "too old resource version" in event["object"]["message"]


def test_kubectl_get_watch_follows_a_compacting_cluster(churning: SandboxProcess) -> None:
    watch = churning.kubectl_popen("get", "pods", "-n", "churn", "-w", "--no-headers")
    try:
        time.sleep(4.0)
    finally:
        watch.terminate()
        out, err = watch.communicate(timeout=10)
    names = {line.split()[0] for line in out.splitlines() if line.strip()}
    serials = sorted(int(name.split("-")[1]) for name in names if name.startswith("churn-"))
    assert err == "" and len(serials) > 20
    assert serials[-1] - serials[0] > 20, "the watch stopped following the churn"


async def test_our_watch_relists_after_410_and_ends_up_with_the_current_pods(
    churning: SandboxProcess,
) -> None:
    old = churn_version(churning)
    await asyncio.sleep(3.0)
    client = await connect(kubeconfig=str(churning.kubeconfig))
    gen = watch_objects(client, "/api/v1/namespaces/churn/pods", since=old)
    try:
        first = await anext(gen)
    finally:
        await gen.aclose()
        await client.close()
    assert isinstance(first, Snapshot), "a compacted version must lead to a fresh list"
    listed = json.loads(churning.kubectl("get", "pods", "-n", "churn", "-o", "json").stdout)
    now = {item["metadata"]["name"] for item in listed["items"]}
    relisted = {item["metadata"]["name"] for item in first.items}
    assert len(relisted & now) >= len(now) // 2


def test_table_rows_of_pods_that_are_gone_are_not_kept() -> None:
    from retina_tui.sandbox.tables import PRUNE_FLOOR, RowCache

    store = Store()
    rows = RowCache(store)
    for n in range(5 * PRUNE_FLOOR):  # churn: a new name each time, the old one deleted
        obj = store.create("pods", pod(f"churn-{n}"))
        rows.rows("pods", [obj], "Metadata")
        store.remove("pods", "default", f"churn-{n}")
    assert len(rows._rows) <= PRUNE_FLOOR
    kept = [store.create("pods", pod(f"kept-{n}")) for n in range(3 * PRUNE_FLOOR)]
    rows.rows("pods", kept, "Metadata")
    assert len(rows._rows) >= len(kept), "rows of live pods stay cached"
