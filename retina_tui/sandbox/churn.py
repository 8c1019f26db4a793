"""Background churn: throwaway pods created, relabelled and deleted at a steady rate.

Used by `--churn N` (events per second) to show watch-driven views under load; every
pod it touches lives in the `churn` namespace and is synthetic, so nothing is run.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from retina_tui.sandbox import seed
from retina_tui.sandbox.store import Obj, Store

NAMESPACE = "churn"
MAX_PODS = 50


class Churn:
    """Creates, labels and deletes pods in `churn` at `rate` events per second."""

    def __init__(
        self,
        store: Store,
        rate: float,
        nodes: list[str],
        node_ip: Callable[[str], str],
        delete_pod: Callable[[Obj], object],
    ) -> None:
        self.store = store
        self.rate = rate
        self.nodes = nodes
        self.node_ip = node_ip
        self.delete_pod = delete_pod
        self._serial = 0
        self._task: asyncio.Task[None] | None = None
        self._random = random.Random()

    def start(self) -> None:
        """Start the background task (no-op for a rate of 0)."""
        if self.rate <= 0:
            return
        if self.store.get("namespaces", None, NAMESPACE) is None:
            self.store.create("namespaces", seed.namespace(NAMESPACE, {}))
        self._task = asyncio.create_task(self._run(), name="sandbox-churn")

    async def stop(self) -> None:
        """Cancel the task and wait for it."""
        if self._task is None:
            return
        self._task.cancel()
        await asyncio.wait([self._task])
        self._task = None

    def step(self) -> None:
        """One change: create, relabel or delete a churn pod."""
        live = [
            p
            for p in self.store.list("pods", NAMESPACE)
            if not p["metadata"].get("deletionTimestamp")
        ]
        choice = self._random.random()
        if not live or (choice < 0.4 and len(live) < MAX_PODS):
            self._serial += 1
            seed.add_synthetic_pods(
                self.store,
                1,
                [self.nodes[self._serial % len(self.nodes)]],
                self.node_ip,
                namespace_name=NAMESPACE,
                prefix=f"churn-{self._serial}",
            )
        elif choice < 0.75:
            target = self._random.choice(live)["metadata"]["name"]

            def relabel(obj: Obj) -> None:
                obj["metadata"].setdefault("labels", {})["generation"] = str(self._serial)

            self._serial += 1
            self.store.mutate("pods", NAMESPACE, target, relabel)
        else:
            self.delete_pod(self._random.choice(live))

    async def _run(self) -> None:
        interval = 1.0 / self.rate
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            self.step()
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))
