"""A small Kubernetes API client: HTTP via aiohttp on plain JSON dicts.

Typed models are far too slow for listing ten thousand pods, and importing a generated
client costs more than a whole shell start, so requests are made here on dicts; the
kubeconfig (or the pod's service account) is loaded by `retina_tui.kube.kubeconfig`.
Every failure leaves this module as a `retina_tui.errors` type.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import ssl
import time
from collections.abc import AsyncIterator, Hashable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import multidict

from retina_tui import __version__
from retina_tui.errors import (
    ClusterUnreachableError,
    ConfigError,
    ForbiddenError,
    NotFoundError,
    RetinaTuiError,
)
from retina_tui.kube.auth import Credentials
from retina_tui.kube.errors import (
    credential_plugin_error,
    status_error,
    transport_error,
    unexpected_reply,
)
from retina_tui.kube.kubeconfig import (
    check_kubeconfig,
    in_cluster_connection,
    kubeconfig_paths,
    load_kubeconfig,
)
from retina_tui.kube.overrides import ConnectionOverrides

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)
USER_AGENT = f"retina-tui/{__version__}"
DEAD_PEER_SECONDS = 5
"""A connection that stays silent this long (no answer to keepalives, no ack) is dead."""
WS_HEARTBEAT_SECONDS = 2.0
"""Exec/attach WebSockets ping after this much silence and give up one half of it later."""

_NOT_JSON = object()

Params = Mapping[str, str | int | bool] | Iterable[tuple[str, str | int | bool]]


def _params(params: Params | None) -> list[tuple[str, str]]:
    if params is None:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    out = []
    for key, value in items:
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        out.append((key, text))
    return out


def list_contexts(kubeconfig: str | None = None) -> tuple[list[str], str | None]:
    """Context names of the merged kubeconfig files and the current one (first file wins)."""
    merged = check_kubeconfig(kubeconfig)
    return merged.contexts, merged.current


def keepalive_socket(addr_info: tuple[Any, ...]) -> socket.socket:
    """A TCP socket that notices a dead peer within DEAD_PEER_SECONDS, idle or busy.

    Keepalive probes start after 2 s of silence, one a second, 3 unanswered ones end the
    connection; TCP_USER_TIMEOUT ends it when sent data stays unacknowledged as long.
    """
    family, kind, proto = addr_info[0], addr_info[1], addr_info[2]
    sock = socket.socket(family=family, type=kind, proto=proto)
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 2)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, DEAD_PEER_SECONDS - 2)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, DEAD_PEER_SECONDS * 1000)
    return sock


@dataclass(frozen=True, slots=True)
class _Target:
    server: str
    context: str
    namespace: str
    ssl: ssl.SSLContext | bool
    server_hostname: str | None
    proxy: str | None
    credentials: Credentials
    impersonation: tuple[tuple[str, str], ...] = ()


class KubeClient:
    """Requests against one API server as one user; decoded JSON in and out."""

    def __init__(
        self, target: _Target, *, request_timeout: aiohttp.ClientTimeout = REQUEST_TIMEOUT
    ) -> None:
        """`request_timeout` bounds each call of `request` (not watches nor streams)."""
        self._target = target
        self.server = target.server
        self.context = target.context
        self.acting_as = next(
            (value for key, value in target.impersonation if key == "Impersonate-User"),
            None,
        )
        """The user impersonated on every request (kubectl's --as), if any."""
        self.namespace = target.namespace
        self._timeout = request_timeout
        self._session = self._new_session()
        self._retired: set[asyncio.Task[None]] = set()
        self._memo: dict[Hashable, tuple[float, Any]] = {}

    def _new_session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=0, ssl=self._target.ssl, socket_factory=keepalive_socket
            ),
            headers={"User-Agent": USER_AGENT},
        )

    def dedicated(self, *, request_timeout: float) -> KubeClient:
        """A client for the same server and user on connections of its own.

        For work that must not queue behind, or hang on, the connections everything else
        uses (the Lease heartbeat); close it when done.
        """
        return KubeClient(
            self._target,
            request_timeout=aiohttp.ClientTimeout(
                total=request_timeout, connect=min(request_timeout, REQUEST_TIMEOUT.connect or 10)
            ),
        )

    def reset_connections(self) -> None:
        """Drop every open connection; the next requests open new ones.

        Called when a connection went silent: the others took the same path and may be
        just as dead, and a request on one of them would hang until its timeout.
        Requests and streams in flight on the old connections fail and are retried by
        their owners.
        """
        old, self._session = self._session, self._new_session()
        task = asyncio.create_task(old.close(), name="kube client retire connections")
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    def recall(self, key: Hashable) -> Any:
        """A value kept with `remember` that has not expired yet, else None."""
        found = self._memo.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def remember(self, key: Hashable, value: Any, seconds: float) -> None:
        """Keep an answer that rarely changes (an access review, a node) for a while."""
        self._memo[key] = (time.monotonic() + seconds, value)

    def _fail(self, exc: BaseException) -> ClusterUnreachableError:
        return transport_error(exc, server=self.server, context=self.context)

    async def _headers(self, content_type: str | None) -> multidict.CIMultiDict[str]:
        credentials = self._target.credentials
        try:
            headers = await credentials.headers()
        except Exception as exc:
            plugin = credentials.plugin()
            if plugin is not None:
                raise credential_plugin_error(exc, plugin, self.context) from exc
            raise ClusterUnreachableError(
                f"Could not get credentials for the API server {self.server} (context "
                f"{self.context!r}): {exc}; check the user of this context in the kubeconfig."
            ) from exc
        headers["Accept"] = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        # Impersonate-Group may repeat, so the headers are a multidict.
        return multidict.CIMultiDict([*headers.items(), *self._target.impersonation])

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        """One API call; the JSON object answered, or an error from `retina_tui.errors`.

        A 2xx answer that is not a JSON object (an HTML login page, text, an empty body,
        a JSON array or null) is an UnexpectedReplyError naming the server and the call.
        """
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(2):
            headers = await self._headers(content_type if data is not None else None)
            try:
                async with self._session.request(
                    method,
                    self.server + path,
                    params=_params(params),
                    data=data,
                    headers=headers,
                    timeout=self._timeout,
                    server_hostname=self._target.server_hostname,
                    proxy=self._target.proxy,
                ) as response:
                    raw = await response.read()
                    status = response.status
                    content_kind = response.content_type
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                raise self._fail(exc) from exc
            if status == 401 and attempt == 0 and await self._refresh():
                continue
            if status >= 400:
                raise status_error(
                    status, raw, server=self.server, context=self.context, method=method, path=path
                )
            return self._decode(method, path, status, raw, content_kind)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _refresh(self) -> bool:
        credentials = self._target.credentials
        try:
            return await credentials.refresh()
        except Exception as exc:
            raise credential_plugin_error(exc, credentials.plugin() or "", self.context) from exc

    def _decode(
        self, method: str, path: str, status: int, raw: bytes, content_kind: str
    ) -> dict[str, Any]:
        """The JSON object of a 2xx answer; UnexpectedReplyError for anything else."""
        if status == 204 and not raw:
            return {}
        try:
            value = json.loads(raw) if raw.strip() else None
        except ValueError:
            value = _NOT_JSON
        if isinstance(value, dict):
            return value
        raise unexpected_reply(
            self.server,
            self.context,
            f"{method} {path}",
            status,
            raw,
            content_kind,
            value,
            was_json=value is not _NOT_JSON,
        )

    @asynccontextmanager
    async def stream_lines(
        self, path: str, *, params: Params | None = None, read_timeout: float | None = None
    ) -> AsyncIterator[AsyncIterator[tuple[bytes, bool]]]:
        """A long GET (a watch) whose body is read line by line.

        Each line comes with whether it was complete: the last bytes of a stream that
        ended without a newline may be a cut-off event. `read_timeout` is the inactivity
        deadline: no bytes for that long is a failure.
        """
        headers = await self._headers(None)
        timeout = aiohttp.ClientTimeout(total=None, connect=10, sock_read=read_timeout)
        try:
            response = await self._session.get(
                self.server + path,
                params=_params(params),
                headers=headers,
                timeout=timeout,
                server_hostname=self._target.server_hostname,
                proxy=self._target.proxy,
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise self._fail(exc) from exc
        try:
            if response.status >= 400:
                raw = await response.read()
                raise status_error(response.status, raw, server=self.server, context=self.context)
            yield self._lines(response)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise self._fail(exc) from exc
        finally:
            response.close()

    async def _lines(self, response: aiohttp.ClientResponse) -> AsyncIterator[tuple[bytes, bool]]:
        pending = b""
        async for chunk in response.content.iter_any():
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line.strip():
                    yield line, True
        if pending.strip():
            yield pending, False

    async def websocket(
        self, path: str, params: Params | None, protocols: Iterable[str]
    ) -> aiohttp.ClientWebSocketResponse:
        """Open an exec/attach style WebSocket; the negotiated subprotocol is `.protocol`."""
        for attempt in range(2):
            headers = await self._headers(None)
            try:
                return await self._session.ws_connect(
                    self.server + path,
                    params=_params(params),
                    protocols=tuple(protocols),
                    headers=headers,
                    server_hostname=self._target.server_hostname,
                    proxy=self._target.proxy,
                    max_msg_size=0,
                    autoping=True,
                    heartbeat=WS_HEARTBEAT_SECONDS,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
                )
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status == 401 and attempt == 0 and await self._refresh():
                    continue
                raise self._handshake_error(exc, path) from exc
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                raise self._fail(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _handshake_error(self, exc: aiohttp.WSServerHandshakeError, path: str) -> RetinaTuiError:
        if exc.status == 404:
            return NotFoundError(
                f"The API server {self.server} found nothing to attach to at {path}.",
                status=404,
                reason="NotFound",
            )
        if exc.status == 403:
            return ForbiddenError(
                f"The API server {self.server} (context {self.context!r}) refused the "
                f"stream at {path}; ask for permission to create pods/{_subresource(path)}.",
                status=403,
                reason="Forbidden",
            )
        return status_error(
            exc.status, exc.message, server=self.server, context=self.context, path=path
        )

    async def close(self) -> None:
        await self._session.close()
        for task in list(self._retired):
            await task

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _subresource(path: str) -> str:
    """`exec`, `attach` or `portforward`: what a stream path opens."""
    return path.rstrip("/").rsplit("/", 1)[-1]


def _request_timeout(seconds: float | None) -> aiohttp.ClientTimeout:
    """kubectl's --request-timeout: None keeps ours, 0 means no limit."""
    if seconds is None:
        return REQUEST_TIMEOUT
    if seconds == 0:
        return aiohttp.ClientTimeout(total=None, connect=REQUEST_TIMEOUT.connect)
    return aiohttp.ClientTimeout(total=seconds, connect=min(seconds, REQUEST_TIMEOUT.connect or 10))


async def connect(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    namespace: str | None = None,
    overrides: ConnectionOverrides | None = None,
) -> KubeClient:
    """A client for the kubeconfig (or in-cluster) context; no request is made yet.

    `overrides` (kubectl's connection flags) change what the kubeconfig gives.
    """
    overrides = overrides or ConnectionOverrides()
    paths = kubeconfig_paths(kubeconfig)
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    if any(path.exists() for path in paths):
        connection = await load_kubeconfig(kubeconfig, context, overrides)
    elif kubeconfig is None and "KUBECONFIG" not in os.environ and host:
        connection = in_cluster_connection(
            SERVICE_ACCOUNT_DIR, host, os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        )
    else:
        shown = os.pathsep.join(str(path) for path in paths)
        raise ConfigError(f"No kubeconfig found at {shown}; pass --kubeconfig or set KUBECONFIG.")
    target = _Target(
        server=connection.server,
        context=connection.context,
        namespace=namespace or connection.namespace or "default",
        ssl=connection.ssl,
        server_hostname=connection.server_hostname,
        proxy=connection.proxy,
        credentials=connection.credentials,
        impersonation=tuple(overrides.impersonation_headers()),
    )
    return KubeClient(target, request_timeout=_request_timeout(overrides.request_timeout))
