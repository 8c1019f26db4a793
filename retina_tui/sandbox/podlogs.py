"""`pods/log`: the API server's checks of the request, then the kubelet's answer.

The API server picks the container (the only one, else the request must name it) and
reads the options (`follow`, `previous`, `sinceTime`, `sinceSeconds`, `tailLines`,
`timestamps`, `limitBytes`) with its own error messages; the kubelet then streams the
container's log (`ContainerLog`), or refuses for a container that never started or has
no previous run, worded as a kubelet words it. Follow streams are tracked so a test can
drop them all, as a broken connection to a kubelet would.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from retina_tui.sandbox.errors import ApiError, bad_request
from retina_tui.sandbox.logs import ContainerLog, LogQuery, parse_since_time
from retina_tui.sandbox.podstatus import ContainerRuntime

Obj = dict[str, Any]

WAITING_WORDS = {
    "ErrImagePull": "trying and failing to pull image",
    "ImagePullBackOff": "image can't be pulled",
}


def pick_container(pod: Obj, asked: str) -> str:
    """The container a log request is for, or the API server's 400 saying why not."""
    spec = pod.get("spec") or {}
    name = str((pod.get("metadata") or {}).get("name", ""))
    regular = [str(c.get("name", "")) for c in spec.get("containers") or []]
    others = [str(c.get("name", "")) for c in spec.get("initContainers") or []]
    others += [str(c.get("name", "")) for c in spec.get("ephemeralContainers") or []]
    if not asked:
        if len(regular) == 1:
            return regular[0]
        message = f"a container name must be specified for pod {name}, choose one of: "
        message += f"[{' '.join(regular)}]"
        if others:
            message += f" or one of the init containers: [{' '.join(others)}]"
        raise bad_request(message)
    if asked not in regular + others:
        raise bad_request(f"container {asked} is not valid for pod {name}")
    return asked


def _number(request: web.Request, key: str, *, minimum: int) -> int | None:
    raw = request.query.get(key)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{key}: invalid value {raw!r}: must be an integer") from None
    if value < minimum:
        raise ApiError(
            422,
            "Invalid",
            f'PodLogOptions "" is invalid: {key}: Invalid value: {value}: '
            f"must be greater than {'or equal to 0' if minimum == 0 else '0'}",
        )
    return value


def _flag(request: web.Request, key: str) -> bool:
    return request.query.get(key, "").lower() in ("true", "1")


def read_query(request: web.Request) -> tuple[LogQuery, bool, bool]:
    """(the line filters, follow, previous) of a log request."""
    since_ns: int | None = None
    since_time = request.query.get("sinceTime")
    since_seconds = _number(request, "sinceSeconds", minimum=1)
    if since_time and since_seconds is not None:
        raise ApiError(
            422,
            "Invalid",
            'PodLogOptions "" is invalid: []: Forbidden: at most one of `sinceTime` or '
            "`sinceSeconds` may be specified",
        )
    if since_time:
        try:
            since_ns = parse_since_time(since_time)
        except ValueError:
            raise bad_request(f'sinceTime: invalid value "{since_time}": not RFC 3339') from None
    elif since_seconds is not None:
        since_ns = time.time_ns() - since_seconds * 1_000_000_000
    query = LogQuery(
        since_ns=since_ns,
        tail=_number(request, "tailLines", minimum=0),
        timestamps=_flag(request, "timestamps"),
        limit_bytes=_number(request, "limitBytes", minimum=1),
    )
    return query, _flag(request, "follow"), _flag(request, "previous")


def choose_log(entry: ContainerRuntime, pod: str, *, previous: bool) -> ContainerLog:
    """The run a request reads, or the kubelet's 400 when there is none to read."""
    if previous:
        if entry.previous_log is None:
            raise bad_request(
                f'previous terminated container "{entry.name}" in pod "{pod}" not found'
            )
        return entry.previous_log
    waiting = entry.state.get("waiting")
    if isinstance(waiting, dict) and not entry.container_id:
        reason = str(waiting.get("reason") or "ContainerCreating")
        raise bad_request(
            f'container "{entry.name}" in pod "{pod}" is waiting to start: '
            f"{WAITING_WORDS.get(reason, reason)}"
        )
    return entry.log


class LogStreams:
    """The follow streams being served, so that they can be cut like a dropped connection."""

    def __init__(self) -> None:
        self._open: set[asyncio.Transport] = set()

    def drop_all(self) -> int:
        transports = list(self._open)
        for transport in transports:
            transport.abort()
        return len(transports)

    async def serve(
        self,
        request: web.Request,
        log: ContainerLog,
        query: LogQuery,
        *,
        follow: bool,
        stopping: Callable[[], bool],
    ) -> web.StreamResponse:
        """Stream the selected lines (and with `follow`, the lines to come) as text."""
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        transport = request.transport
        if isinstance(transport, asyncio.Transport):
            self._open.add(transport)
        try:
            async for data in log.stream(query, follow=follow and not stopping()):
                await response.write(data)
            with contextlib.suppress(ConnectionError):
                await response.write_eof()
        except ConnectionError:
            pass
        finally:
            if isinstance(transport, asyncio.Transport):
                self._open.discard(transport)
        return response
