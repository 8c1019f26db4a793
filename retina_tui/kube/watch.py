"""List-then-watch as one async generator, so nothing in retina-tui ever polls.

`watch_objects` lists a collection, yields it as a `Snapshot`, then streams `Change`s
from the list's resourceVersion. It keeps the resourceVersion current (including from
bookmarks), relists when the server says 410 Gone (yielding a fresh Snapshot the consumer
replaces its state with), reconnects after transport failures with capped exponential
backoff and jitter, and treats a silent connection as dead after an inactivity deadline.
Closing or cancelling the consumer closes the HTTP stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any, Literal, overload

from retina_tui.errors import KubeApiError, RetinaTuiError, UnexpectedReplyError
from retina_tui.kube.client import KubeClient
from retina_tui.kube.errors import is_transient, status_error
from retina_tui.kube.shapes import (
    LIST_FIELDS,
    expect_items,
    field_problem,
    kind_of,
    origin_of,
    reply_error,
)

LIST_PAGE_SIZE = 500
WATCH_TIMEOUT_SECONDS = 290
INACTIVITY_SECONDS = 330.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole collection at `resource_version`; replaces whatever the consumer had.

    `paged` says the items were already yielded, page by page, as `Page`s just before.
    """

    items: list[dict[str, Any]]
    resource_version: str
    paged: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list still being read (`pages=True`); the first replaces everything."""

    items: list[dict[str, Any]]
    first: bool


@dataclass(frozen=True, slots=True)
class Change:
    """One watch event: `type` is ADDED, MODIFIED or DELETED."""

    type: str
    obj: dict[str, Any]


class _Expired(Exception):
    """The resourceVersion is too old (410): list again."""


@dataclass(slots=True)
class Backoff:
    """Capped exponential backoff with full jitter."""

    initial: float = 0.2
    cap: float = 10.0
    attempt: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.initial * (2**self.attempt))
        self.attempt += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0


def _selectors(label_selector: str | None, field_selector: str | None) -> dict[str, str]:
    params = {}
    if label_selector:
        params["labelSelector"] = label_selector
    if field_selector:
        params["fieldSelector"] = field_selector
    return params


async def list_pages(
    client: KubeClient, path: str, params: dict[str, str]
) -> AsyncGenerator[tuple[list[dict[str, Any]], str | None], None]:
    """Each page of a collection as it arrives; the last comes with the resourceVersion.

    The next page is already being fetched while the consumer handles this one.
    """
    origin, call = origin_of(client), f"GET {path}"

    async def fetch(token: str) -> dict[str, Any]:
        page: dict[str, str | int | bool] = {**params, "limit": LIST_PAGE_SIZE}
        if token:
            page["continue"] = token
        try:
            return await client.request("GET", path, params=page)
        except KubeApiError as error:
            if error.status == 410:
                raise _Expired() from error
            raise

    pending = asyncio.create_task(fetch(""), name=f"list {path}")
    try:
        while True:
            answer = await pending
            items = expect_items(answer, "resource", origin=origin, call=call)
            problem = field_problem(answer, LIST_FIELDS)
            if problem is not None:
                raise reply_error(origin, call, f"a resource list whose {problem}")
            metadata = answer.get("metadata") or {}
            token = metadata.get("continue") or ""
            if not token:
                yield items, str(metadata.get("resourceVersion", ""))
                return
            pending = asyncio.create_task(fetch(str(token)), name=f"list {path} (next page)")
            yield items, None
    finally:
        if not pending.done():
            pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, RetinaTuiError, _Expired):
            await pending


async def list_all(
    client: KubeClient, path: str, params: dict[str, str]
) -> tuple[list[dict[str, Any]], str]:
    """All items of a collection, page by page, and the collection's resourceVersion."""
    items: list[dict[str, Any]] = []
    async for page, version in list_pages(client, path, params):
        items.extend(page)
        if version is not None:
            return items, version
    raise AssertionError("unreachable")  # pragma: no cover


@overload
def watch_objects(
    client: KubeClient,
    path: str,
    *,
    label_selector: str | None = ...,
    field_selector: str | None = ...,
    on_retry: Callable[[RetinaTuiError, float], None] | None = ...,
    backoff: Backoff | None = ...,
    inactivity_seconds: float = ...,
    since: str | None = ...,
    pages: Literal[False] = ...,
) -> AsyncGenerator[Snapshot | Change, None]: ...


@overload
def watch_objects(
    client: KubeClient,
    path: str,
    *,
    label_selector: str | None = ...,
    field_selector: str | None = ...,
    on_retry: Callable[[RetinaTuiError, float], None] | None = ...,
    backoff: Backoff | None = ...,
    inactivity_seconds: float = ...,
    since: str | None = ...,
    pages: Literal[True],
) -> AsyncGenerator[Snapshot | Page | Change, None]: ...


async def watch_objects(
    client: KubeClient,
    path: str,
    *,
    label_selector: str | None = None,
    field_selector: str | None = None,
    on_retry: Callable[[RetinaTuiError, float], None] | None = None,
    backoff: Backoff | None = None,
    inactivity_seconds: float = INACTIVITY_SECONDS,
    since: str | None = None,
    pages: bool = False,
) -> AsyncGenerator[Snapshot | Page | Change, None]:
    """Yield a Snapshot, then Changes, forever; relist on 410, reconnect on failures.

    With `pages`, each page of a list is yielded as a `Page` as soon as it arrives (a big
    collection shows its first rows at once), then the Snapshot, marked `paged`.

    With `since` (a resourceVersion the caller already has the state of, such as the
    one in the answer to its own create or patch), the first list is skipped and only
    Changes after it are yielded, until a 410 forces a relist.

    Errors that retrying cannot fix (403, 404, 401) are raised; transient ones are
    reported to `on_retry(error, delay)` and retried after `delay` seconds.
    """
    selectors = _selectors(label_selector, field_selector)
    backoff = backoff or Backoff()
    resource_version: str | None = since or None
    while True:
        try:
            if resource_version is None:
                if pages:
                    items: list[dict[str, Any]] = []
                    first = True
                    async for page, version in list_pages(client, path, selectors):
                        yield Page(page, first=first)
                        first = False
                        items.extend(page)
                        resource_version = version
                    assert resource_version is not None
                else:
                    items, resource_version = await list_all(client, path, selectors)
                backoff.reset()
                yield Snapshot(items, resource_version, paged=pages)
            params: dict[str, str | int | bool] = {
                **selectors,
                "watch": True,
                "resourceVersion": resource_version,
                "allowWatchBookmarks": True,
                "timeoutSeconds": WATCH_TIMEOUT_SECONDS + random.randint(0, 30),
            }
            async with client.stream_lines(
                path, params=params, read_timeout=inactivity_seconds
            ) as lines:
                async for line, complete in lines:
                    event = _event(client, path, line, complete)
                    if event is None:
                        break  # the stream was cut mid-event: watch again from here
                    backoff.reset()
                    kind, obj = event
                    if kind == "ERROR":
                        raise _event_error(client, obj)
                    version = obj["metadata"].get("resourceVersion")
                    if version:
                        resource_version = str(version)
                    if kind != "BOOKMARK":
                        yield Change(kind, obj)
        except _Expired:
            resource_version = None
        except RetinaTuiError as error:
            if isinstance(error, KubeApiError) and error.status == 410:
                resource_version = None
                continue
            if not is_transient(error):
                raise
            delay = backoff.next_delay()
            if on_retry is not None:
                on_retry(error, delay)
            await asyncio.sleep(delay)


CHANGES = frozenset({"ADDED", "MODIFIED", "DELETED"})
EVENT_TYPES = CHANGES | {"BOOKMARK", "ERROR"}


def _event(
    client: KubeClient, path: str, line: bytes, complete: bool
) -> tuple[str, dict[str, Any]] | None:
    """(type, object) of one watch line; None for the cut-off tail of a broken stream.

    Anything else that is not a watch event is an UnexpectedReplyError: asking again
    would get the same.
    """
    try:
        event = json.loads(line)
    except ValueError:
        if not complete:
            return None
        event = _NOT_JSON
    problem = None
    if event is _NOT_JSON:
        problem = "a line that is not JSON"
    elif not isinstance(event, dict):
        problem = f"{kind_of(event)} where a watch event belongs"
    elif event.get("type") not in EVENT_TYPES:
        problem = f"an event whose type is {event.get('type')!r}, not one of ADDED, MODIFIED, "
        problem += "DELETED, BOOKMARK or ERROR"
    elif not isinstance(event.get("object"), dict):
        problem = f"an event whose object is {kind_of(event.get('object'))}"
    elif event["type"] != "ERROR" and not isinstance(event["object"].get("metadata"), dict):
        problem = "an event whose object has no metadata"
    elif event["type"] in CHANGES and not isinstance(event["object"]["metadata"].get("name"), str):
        problem = "an event whose object has no name"
    if problem is not None:
        raise UnexpectedReplyError(
            f"The API server at {origin_of(client)} sent something that is not a watch event "
            f"on GET {path}?watch ({problem}): is this the right server or a login proxy?",
            status=200,
            reason="UnexpectedReply",
        )
    assert isinstance(event, dict)
    return str(event["type"]), event["object"]


_NOT_JSON: Any = object()


def _event_error(client: KubeClient, status: dict[str, Any]) -> Exception:
    raw = status.get("code")
    code = raw if isinstance(raw, int) and not isinstance(raw, bool) else 0
    if code == 410:
        return _Expired()
    return status_error(code or 500, status, server=client.server, context=client.context)
