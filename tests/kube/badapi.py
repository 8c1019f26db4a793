"""A proxy in front of the sandbox that answers chosen calls in malformed ways.

Everything it does not garble goes to the real sandbox API server (WebSockets too), so
sessions behave as they do against a cluster until the one reply a test picks is an
HTML login page, a JSON array, a pod whose `status.phase` is a number, or a watch line
that is not an event. A rule can forward a request first and garble only its answer:
the create happened, the client cannot tell. The proxy records which pods were created
and deleted through it, and which ephemeral containers were added.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

Mutate = Callable[[Any], Any]

BODIES: dict[str, tuple[str, bytes]] = {
    "garbage": ("text/plain", b"this is not json {{{"),
    "html": ("text/html", b"<!DOCTYPE html><html><body><form>Sign in</form></body></html>"),
    "array": ("application/json", b"[1, 2, 3]"),
    "string": ("application/json", b'"pods"'),
    "null": ("application/json", b"null"),
    "empty": ("application/json", b""),
    "watch-garbage": ("application/json", b"not an event\n"),
    "watch-no-type": ("application/json", b'{"object": {"metadata": {"name": "x"}}}\n'),
    "watch-unknown-type": (
        "application/json",
        b'{"type": "EXPLODED", "object": {"metadata": {"name": "x"}}}\n',
    ),
    "watch-array": ("application/json", b"[1]\n"),
    "watch-no-object": ("application/json", b'{"type": "ADDED"}\n'),
}


def set_field(path: str, value: Any) -> Mutate:
    """A mutation that sets one dotted field of the upstream answer (or of each item)."""

    def mutate(answer: Any) -> Any:
        targets = answer.get("items") or [] if path.startswith("items[].") else [answer]
        dotted = path.removeprefix("items[].")
        for target in targets:
            *parents, last = dotted.split(".")
            for part in parents:
                target = target.setdefault(part, {})
            target[last] = value
        return answer

    return mutate


@dataclass
class Rule:
    """Which calls to garble, and how.

    `path` is a regular expression matched against the whole path; `watch` limits the
    rule to watch requests (True) or to the rest (False); `dry_run` likewise. With
    `forward`, the request reaches the sandbox first and only its answer is replaced.
    Either `reply` names one of BODIES, or `mutate` changes the upstream JSON answer.
    """

    method: str
    path: str
    reply: str | None = None
    mutate: Mutate | None = None
    watch: bool | None = None
    dry_run: bool | None = None
    forward: bool = False

    def matches(self, request: web.Request) -> bool:
        if self.method not in ("*", request.method):
            return False
        if not re.fullmatch(self.path, request.path):
            return False
        watching = request.query.get("watch") in ("true", "1")
        if self.watch is not None and watching != self.watch:
            return False
        dry = "dryRun" in request.query
        return self.dry_run is None or dry == self.dry_run


@dataclass
class BadApi:
    """The proxy's rules, its upstream, and what it saw."""

    upstream: str
    ca_pem: bytes
    rules: list[Rule] = field(default_factory=list)
    url: str = ""
    created: list[tuple[str, str]] = field(default_factory=list)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    containers: list[tuple[str, str, str]] = field(default_factory=list)
    garbled: list[str] = field(default_factory=list)
    _session: aiohttp.ClientSession | None = None
    _streaming: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None
        return self._session

    def left_behind(self) -> set[tuple[str, str]]:
        """Pods created through the proxy and not deleted through it."""
        return set(self.created) - set(self.deleted)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        rule = next((rule for rule in self.rules if rule.matches(request)), None)
        body = await request.read()
        if rule is not None and not rule.forward and rule.mutate is None:
            self.garbled.append(f"{request.method} {request.path}")
            assert rule.reply is not None
            content_type, raw = BODIES[rule.reply]
            return web.Response(body=raw, status=200, headers={"Content-Type": content_type})
        upstream = await self.session.request(
            request.method,
            self.upstream + request.path_qs,
            data=body or None,
            headers=[
                (key, value)
                for key, value in request.headers.items()
                if key.lower() in ("authorization", "content-type", "accept")
                or key.lower().startswith("impersonate-")
            ],
            timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
        )
        try:
            if request.query.get("watch") in ("true", "1") and rule is None:
                return await self._stream(request, upstream)
            raw = await upstream.read()
            self._record(request, body, upstream.status, raw)
            if rule is None or upstream.status >= 300:
                return web.Response(
                    body=raw,
                    status=upstream.status,
                    headers={"Content-Type": upstream.headers.get("Content-Type", "")},
                )
            self.garbled.append(f"{request.method} {request.path}")
            if rule.mutate is not None:
                mutated = json.dumps(rule.mutate(json.loads(raw))).encode()
                return web.Response(
                    body=mutated, status=upstream.status, content_type="application/json"
                )
            assert rule.reply is not None
            content_type, replaced = BODIES[rule.reply]
            return web.Response(body=replaced, status=200, headers={"Content-Type": content_type})
        finally:
            upstream.release()

    async def _stream(
        self, request: web.Request, upstream: aiohttp.ClientResponse
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=upstream.status)
        response.content_type = "application/json"
        await response.prepare(request)
        task = asyncio.current_task()
        assert task is not None
        self._streaming.add(task)
        try:
            with contextlib.suppress(ConnectionError, aiohttp.ClientError):
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
        finally:
            self._streaming.discard(task)
        return response

    async def stop_streams(self) -> None:
        """End the watches still being relayed (they would outlive the server otherwise)."""
        tasks = list(self._streaming)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _record(self, request: web.Request, body: bytes, status: int, raw: bytes) -> None:
        if status >= 300:
            return
        parts = request.path.strip("/").split("/")
        if parts[:3] != ["api", "v1", "namespaces"] or len(parts) < 5 or parts[4] != "pods":
            return
        namespace = parts[3]
        if request.method == "POST" and len(parts) == 5 and "dryRun" not in request.query:
            self.created.append((namespace, json.loads(raw)["metadata"]["name"]))
        elif request.method == "DELETE" and len(parts) == 6:
            self.deleted.append((namespace, parts[5]))
        elif (
            request.method == "PATCH"
            and parts[-1] == "ephemeralcontainers"
            and "dryRun" not in request.query
        ):
            for container in json.loads(body)["spec"]["ephemeralContainers"]:
                self.containers.append((namespace, parts[5], container["name"]))

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        offered = [
            part.strip()
            for part in request.headers.get("Sec-WebSocket-Protocol", "").split(",")
            if part.strip()
        ]
        upstream = await self.session.ws_connect(
            self.upstream + request.path_qs,
            protocols=offered,
            headers=[
                (key, value)
                for key, value in request.headers.items()
                if key.lower() == "authorization" or key.lower().startswith("impersonate-")
            ],
            max_msg_size=0,
        )
        ws = web.WebSocketResponse(protocols=[upstream.protocol] if upstream.protocol else [])
        await ws.prepare(request)

        async def pump(
            source: aiohttp.ClientWebSocketResponse | web.WebSocketResponse,
            sink: aiohttp.ClientWebSocketResponse | web.WebSocketResponse,
        ) -> None:
            async for message in source:
                if message.type == aiohttp.WSMsgType.BINARY:
                    await sink.send_bytes(message.data)
                elif message.type == aiohttp.WSMsgType.TEXT:
                    await sink.send_str(message.data)
            await sink.close()

        tasks = [
            asyncio.create_task(pump(upstream, ws), name="proxy ws down"),
            asyncio.create_task(pump(ws, upstream), name="proxy ws up"),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await upstream.close()
        return ws


def sandbox_upstream(kubeconfig: Path) -> tuple[str, bytes, dict[str, str]]:
    """(server URL, CA PEM, user -> token) of a sandbox kubeconfig."""
    config = json.loads(kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    tokens = {user["name"]: user["user"]["token"] for user in config["users"]}
    return cluster["server"], base64.b64decode(cluster["certificate-authority-data"]), tokens


def proxy_kubeconfig(path: Path, server: str, token: str, namespace: str = "default") -> Path:
    """A kubeconfig for the proxy (plain HTTP on loopback) as the given user."""
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "proxy", "cluster": {"server": server}}],
                "users": [{"name": "user", "user": {"token": token}}],
                "contexts": [
                    {
                        "name": "proxy",
                        "context": {"cluster": "proxy", "user": "user", "namespace": namespace},
                    }
                ],
                "current-context": "proxy",
            }
        )
    )
    return path


@asynccontextmanager
async def serve_bad_api(upstream: str, ca_pem: bytes, rules: list[Rule]) -> AsyncIterator[BadApi]:
    """Run the proxy on a free loopback port for the duration."""
    api = BadApi(upstream=upstream, ca_pem=ca_pem, rules=rules)
    context = ssl.create_default_context(cadata=ca_pem.decode())
    api._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", api.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    api.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield api
    finally:
        await api.stop_streams()
        await runner.cleanup()
        await api._session.close()
