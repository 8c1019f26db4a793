"""Watch streams: `?watch=1` answers as the API server does, one JSON event per line.

Semantics: without a resourceVersion (or "0") the stream starts with a synthetic ADDED
for every current object; from a version N it replays what happened after N, or sends
one ERROR event carrying a 410 Expired Status if N is older than the kept history (as
the API server's watch cache does); a version that is not a number is a 400.
`sendInitialEvents=true` (the watch-list protocol) sends the current state then a
BOOKMARK annotated `k8s.io/initial-events-end`. `timeoutSeconds` ends the stream.
Label and field selectors filter events; an object leaving the selection is sent as
DELETED and one entering it as ADDED.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from retina_tui.sandbox import tables
from retina_tui.sandbox.discovery import ResourceInfo
from retina_tui.sandbox.errors import ApiError, bad_request
from retina_tui.sandbox.selectors import Predicate, combine, field_selector, label_selector
from retina_tui.sandbox.store import Event, Obj, Store, encode, object_key

DEFAULT_TIMEOUT = 1800.0
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _timeout(request: web.Request) -> float:
    value = request.query.get("timeoutSeconds")
    if not value:
        return DEFAULT_TIMEOUT
    try:
        seconds = int(value)
    except ValueError:
        raise bad_request(f'timeoutSeconds: Invalid value: "{value}": must be an integer') from None
    return float(seconds) if seconds > 0 else DEFAULT_TIMEOUT


class _Encoder:
    """Turns (type, object) into watch event lines, as JSON or as Table rows."""

    def __init__(
        self, request: web.Request, store: Store, info: ResourceInfo, rows: tables.RowCache
    ) -> None:
        self.store = store
        self.rows = rows
        self.resource = info.name
        accept = request.headers.get("Accept", "")
        self.as_table = tables.wants_table(accept) and info.name in tables.PRINTERS
        self.include = request.query.get("includeObject", "Metadata")
        self.first = True

    def line(self, kind: str, obj: Obj) -> bytes:
        if self.as_table:
            body = self.rows.table(
                self.resource,
                [obj],
                {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                include_object=self.include,
                with_columns=self.first,
            )
            self.first = False
        else:
            body = self.store.encoded(self.resource, obj)
        return b'{"type":"' + kind.encode() + b'","object":' + body + b"}\n"


class _Filter:
    """Applies selectors to events, turning selection changes into ADDED/DELETED."""

    def __init__(self, predicate: Predicate | None, initial: list[Obj]) -> None:
        self.predicate = predicate
        self.visible = {object_key(obj) for obj in initial}

    def apply(self, event: Event) -> tuple[str, Obj] | None:
        if self.predicate is None:
            return event.type, event.obj
        key = object_key(event.obj)
        matches = self.predicate(event.obj)
        if event.type == "DELETED":
            if key in self.visible:
                self.visible.discard(key)
                return event.type, event.obj
            return None
        if matches:
            kind = "MODIFIED" if key in self.visible else "ADDED"
            self.visible.add(key)
            return kind, event.obj
        if key in self.visible:
            self.visible.discard(key)
            return "DELETED", event.obj
        return None


async def serve_watch(
    request: web.Request,
    store: Store,
    info: ResourceInfo,
    namespace: str,
    name: str,
    rows: tables.RowCache,
) -> web.StreamResponse:
    """Stream watch events until the timeout, the client leaving, or overflow."""
    predicate = combine(
        label_selector(request.query.get("labelSelector")),
        field_selector(request.query.get("fieldSelector"), info.kind),
        (lambda obj: obj["metadata"].get("name") == name) if name else None,
    )
    rv = request.query.get("resourceVersion") or None
    send_initial = request.query.get("sendInitialEvents", "").lower() == "true"
    if send_initial and request.query.get("resourceVersionMatch") != "NotOlderThan":
        raise bad_request(
            "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless "
            "resourceVersionMatch is set to NotOlderThan"
        )
    timeout = _timeout(request)
    expired: ApiError | None = None
    initial: list[Obj] = []
    replay_from = None if send_initial or rv in (None, "0") else rv
    try:
        watcher = store.watch(info.name, namespace or None, replay_from)
    except ApiError as error:
        if error.code != 410:
            raise
        expired = error
    else:
        if replay_from is None:
            initial = store.list(info.name, namespace or None)
            if predicate is not None:
                initial = [obj for obj in initial if predicate(obj)]
        elif predicate is not None:
            initial = [obj for obj in store.list(info.name, namespace or None) if predicate(obj)]
    response = web.StreamResponse(status=200)
    response.content_type = "application/json"
    response.enable_chunked_encoding()
    await response.prepare(request)
    if expired is not None:
        await response.write(b'{"type":"ERROR","object":' + encode(expired.status()) + b"}\n")
        return response
    encoder = _Encoder(request, store, info, rows)
    selection = _Filter(predicate, initial)
    try:
        if replay_from is None:
            chunk = b"".join(encoder.line("ADDED", obj) for obj in initial)
            if chunk:
                await response.write(chunk)
        if send_initial:
            await response.write(_bookmark(info, store.resource_version))
        await _pump(response, watcher, encoder, selection, timeout)
    finally:
        watcher.close()
    return response


def _bookmark(info: ResourceInfo, resource_version: str) -> bytes:
    obj: dict[str, Any] = {
        "kind": info.kind,
        "apiVersion": info.api_version,
        "metadata": {
            "resourceVersion": resource_version,
            "annotations": {INITIAL_EVENTS_END: "true"},
        },
    }
    return b'{"type":"BOOKMARK","object":' + encode(obj) + b"}\n"


async def _pump(
    response: web.StreamResponse,
    watcher: Any,
    encoder: _Encoder,
    selection: _Filter,
    seconds: float,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        event = await watcher.next_event(remaining)
        if event is None:
            return
        lines = []
        for item in [event, *watcher.drain()]:
            passed = selection.apply(item)
            if passed is not None:
                lines.append(encoder.line(*passed))
        if lines:
            await response.write(b"".join(lines))
