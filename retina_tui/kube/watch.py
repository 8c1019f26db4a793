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
import json
import random
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any

from retina_tui.errors import KubeApiError, RetinaTuiError
from retina_tui.kube.client import KubeClient
from retina_tui.kube.errors import is_transient, status_error

LIST_PAGE_SIZE = 500
WATCH_TIMEOUT_SECONDS = 290
INACTIVITY_SECONDS = 330.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole collection at `resource_version`; replaces whatever the consumer had."""

    items: list[dict[str, Any]]
    resource_version: str


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


async def list_all(
    client: KubeClient, path: str, params: dict[str, str]
) -> tuple[list[dict[str, Any]], str]:
    """All items of a collection, page by page, and the collection's resourceVersion."""
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        page: dict[str, str | int | bool] = {**params, "limit": LIST_PAGE_SIZE}
        if token:
            page["continue"] = token
        try:
            answer = await client.request("GET", path, params=page)
        except KubeApiError as error:
            if error.status == 410:
                raise _Expired() from error
            raise
        items.extend(answer.get("items") or [])
        metadata = answer.get("metadata") or {}
        token = metadata.get("continue") or ""
        if not token:
            return items, str(metadata.get("resourceVersion", ""))


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
) -> AsyncGenerator[Snapshot | Change, None]:
    """Yield a Snapshot, then Changes, forever; relist on 410, reconnect on failures.

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
                items, resource_version = await list_all(client, path, selectors)
                backoff.reset()
                yield Snapshot(items, resource_version)
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
                async for line in lines:
                    backoff.reset()
                    event = json.loads(line)
                    kind = event.get("type")
                    obj = event.get("object") or {}
                    if kind == "ERROR":
                        raise _event_error(client, obj)
                    version = (obj.get("metadata") or {}).get("resourceVersion")
                    if version:
                        resource_version = str(version)
                    if kind in ("ADDED", "MODIFIED", "DELETED"):
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
        except ValueError as exc:
            # A line that is not JSON means the stream was cut mid-event: reconnect.
            delay = backoff.next_delay()
            if on_retry is not None:
                on_retry(RetinaTuiError(f"The watch of {path} broke: {exc}."), delay)
            await asyncio.sleep(delay)


def _event_error(client: KubeClient, status: dict[str, Any]) -> Exception:
    code = int(status.get("code") or 0)
    if code == 410:
        return _Expired()
    return status_error(code or 500, status, server=client.server, context=client.context)
