"""A tiny scripted API server on loopback, for watch and error-mapping tests.

Each test scripts what the list and the watch requests answer; the server records the
query of every request so tests can check resourceVersion bookkeeping.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FakeApi:
    """Routes GET /api/v1/pods to `on_list` (no watch=) or `on_watch` (watch=true)."""

    on_list: Handler | None = None
    on_watch: Handler | None = None
    requests: list[dict[str, str]] = field(default_factory=list)
    url: str = ""
    watch_closed: asyncio.Event = field(default_factory=asyncio.Event)
    watch_opened: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.query))
        watching = request.query.get("watch") in ("true", "1")
        handler = self.on_watch if watching else self.on_list
        if watching:
            self.watch_opened.set()
        assert handler is not None, f"unexpected request {request.query}"
        try:
            return await handler(request)
        finally:
            if watching:
                self.watch_closed.set()


API_KEY = web.AppKey("api", FakeApi)


def pod(name: str, rv: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default", "resourceVersion": rv}}


def pod_list(rv: str, *names: str) -> dict[str, Any]:
    return {
        "kind": "PodList",
        "metadata": {"resourceVersion": rv},
        "items": [pod(name, rv) for name in names],
    }


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


async def stream_events(
    request: web.Request, events: list[dict[str, Any]], *, hold: bool = False
) -> web.StreamResponse:
    api = request.app[API_KEY]
    """Write watch events as JSON lines; then end the response, or hold it open."""
    response = web.StreamResponse()
    response.content_type = "application/json"
    await response.prepare(request)
    for event in events:
        await response.write(json.dumps(event).encode() + b"\n")
    if hold:
        # Until the client goes away or the server stops.
        gone = asyncio.ensure_future(api.stopping.wait())
        try:
            while not gone.done() and request.transport is not None:
                if request.transport.is_closing():
                    break
                await asyncio.wait([gone], timeout=0.02)
        finally:
            gone.cancel()
    return response


def write_kubeconfig(path: Path, server: str, context: str = "fake") -> Path:
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server}}],
                "users": [{"name": "u", "user": {"token": "secret-token"}}],
                "contexts": [
                    {"name": context, "context": {"cluster": "c", "user": "u", "namespace": "ns1"}}
                ],
                "current-context": context,
            }
        )
    )
    return path


@asynccontextmanager
async def serve(api: FakeApi) -> AsyncIterator[FakeApi]:
    app = web.Application()
    app[API_KEY] = api
    app.router.add_get("/api/v1/pods", api.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    api.url = f"http://127.0.0.1:{port}"
    try:
        yield api
    finally:
        api.stopping.set()
        await asyncio.sleep(0.05)
        await runner.cleanup()
