"""The object store of the embedded cluster: plain JSON dicts, one resourceVersion counter.

Single-threaded by design (everything runs on one event loop), so a read followed by a
write never races. Objects handed out are snapshots that must not be mutated; every
change goes through `create`, `mutate` or `remove`, which bump the global
resourceVersion and feed the watchers. The JSON encoding of each object is cached until
it changes, so listing 10,000 pods only joins bytes.
"""

from __future__ import annotations

import asyncio
import bisect
import builtins
import json
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from retina_tui.sandbox.errors import already_exists, bad_request, gone, not_found

Obj = dict[str, Any]
Key = tuple[str, str]

NAMESPACED = {
    "pods": True,
    "leases": True,
    "events": True,
    "nodes": False,
    "namespaces": False,
    "services": True,
    "endpoints": True,
    "endpointslices": True,
    "networkpolicies": True,
    "poddisruptionbudgets": True,
}
GROUPS = {
    "leases": "coordination.k8s.io",
    "endpointslices": "discovery.k8s.io",
    "networkpolicies": "networking.k8s.io",
    "poddisruptionbudgets": "policy",
}
DEFAULT_HISTORY = 50_000
"""At most this many events are kept for watches that resume from a resourceVersion."""
DEFAULT_HISTORY_SECONDS = 75.0
"""Events older than this are compacted away, as the API server's watch cache does."""
HISTORY_FLOOR = 100
"""The newest events are kept whatever their age, so a quiet cluster still resumes."""
DEFAULT_WATCH_BACKLOG = 50_000
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now_iso() -> str:
    """The current time as the API server writes timestamps."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def encode(obj: Any) -> bytes:
    """Compact JSON, the one encoder used for everything served."""
    return _ENCODER.encode(obj).encode()


def object_key(obj: Obj) -> Key:
    """(namespace, name) of an object; cluster-scoped objects have namespace ""."""
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") or "", meta.get("name") or "")


@dataclass(frozen=True, slots=True)
class Event:
    """One change as watchers see it."""

    type: str
    resource: str
    obj: Obj
    rv: int
    at: float = 0.0
    """When it happened (monotonic seconds), for compaction by age."""


class Watcher:
    """An open watch on one resource (optionally one namespace).

    It is registered when created, so nothing that happens between a list and the watch
    is lost. Iterating yields `(event_type, obj)`; the iteration ends when the watcher is
    closed or when it fell more than `backlog` events behind (a slow consumer never
    blocks the store; it simply has to watch again from its last resourceVersion).
    """

    def __init__(self, store: Store, resource: str, namespace: str | None, backlog: int) -> None:
        self._store = store
        self.resource = resource
        self.namespace = namespace
        self._backlog = backlog
        self._pending: deque[Event] = deque()
        self._wakeup = asyncio.Event()
        self.closed = False
        self.overflowed = False

    def offer(self, event: Event) -> None:
        """Queue an event (called by the store)."""
        if self.closed:
            return
        if self.namespace is not None and event.obj["metadata"].get("namespace") != self.namespace:
            return
        if len(self._pending) >= self._backlog:
            self.overflowed = True
            self.close()
            return
        self._pending.append(event)
        self._wakeup.set()

    def close(self) -> None:
        """Stop watching; a pending `__anext__` returns StopAsyncIteration."""
        if not self.closed:
            self.closed = True
            self._store._watchers.discard(self)
        self._wakeup.set()

    async def next_event(self, wait: float | None = None) -> Event | None:
        """The next event, or None on timeout or when closed."""
        while not self._pending:
            if self.closed:
                return None
            self._wakeup.clear()
            if wait is None:
                await self._wakeup.wait()
            else:
                try:
                    await asyncio.wait_for(self._wakeup.wait(), wait)
                except TimeoutError:
                    return None
        if self.overflowed:
            return None
        return self._pending.popleft()

    def drain(self) -> list[Event]:
        """Take every event already queued, without waiting."""
        if self.overflowed:
            return []
        events = list(self._pending)
        self._pending.clear()
        return events

    def __aiter__(self) -> Watcher:
        return self

    async def __anext__(self) -> tuple[str, Obj]:
        event = await self.next_event()
        if event is None:
            raise StopAsyncIteration
        return event.type, event.obj

    async def __aenter__(self) -> Watcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Store:
    """All objects of the cluster, by resource then (namespace, name)."""

    def __init__(
        self,
        *,
        history: int = DEFAULT_HISTORY,
        history_seconds: float = DEFAULT_HISTORY_SECONDS,
        watch_backlog: int = DEFAULT_WATCH_BACKLOG,
    ) -> None:
        """The event history is bounded by `history` events and `history_seconds` of age."""
        self._objects: dict[str, dict[Key, Obj]] = {name: {} for name in NAMESPACED}
        self._encoded: dict[str, dict[int, bytes]] = {name: {} for name in NAMESPACED}
        self._sorted: dict[str, list[Key] | None] = {name: None for name in NAMESPACED}
        self._rv = 1
        self._history: deque[Event] = deque()
        self._history_limit = history
        self._history_seconds = history_seconds
        self._compacted = 0
        self._watchers: set[Watcher] = set()
        self._watch_backlog = watch_backlog

    @property
    def resources(self) -> builtins.list[str]:
        """The resources the store holds."""
        return list(self._objects)

    @property
    def resource_version(self) -> str:
        """The newest resourceVersion, as lists report it."""
        return str(self._rv)

    def _table(self, resource: str) -> dict[Key, Obj]:
        try:
            return self._objects[resource]
        except KeyError:
            raise not_found(resource, "") from None

    def get(self, resource: str, namespace: str | None, name: str) -> Obj | None:
        """The object, or None."""
        return self._table(resource).get((namespace or "", name))

    def list(self, resource: str, namespace: str | None = None) -> list[Obj]:
        """Every object of a resource, optionally in one namespace, ordered by key."""
        table = self._table(resource)
        keys = self._sorted[resource]
        if keys is None:
            keys = self._sorted[resource] = sorted(table)
        if namespace is None:
            return [table[key] for key in keys]
        start = bisect.bisect_left(keys, (namespace, ""))
        end = bisect.bisect_left(keys, (namespace + "\0", ""), start)
        return [table[key] for key in keys[start:end]]

    def count(self, resource: str) -> int:
        """How many objects of a resource exist."""
        return len(self._table(resource))

    def encoded(self, resource: str, obj: Obj) -> bytes:
        """The cached JSON bytes of an object (encoded on first use).

        The cache is keyed by object identity and only holds objects currently stored
        (entries leave when the object is replaced or removed), so an id is never stale.
        """
        cache = self._encoded[resource]
        data = cache.get(id(obj))
        if data is None:
            data = encode(obj)
            if self._objects[resource].get(object_key(obj)) is obj:
                cache[id(obj)] = data
        return data

    def encoded_many(self, resource: str, objects: Iterable[Obj]) -> builtins.list[bytes]:
        """`encoded` for many objects at once."""
        cache = self._encoded[resource]
        get = cache.get
        result = []
        for obj in objects:
            data = get(id(obj))
            if data is None:
                data = self.encoded(resource, obj)
            result.append(data)
        return result

    def copy(self, resource: str, obj: Obj) -> Obj:
        """A deep, mutable copy of a stored object."""
        result: Obj = json.loads(self.encoded(resource, obj))
        return result

    def create(self, resource: str, obj: Obj) -> Obj:
        """Store a new object (the caller's dict is taken over); 409 if the name exists."""
        table = self._table(resource)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            prefix = meta.get("generateName")
            if not prefix:
                raise bad_request("name or generateName is required")
            while True:
                suffix = "".join(secrets.choice(_GENERATE_ALPHABET) for _ in range(5))
                meta["name"] = prefix + suffix
                if object_key(obj) not in table:
                    break
        if NAMESPACED[resource]:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        key = object_key(obj)
        if key in table:
            raise already_exists(resource, key[1], GROUPS.get(resource, ""))
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = meta.get("creationTimestamp") or now_iso()
        meta.pop("deletionTimestamp", None)
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        table[key] = obj
        self._encoded[resource][id(obj)] = encode(obj)
        keys = self._sorted[resource]
        if keys is not None:
            bisect.insort(keys, key)
        self._emit("ADDED", resource, obj)
        return obj

    def mutate(
        self, resource: str, namespace: str | None, name: str, fn: Callable[[Obj], None]
    ) -> Obj:
        """Apply `fn` to a copy, store it with a new resourceVersion and emit MODIFIED."""
        table = self._table(resource)
        key = (namespace or "", name)
        current = table.get(key)
        if current is None:
            raise not_found(resource, name, GROUPS.get(resource, ""))
        updated = self.copy(resource, current)
        fn(updated)
        meta = updated.setdefault("metadata", {})
        for field in ("name", "namespace", "uid", "creationTimestamp"):
            if field in current["metadata"]:
                meta[field] = current["metadata"][field]
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        table[key] = updated
        self._encoded[resource].pop(id(current), None)
        self._encoded[resource][id(updated)] = encode(updated)
        self._emit("MODIFIED", resource, updated)
        return updated

    def replace(self, resource: str, obj: Obj) -> Obj:
        """Store a whole new version of an existing object (PUT semantics)."""
        key = object_key(obj)

        def swap(target: Obj) -> None:
            target.clear()
            target.update(obj)

        return self.mutate(resource, key[0], key[1], swap)

    def remove(self, resource: str, namespace: str | None, name: str) -> Obj:
        """Remove an object for good and emit DELETED; returns the removed object."""
        table = self._table(resource)
        key = (namespace or "", name)
        current = table.pop(key, None)
        if current is None:
            raise not_found(resource, name, GROUPS.get(resource, ""))
        self._encoded[resource].pop(id(current), None)
        keys = self._sorted[resource]
        if keys is not None:
            index = bisect.bisect_left(keys, key)
            if index < len(keys) and keys[index] == key:
                del keys[index]
        self._rv += 1
        final: Obj = json.loads(encode(current))
        final["metadata"]["resourceVersion"] = str(self._rv)
        self._emit("DELETED", resource, final)
        return final

    def _emit(self, kind: str, resource: str, obj: Obj) -> None:
        now = time.monotonic()
        event = Event(kind, resource, obj, self._rv, now)
        history = self._history
        history.append(event)
        oldest = now - self._history_seconds
        while len(history) > self._history_limit or (
            len(history) > HISTORY_FLOOR and history[0].at < oldest
        ):
            self._compacted = history.popleft().rv
        for watcher in list(self._watchers):
            if watcher.resource == resource:
                watcher.offer(event)

    @property
    def compacted_version(self) -> int:
        """The newest resourceVersion whose event was compacted away (0: none yet)."""
        return self._compacted

    @property
    def history_size(self) -> int:
        """How many events are kept for resuming watches."""
        return len(self._history)

    def compact(self) -> None:
        """Forget the whole event history (watches from older versions get 410 Expired)."""
        if self._history:
            self._compacted = self._history[-1].rv
        self._history.clear()

    def watch(
        self,
        resource: str,
        namespace: str | None = None,
        resource_version: str | None = None,
    ) -> Watcher:
        """Watch changes after `resource_version` (None: only future changes).

        Raises ApiError 410 Expired if that version is older than the kept history and
        400 if it is not a number.
        """
        self._table(resource)
        watcher = Watcher(self, resource, namespace, self._watch_backlog)
        if resource_version not in (None, "", "0"):
            since = parse_resource_version(resource_version)
            if since < self._compacted:
                raise gone(f"too old resource version: {since} ({self._compacted})")
            for event in self._events_since(since, resource):
                watcher.offer(event)
        self._watchers.add(watcher)
        return watcher

    def _events_since(self, since: int, resource: str) -> Iterable[Event]:
        if not self._history or self._history[-1].rv <= since:
            return []
        return [e for e in self._history if e.rv > since and e.resource == resource]

    def close_watchers(self) -> None:
        """End every open watch (at shutdown)."""
        for watcher in list(self._watchers):
            watcher.close()


def parse_resource_version(value: str) -> int:
    """A resourceVersion from a client, as an integer; 400 if it is not one."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise bad_request(
            f'resourceVersion: Invalid value: "{value}": must be a non-negative integer'
        )
    return number
