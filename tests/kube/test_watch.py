"""watch_objects against a scripted server: bookkeeping, 410 relist, reconnects, cancel."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from retina_tui.errors import ForbiddenError, RetinaTuiError
from retina_tui.kube.client import KubeClient, connect
from retina_tui.kube.watch import Backoff, Change, Snapshot, watch_objects
from tests.kube.fakeapi import (
    FakeApi,
    pod,
    pod_list,
    serve,
    status,
    stream_events,
    write_kubeconfig,
)

FAST = Backoff(initial=0.01, cap=0.02)


async def client_for(api: FakeApi, tmp_path: Path) -> KubeClient:
    return await connect(kubeconfig=str(write_kubeconfig(tmp_path / "kubeconfig", api.url)))


async def take(n: int, gen: Any) -> list[Any]:
    out = []
    async for item in gen:
        out.append(item)
        if len(out) == n:
            break
    return out


async def test_lists_then_watches_from_the_list_resource_version(tmp_path: Path) -> None:
    async def on_list(request: web.Request) -> web.StreamResponse:
        return web.json_response(pod_list("10", "a", "b"))

    async def on_watch(request: web.Request) -> web.StreamResponse:
        events = [
            {"type": "ADDED", "object": pod("c", "11")},
            {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "15"}}},
            {"type": "DELETED", "object": pod("a", "16")},
        ]
        return await stream_events(request, events, hold=True)

    async with serve(FakeApi(on_list, on_watch)) as api:
        client = await client_for(api, tmp_path)
        gen = watch_objects(client, "/api/v1/pods", label_selector="app=x")
        try:
            snapshot, added, deleted = await take(3, gen)
        finally:
            await gen.aclose()
            await client.close()
    assert isinstance(snapshot, Snapshot)
    assert [p["metadata"]["name"] for p in snapshot.items] == ["a", "b"]
    assert snapshot.resource_version == "10"
    assert added == Change("ADDED", pod("c", "11"))
    assert deleted == Change("DELETED", pod("a", "16"))
    watch_query = api.requests[1]
    assert watch_query["resourceVersion"] == "10"
    assert watch_query["labelSelector"] == "app=x"
    assert watch_query["allowWatchBookmarks"] == "true"


async def test_410_gone_relists_and_yields_a_fresh_snapshot(tmp_path: Path) -> None:
    lists = iter([pod_list("10", "a"), pod_list("50", "a", "z")])
    watches = 0

    async def on_list(request: web.Request) -> web.StreamResponse:
        return web.json_response(next(lists))

    async def on_watch(request: web.Request) -> web.StreamResponse:
        nonlocal watches
        watches += 1
        if watches == 1:
            gone = status(410, "Expired", "too old resource version: 10 (40)")
            return await stream_events(request, [{"type": "ERROR", "object": gone}])
        return await stream_events(request, [{"type": "ADDED", "object": pod("y", "51")}])

    async with serve(FakeApi(on_list, on_watch)) as api:
        client = await client_for(api, tmp_path)
        gen = watch_objects(client, "/api/v1/pods")
        try:
            first, second, change = await take(3, gen)
        finally:
            await gen.aclose()
            await client.close()
    assert isinstance(first, Snapshot) and first.resource_version == "10"
    assert isinstance(second, Snapshot) and second.resource_version == "50"
    assert [p["metadata"]["name"] for p in second.items] == ["a", "z"]
    assert change == Change("ADDED", pod("y", "51"))
    assert api.requests[3]["resourceVersion"] == "50"


async def test_http_410_on_the_watch_request_relists(tmp_path: Path) -> None:
    lists = iter([pod_list("10", "a"), pod_list("60", "b")])
    watches = 0

    async def on_list(request: web.Request) -> web.StreamResponse:
        return web.json_response(next(lists))

    async def on_watch(request: web.Request) -> web.StreamResponse:
        nonlocal watches
        watches += 1
        if watches == 1:
            return web.json_response(status(410, "Expired", "too old"), status=410)
        return await stream_events(request, [], hold=True)

    async with serve(FakeApi(on_list, on_watch)) as api:
        client = await client_for(api, tmp_path)
        gen = watch_objects(client, "/api/v1/pods")
        try:
            _first, second = await take(2, gen)
        finally:
            await gen.aclose()
            await client.close()
    assert isinstance(second, Snapshot) and second.resource_version == "60"


async def test_a_dropped_stream_reconnects_from_the_last_version_without_relisting(
    tmp_path: Path,
) -> None:
    watches = 0
    retries: list[str] = []

    async def on_list(request: web.Request) -> web.StreamResponse:
        return web.json_response(pod_list("10", "a"))

    async def on_watch(request: web.Request) -> web.StreamResponse:
        nonlocal watches
        watches += 1
        if watches == 1:
            return await stream_events(request, [{"type": "MODIFIED", "object": pod("a", "12")}])
        if watches == 2:
            raise web.HTTPServiceUnavailable(
                text='{"kind":"Status","code":503,"message":"restarting"}'
            )
        return await stream_events(
            request, [{"type": "MODIFIED", "object": pod("a", "13")}], hold=True
        )

    async with serve(FakeApi(on_list, on_watch)) as api:
        client = await client_for(api, tmp_path)
        gen = watch_objects(
            client,
            "/api/v1/pods",
            backoff=Backoff(initial=0.01, cap=0.02),
            on_retry=lambda error, delay: retries.append(str(error)),
        )
        try:
            items = await take(3, gen)
        finally:
            await gen.aclose()
            await client.close()
    assert [type(i).__name__ for i in items] == ["Snapshot", "Change", "Change"]
    assert items[2].obj["metadata"]["resourceVersion"] == "13"
    list_requests = [q for q in api.requests if "watch" not in q]
    assert len(list_requests) == 1
    assert [q["resourceVersion"] for q in api.requests if "watch" in q] == ["10", "12", "12"]
    assert any("restarting" in text for text in retries)


async def test_forbidden_list_is_raised_not_retried(tmp_path: Path) -> None:
    async def on_list(request: web.Request) -> web.StreamResponse:
        body = status(403, "Forbidden", 'pods is forbidden: User "bob" cannot list resource "pods"')
        return web.json_response(body, status=403)

    async with serve(FakeApi(on_list, None)) as api:
        client = await client_for(api, tmp_path)
        try:
            with pytest.raises(ForbiddenError, match='User "bob" cannot list resource "pods"'):
                await take(1, watch_objects(client, "/api/v1/pods"))
        finally:
            await client.close()


async def test_cancelling_the_consumer_closes_the_stream(tmp_path: Path) -> None:
    async def on_list(request: web.Request) -> web.StreamResponse:
        return web.json_response(pod_list("10"))

    async def on_watch(request: web.Request) -> web.StreamResponse:
        return await stream_events(request, [], hold=True)

    async with serve(FakeApi(on_list, on_watch)) as api:
        client = await client_for(api, tmp_path)
        started = asyncio.Event()

        async def consume() -> None:
            async for item in watch_objects(client, "/api/v1/pods"):
                if isinstance(item, Snapshot):
                    started.set()

        task = asyncio.create_task(consume(), name="watch consumer")
        await asyncio.wait_for(started.wait(), 10)
        await asyncio.wait_for(api.watch_opened.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(api.watch_closed.wait(), 10)
        await client.close()


async def test_unreachable_server_is_retried_with_the_error_reported(tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", "http://127.0.0.1:9")
    client = await connect(kubeconfig=str(kubeconfig))
    retries: list[RetinaTuiError] = []
    twice = asyncio.Event()

    def on_retry(error: RetinaTuiError, delay: float) -> None:
        retries.append(error)
        if len(retries) >= 2:
            twice.set()

    gen = watch_objects(client, "/api/v1/pods", backoff=FAST, on_retry=on_retry)
    task = asyncio.create_task(take(1, gen), name="unreachable watch")
    try:
        await asyncio.wait_for(twice.wait(), 10)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await gen.aclose()
        await client.close()
    assert "http://127.0.0.1:9" in str(retries[0])
    assert "'fake'" in str(retries[0])


async def test_since_skips_the_first_list(tmp_path: Path) -> None:
    async def on_list(request: web.Request) -> web.StreamResponse:
        raise AssertionError("no list expected")

    async def on_watch(request: web.Request) -> web.StreamResponse:
        return await stream_events(
            request, [{"type": "MODIFIED", "object": pod("a", "31")}], hold=True
        )

    async with serve(FakeApi(on_list, on_watch)) as api:
        client = await client_for(api, tmp_path)
        gen = watch_objects(client, "/api/v1/pods", since="30")
        try:
            (change,) = await take(1, gen)
        finally:
            await gen.aclose()
            await client.close()
    assert change == Change("MODIFIED", pod("a", "31"))
    assert api.requests[0]["resourceVersion"] == "30"


async def test_a_large_list_is_read_page_by_page(tmp_path: Path) -> None:
    async def on_list(request: web.Request) -> web.StreamResponse:
        assert request.query["limit"] == "500"
        if "continue" not in request.query:
            page = pod_list("70", "a", "b")
            page["metadata"]["continue"] = "next-page"
            return web.json_response(page)
        assert request.query["continue"] == "next-page"
        return web.json_response(pod_list("70", "c"))

    async def on_watch(request: web.Request) -> web.StreamResponse:
        return await stream_events(request, [], hold=True)

    async with serve(FakeApi(on_list, on_watch)) as api:
        client = await client_for(api, tmp_path)
        gen = watch_objects(client, "/api/v1/pods")
        try:
            (snapshot,) = await take(1, gen)
        finally:
            await gen.aclose()
            await client.close()
    assert [p["metadata"]["name"] for p in snapshot.items] == ["a", "b", "c"]
    assert snapshot.resource_version == "70"
