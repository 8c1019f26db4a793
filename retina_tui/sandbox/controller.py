"""A level-triggered controller over the store: watch some resources, re-sync on change.

The endpoints controller, kube-proxy, the NetworkPolicy enforcer and cluster DNS all
follow the same loop as their real counterparts: any change to what they watch marks them
dirty; they then compute the whole desired state from the store and apply it. Changes that
arrive while a sync runs are coalesced into one more sync, so a burst of 2,000 pod events
costs a few syncs, not 2,000. `applied` tells how far the applied state has caught up
(the store resourceVersion the last completed sync started from), which tests and
benchmarks wait on instead of sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from retina_tui.sandbox.store import Store, Watcher

log = logging.getLogger("retina_tui.sandbox")


class Controller:
    """Subclasses set `name` and `resources` and implement `sync`."""

    name = "controller"
    resources: Sequence[str] = ()

    def __init__(self, store: Store) -> None:
        self.store = store
        self.applied = 0
        self.syncs = 0
        self._dirty = asyncio.Event()
        self._synced = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._watch_tasks: list[asyncio.Task[None]] = []

    async def sync(self) -> None:
        """Make the world match the store (the whole desired state, every time)."""
        raise NotImplementedError

    async def start(self) -> None:
        """Sync once now, then follow every change."""
        watchers = [self.store.watch(resource) for resource in self.resources]
        self._watch_tasks = [
            asyncio.create_task(self._follow(w), name=f"sandbox-{self.name}-watch-{w.resource}")
            for w in watchers
        ]
        await self._sync_once()
        self._task = asyncio.create_task(self._loop(), name=f"sandbox-{self.name}")

    async def stop(self) -> None:
        """Stop following changes (what was applied stays until its namespaces go)."""
        tasks = [t for t in (self._task, *self._watch_tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
        self._watch_tasks = []

    def poke(self) -> None:
        """Ask for a sync (for changes the store does not see, such as a new namespace)."""
        self._dirty.set()

    async def wait_applied(self, resource_version: int | str | None = None) -> None:
        """Wait until a sync that started at or after `resource_version` has completed."""
        target = int(resource_version or self.store.resource_version)
        async with self._synced:
            await self._synced.wait_for(lambda: self.applied >= target)

    async def _follow(self, watcher: Watcher) -> None:
        resource = watcher.resource
        try:
            while True:
                async for _ in watcher:
                    self._dirty.set()
                if not watcher.overflowed:
                    return  # closed: the store is shutting down
                # It fell behind: watch again and re-sync from a full list.
                watcher = self.store.watch(resource)
                self._dirty.set()
        finally:
            watcher.close()

    async def _loop(self) -> None:
        while True:
            await self._dirty.wait()
            await self._sync_once()

    async def _sync_once(self) -> None:
        self._dirty.clear()
        started = int(self.store.resource_version)
        try:
            await self.sync()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sandbox %s: sync failed; retrying on the next change", self.name)
            await asyncio.sleep(0.5)
            self._dirty.set()
            return
        self.syncs += 1
        async with self._synced:
            self.applied = max(self.applied, started)
            self._synced.notify_all()
