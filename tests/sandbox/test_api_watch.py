"""Watch semantics: ordering, resume, 410 Expired, selectors, watch-list, timeouts, overflow."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from retina_tui.sandbox.store import Store
from tests.sandbox.apiclient import api_only_options, pod_body


@pytest.fixture
def sandbox_options() -> Any:
    return api_only_options()


PODS = "/api/v1/namespaces/default/pods"


async def test_watch_from_a_version_sees_changes_in_order(admin_api: Any) -> None:
    listed = await admin_api.get(PODS)
    rv = listed.body["metadata"]["resourceVersion"]
    await admin_api.post(PODS, pod_body("w1"))
    await admin_api.request(
        "PATCH",
        f"{PODS}/w1",
        body={"metadata": {"labels": {"x": "y"}}},
        content_type="application/merge-patch+json",
    )
    await admin_api.request("DELETE", f"{PODS}/w1")
    events = await admin_api.watch_lines(
        PODS, {"watch": "1", "resourceVersion": rv, "timeoutSeconds": "5"}, count=3
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "w1"),
        ("MODIFIED", "w1"),
        ("DELETED", "w1"),
    ]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and versions[0] > int(rv)


async def test_watch_without_version_starts_with_current_state(admin_api: Any) -> None:
    events = await admin_api.watch_lines(
        "/api/v1/namespaces/shop/pods", {"watch": "true", "timeoutSeconds": "1"}, count=10
    )
    assert sorted((e["type"], e["object"]["metadata"]["name"]) for e in events) == [
        ("ADDED", "api"),
        ("ADDED", "client"),
        ("ADDED", "db"),
        ("ADDED", "web"),
    ]


async def test_live_watch_receives_new_pods(admin_api: Any) -> None:
    rv = (await admin_api.get(PODS)).body["metadata"]["resourceVersion"]
    reader = asyncio.create_task(
        admin_api.watch_lines(
            PODS,
            {"watch": "1", "resourceVersion": rv, "labelSelector": "app=live"},
            count=1,
        ),
        name="watch-reader",
    )
    await asyncio.sleep(0.2)
    await admin_api.post(PODS, pod_body("other"))
    await admin_api.post(PODS, pod_body("live"))
    events = await asyncio.wait_for(reader, 10)
    assert events[0]["type"] == "ADDED" and events[0]["object"]["metadata"]["name"] == "live"


async def test_compacted_version_gets_410_expired_event(api_sandbox: Any, admin_api: Any) -> None:
    old_rv = (await admin_api.get(PODS)).body["metadata"]["resourceVersion"]
    await admin_api.post(PODS, pod_body("after"))
    api_sandbox.store.compact()
    events = await admin_api.watch_lines(PODS, {"watch": "1", "resourceVersion": old_rv}, count=2)
    assert len(events) == 1
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert status["kind"] == "Status" and status["code"] == 410
    assert status["reason"] == "Expired"
    assert status["message"].startswith(f"too old resource version: {old_rv} (")


async def test_selector_turns_relabel_into_added_and_deleted(admin_api: Any) -> None:
    await admin_api.post(PODS, pod_body("flip"))
    rv = (await admin_api.get(PODS)).body["metadata"]["resourceVersion"]
    for value in ("on", "off"):
        await admin_api.request(
            "PATCH",
            f"{PODS}/flip",
            body={"metadata": {"labels": {"sel": value}}},
            content_type="application/merge-patch+json",
        )
    events = await admin_api.watch_lines(
        PODS,
        {"watch": "1", "resourceVersion": rv, "labelSelector": "sel=on", "timeoutSeconds": "2"},
        count=2,
    )
    assert [e["type"] for e in events] == ["ADDED", "DELETED"]


async def test_watch_list_sends_initial_events_then_a_bookmark(admin_api: Any) -> None:
    events = await admin_api.watch_lines(
        "/api/v1/namespaces/shop/pods",
        {
            "watch": "1",
            "sendInitialEvents": "true",
            "resourceVersionMatch": "NotOlderThan",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": "2",
        },
        count=5,
    )
    assert [e["type"] for e in events] == ["ADDED"] * 4 + ["BOOKMARK"]
    bookmark = events[4]["object"]
    assert bookmark["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    refused = await admin_api.get(PODS, params={"watch": "1", "sendInitialEvents": "true"})
    assert refused.status == 400 and refused.body["reason"] == "BadRequest"


async def test_timeout_seconds_ends_the_stream(admin_api: Any) -> None:
    rv = (await admin_api.get(PODS)).body["metadata"]["resourceVersion"]
    events = await asyncio.wait_for(
        admin_api.watch_lines(
            PODS, {"watch": "1", "resourceVersion": rv, "timeoutSeconds": "1"}, count=1
        ),
        20,
    )
    assert events == []


async def test_table_watch_rows(admin_api: Any) -> None:
    events = await admin_api.watch_lines(
        "/api/v1/namespaces/shop/pods",
        {"watch": "1", "timeoutSeconds": "1"},
        count=4,
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    )
    assert [e["object"]["kind"] for e in events] == ["Table"] * 4
    assert events[0]["object"]["columnDefinitions"][0]["name"] == "Name"
    assert all(e["object"]["columnDefinitions"] == [] for e in events[1:])
    assert {e["object"]["rows"][0]["cells"][0] for e in events} == {"api", "db", "web", "client"}


async def test_many_watchers_each_get_every_event_in_order() -> None:
    store = Store()
    store.create("namespaces", {"metadata": {"name": "default"}})
    watchers = [store.watch("pods") for _ in range(10)]
    for index in range(200):
        store.create("pods", {"metadata": {"name": f"p{index}", "namespace": "default"}})
    for watcher in watchers:
        names = [obj["metadata"]["name"] for _, obj in _drain(watcher)]
        assert names == [f"p{index}" for index in range(200)]
        watcher.close()


def _drain(watcher: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(event.type, event.obj) for event in watcher.drain()]


async def test_a_watcher_that_falls_behind_is_closed_not_blocking() -> None:
    store = Store(watch_backlog=10)
    store.create("namespaces", {"metadata": {"name": "default"}})
    slow = store.watch("pods")
    fast = store.watch("pods")
    received: list[str] = []

    async def consume() -> None:
        async for _, obj in fast:
            received.append(obj["metadata"]["name"])
            if len(received) == 50:
                return

    consumer = asyncio.create_task(consume(), name="fast-consumer")
    for index in range(50):
        store.create("pods", {"metadata": {"name": f"p{index}", "namespace": "default"}})
        await asyncio.sleep(0)
    await asyncio.wait_for(consumer, 5)
    fast.close()
    assert received == [f"p{index}" for index in range(50)]
    assert slow.overflowed and slow.closed
    assert [item async for item in slow] == []
    assert store.count("pods") == 50


async def test_store_watch_resumes_and_rejects_garbage() -> None:
    store = Store()
    store.create("namespaces", {"metadata": {"name": "default"}})
    rv = store.resource_version
    store.create("pods", {"metadata": {"name": "a", "namespace": "default"}})
    async with store.watch("pods", "default", rv) as watcher:
        kind, obj = await anext(aiter(watcher))
        assert (kind, obj["metadata"]["name"]) == ("ADDED", "a")
    try:
        store.watch("pods", None, "garbage")
    except Exception as error:
        assert getattr(error, "code", None) == 400
    else:
        raise AssertionError("a garbage resourceVersion was accepted")
