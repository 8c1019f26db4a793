"""An events tab: the cluster's (or one object's) Events, fed by a watch, newest first.

Rows are worded like `kubectl events`: type, reason, object, count, message, and how long
ago it was last seen (repeats raise the count and move the event up). Warnings are red.
Opened on a pod or node it shows only that object's events. The watch belongs to the tab:
closing it stops the watch. Rows are applied in batches, a few times a second.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Static

from retina_tui.errors import RetinaTuiError
from retina_tui.ui.pane import Pane
from retina_tui.ui.rows import Row, event_count, involved_object, last_seen, object_selector
from retina_tui.ui.table import VirtualTable

if TYPE_CHECKING:
    from retina_tui.kube.client import KubeClient

Obj = dict[str, Any]
COLUMNS = ("TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE", "LAST SEEN")
NEWEST_FIRST = len(COLUMNS) - 1
APPLY_SECONDS = 0.2


def event_row(event: Obj, *, namespaced: bool) -> Row:
    """One event as `kubectl events` words it."""
    meta = event.get("metadata") or {}
    involved = involved_object(event)
    kind = str(event.get("type") or "Normal")
    reason = str(event.get("reason") or "")
    obj = f"{involved.get('kind', '')}/{involved.get('name', '')}"
    if not namespaced and involved.get("namespace"):
        obj = f"{involved['namespace']}/{obj}"
    count = event_count(event)
    message = " ".join(str(event.get("message") or "").split())
    seen = last_seen(event)
    key = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
    sort_keys = (kind, reason, obj, count, message, -seen)
    tone = "error" if kind == "Warning" else "ok"
    return Row(key, (kind, reason, obj, str(count), message), seen, sort_keys, tone)


class EventsPane(Pane):
    """Events of a namespace, of the cluster, or of one object."""

    DEFAULT_CSS = """
    EventsPane > VirtualTable { height: 1fr; }
    """

    _ids = 0

    def __init__(
        self,
        client: KubeClient,
        *,
        namespace: str | None = None,
        about: tuple[str, str] | None = None,
    ) -> None:
        EventsPane._ids += 1
        super().__init__(id=f"events-{EventsPane._ids}")
        self._client = client
        self.namespace = namespace
        self.about = about
        where = f"namespace {namespace}" if namespace else "all namespaces"
        if about is not None:
            kind, name = about
            shown = f"{namespace}/{name}" if namespace else name
            self.title = f"events {kind.lower()}/{shown}"
        else:
            self.title = f"events ({where})"
        self._events: dict[str, Obj] = {}
        self._dirty: set[str] = set()
        self._removed: set[str] = set()
        self._replace = False
        self.state = "starting"

    def compose(self) -> ComposeResult:
        yield Static(self.title, classes="pane-title")
        table = VirtualTable(COLUMNS, status_column=0)
        table.sort_by(NEWEST_FIRST, reverse=False)
        yield table
        yield Static("watching events…", classes="pane-status")

    @property
    def table(self) -> VirtualTable:
        return self.query_one(VirtualTable)

    @property
    def focus_target(self) -> Widget:
        return self.table

    @property
    def label(self) -> str:
        glyph = {"starting": "◌", "watching": "●"}
        return f"{glyph.get(self.state, '✖')} {self.title}"

    def on_mount(self) -> None:
        self._watch()
        self.set_interval(APPLY_SECONDS, self._apply, name="events-apply")

    @work(exclusive=True, group="events", exit_on_error=False)
    async def _watch(self) -> None:
        from retina_tui.kube.watch import Snapshot, watch_objects

        path = f"/api/v1/namespaces/{self.namespace}/events" if self.namespace else "/api/v1/events"
        selector = object_selector(*self.about, self.namespace) if self.about else None
        try:
            events = watch_objects(
                self._client, path, field_selector=selector, on_retry=self._retry
            )
            async with contextlib.aclosing(events):
                async for event in events:
                    if isinstance(event, Snapshot):
                        self._events = {_key(obj): obj for obj in event.items}
                        self._replace = True
                        self.state = "watching"
                        self.post_message(self.Changed(self))
                    elif event.type == "DELETED":
                        self._events.pop(_key(event.obj), None)
                        self._removed.add(_key(event.obj))
                    else:
                        self._events[_key(event.obj)] = event.obj
                        self._dirty.add(_key(event.obj))
        except RetinaTuiError as error:
            self.show_error(str(error))

    def _retry(self, error: RetinaTuiError, delay: float) -> None:
        self._status(f"watch interrupted ({error}); retrying in {delay:.1f} s")

    def _apply(self) -> None:
        table = self.table
        namespaced = self.namespace is not None
        if self._replace:
            self._replace = False
            self._dirty.clear()
            self._removed.clear()
            table.replace_all(event_row(e, namespaced=namespaced) for e in self._events.values())
        else:
            for key in self._removed:
                table.remove_row(key)
            for key in self._dirty:
                if key in self._events:
                    table.upsert(event_row(self._events[key], namespaced=namespaced))
            self._removed.clear()
            self._dirty.clear()
        if self.state == "watching":
            warnings = sum(1 for e in self._events.values() if e.get("type") == "Warning")
            self._status(f"{len(self._events)} events, {warnings} warnings · newest first")

    def _status(self, text: str) -> None:
        if self.is_mounted and not self.has_class("-failed"):
            self.query_one(".pane-status", Static).update(text)

    async def close_session(self) -> None:
        """Stop the watch; an events tab leaves nothing behind."""
        self.closing = True
        await self.stop_workers()

    def show_error(self, message: str) -> None:
        self.add_class("-failed")
        self.state = "failed"
        self.post_message(self.Changed(self))
        if self.is_mounted:
            self.query_one(".pane-status", Static).update(message)


def _key(event: Obj) -> str:
    meta = event.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"
