"""`Supervisor`: the heartbeat and the reaper as named tasks beside the TUI or the shell.

Used as `async with Supervisor(client, settings) as supervisor:`; the session engine
calls `await supervisor.ensure_lease(namespace)` before it creates a debug pod there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from types import TracebackType

from retina_tui.config import Settings
from retina_tui.errors import RetinaTuiError
from retina_tui.kube.client import KubeClient
from retina_tui.supervisor.api import ApiClient
from retina_tui.supervisor.lease import LeaseKeeper
from retina_tui.supervisor.ownership import STALE_INTERVALS, instance_id_from_env
from retina_tui.supervisor.reaper import Problem, Reaper, ReapResult

log = logging.getLogger("retina_tui.supervisor")
RENEW_TASK = "retina-tui-supervisor-renew"
REAP_TASK = "retina-tui-supervisor-reap"
RENEW_RETRY_SECONDS = 1.0


class Supervisor:
    """Holds this instance's Leases and reaps other instances' orphaned debug pods."""

    def __init__(
        self,
        client: ApiClient,
        settings: Settings,
        *,
        instance_id: str | None = None,
        namespaces: Sequence[str] | None = None,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        self.instance_id = instance_id or instance_id_from_env()
        self._settings = settings.supervisor
        self._client = client
        self._lease_client: KubeClient | None = None
        self._keeper = LeaseKeeper(
            client, self.instance_id, renew_interval=self._settings.renew_interval_seconds
        )
        extra = settings.debug.namespace
        self._reaper = Reaper(
            client,
            own_instance=self.instance_id,
            missing_lease_grace=STALE_INTERVALS * self._settings.renew_interval_seconds,
            namespaces=namespaces,
            extra_namespaces=lambda: [*self._keeper.namespaces, *([extra] if extra else [])],
        )
        self._on_problem = on_problem
        self._reported: set[str] = set()
        self.problems: list[str] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def ensure_lease(self, namespace: str) -> None:
        """Hold this instance's Lease in `namespace`; call before creating a debug pod there."""
        await self._keeper.ensure(namespace)

    async def reap_once(self) -> ReapResult:
        """One reconcile pass now; problems are reported once per process."""
        try:
            result = await self._reaper.reap()
        except RetinaTuiError as error:
            self._report(Problem(key=f"reap:{type(error).__name__}", message=str(error)))
            return ReapResult()
        for problem in result.problems:
            self._report(problem)
        return result

    def _report(self, problem: Problem) -> None:
        if problem.key in self._reported:
            return
        self._reported.add(problem.key)
        self.problems.append(problem.message)
        log.warning("%s", problem.message)
        if self._on_problem is not None:
            self._on_problem(problem.message)

    async def explain_deletion(self, namespace: str) -> str | None:
        """Who deleted this instance's debug pod in `namespace` (for a session's last words)."""
        return await self._keeper.explain_lapse(namespace)

    async def _renew_loop(self) -> None:
        interval = self._settings.renew_interval_seconds
        while True:
            await asyncio.sleep(
                min(interval, RENEW_RETRY_SECONDS) if self._keeper.failing else interval
            )
            await self._keeper.renew()

    async def _reap_loop(self) -> None:
        while True:
            await self.reap_once()
            await asyncio.sleep(self._settings.reap_interval_seconds)

    async def start(self) -> None:
        """Start the heartbeat and the reaper (the first reap runs at once)."""
        if self._tasks:
            return
        if isinstance(self._client, KubeClient) and self._lease_client is None:
            # The Lease goes over connections of its own, with a timeout well inside its
            # duration: a renewal must not wait behind, or hang on, the connections of
            # sessions and watches, or another instance's reaper would judge this one dead.
            interval = self._settings.renew_interval_seconds
            self._lease_client = self._client.dedicated(request_timeout=max(1.0, interval / 2))
            self._keeper.use_client(self._lease_client)
        self._tasks = [
            asyncio.create_task(self._renew_loop(), name=RENEW_TASK),
            asyncio.create_task(self._reap_loop(), name=REAP_TASK),
        ]

    async def stop(self) -> None:
        """Cancel and await both tasks, then release the Leases (a clean exit)."""
        tasks, self._tasks = self._tasks, []
        try:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            try:
                await self._keeper.release()
            finally:
                if self._lease_client is not None:
                    lease_client, self._lease_client = self._lease_client, None
                    self._keeper.use_client(self._client)
                    await lease_client.close()
        for outcome in results:
            if isinstance(outcome, BaseException) and not isinstance(
                outcome, asyncio.CancelledError
            ):
                raise outcome

    async def __aenter__(self) -> Supervisor:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
