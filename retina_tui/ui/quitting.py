"""The app's way out: one sequence for the quit key, the error screen, signals and crashes.

Every way out ends in `finish`: the cluster task is told to stop, which closes every
session (deleting node pods), stops the supervisor (deleting the Lease) and, for the
demo, the embedded cluster; it gets `ui.shutdown_timeout_seconds`. Meanwhile this keeps
track of what is not removed yet, so that a second signal can say it and a cleanup cut
short (by the bound or a third signal) can leave the `retina-tui gc` advice on stderr.
The generic parts (signal handlers, messages, the runner) are in `ui/shutdown.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import TYPE_CHECKING

from textual.worker import WorkerCancelled, WorkerFailed

from retina_tui.errors import RetinaTuiError
from retina_tui.ui.shutdown import (
    EXIT_OK,
    Remaining,
    SignalHandlers,
    left_behind,
    signal_status,
    still_removing,
    stop_within,
)

if TYPE_CHECKING:
    from retina_tui.ui.app import RetinaApp
    from retina_tui.ui.pane import Pane


class Quitting:
    """Quit requests, their exit status, and what the cleanup has not removed yet."""

    def __init__(self, app: RetinaApp, *, embedded: bool) -> None:
        self.app = app
        self.embedded = embedded
        """The app runs the demo's embedded cluster, which ends with the process."""
        self.cluster: asyncio.Task[None] | None = None
        """The app's connection (and embedded cluster): what has to end before leaving."""
        self.started = False
        self.status = EXIT_OK
        self.lease_namespaces: set[str] = set()
        """Where the supervisor holds this instance's Lease (until it has stopped)."""
        self.ended: set[Pane] = set()
        """Panes whose session has been closed, successfully or not."""
        self.lines: list[str] = []
        """What to say on stderr once the screen is restored."""
        self.signals = SignalHandlers(self.on_signal)
        self._requests = 0
        self._first_signal: int | None = None
        self._deadline: float | None = None
        self._abandon = asyncio.Event()
        self._gave_up = False

    def quit(self, status: int, report: str = "") -> None:
        """Leave with exit status `status` once every session is closed (bounded); a quit
        by key, command or error screen, or the first signal."""
        self._requests = max(self._requests, 1)
        if self.started:
            return
        self.started = True
        self.status = status
        if report:
            self.lines.append(report)
        app = self.app
        if not app.is_running:
            return  # Textual is already closing the app; its unmount finishes the cleanup
        count = len(app.workspace.panes)
        if count:
            app.notify(f"Closing {count} session(s)…", timeout=5)
        app.run_worker(self._leave(), name="quit", group="shutdown", exit_on_error=False)

    async def _leave(self) -> None:
        await self.finish()
        self.app.exit(return_code=self.status)

    def on_signal(self, signum: int) -> None:
        """SIGINT, SIGTERM, SIGHUP: quit; again: say what is left to do; a third time: leave."""
        app = self.app
        if self._first_signal is None:
            self._first_signal = signum
            self.status = signal_status(signum)
        if signum == signal.SIGHUP:
            app.terminal_hung_up()
        if not self.started:
            self.quit(self.status)
            return
        self._requests += 1
        if self._requests == 2:
            message = still_removing(self.remaining())
            self.lines.append(message)
            if app.is_running:
                app.notify(message, severity="warning", timeout=30)
        else:
            self._abandon.set()

    async def close(self, pane: Pane) -> None:
        """Close one session (SessionError if its removal failed) and remember it ended."""
        try:
            if pane.starting:
                # Stopping a start removes what it made so far; a close alone would race
                # a create still on its way.
                for worker in self.app.workers.cancel_group(pane, "session"):
                    with contextlib.suppress(WorkerCancelled, WorkerFailed):
                        await worker.wait()
            await pane.close_session()
        finally:
            self.ended.add(pane)

    def cluster_ended(self, task: asyncio.Task[None]) -> None:
        """The connection ended: its error becomes a notification, a report line or a crash."""
        if task.cancelled() or task.exception() is None:
            return
        app, error = self.app, task.exception()
        if isinstance(error, RetinaTuiError) and (self.started or not app.is_running):
            self.lines.append(str(error))
        elif isinstance(error, RetinaTuiError):
            app.notify(str(error), severity="error", timeout=10)
        elif app.is_running:
            app.call_later(_reraise, error)  # a bug: fail loudly, as any handler would
        else:
            self.lines.append(f"Unexpected error while cleaning up: {error!r}")

    async def finish(self) -> None:
        """Let the cluster task end everything within the bound; past it, or on a third
        signal, say what is left and stop waiting."""
        task = self.cluster
        if task is None or task.done() or self._gave_up:
            return
        self.started = True
        self.app.reconnect()  # the cluster task sees `started` and stops
        loop = asyncio.get_running_loop()
        timeout = self.app.settings.ui.shutdown_timeout_seconds
        if self._deadline is None:
            self._deadline = loop.time() + timeout
        abandon = asyncio.create_task(self._abandon.wait(), name="retina-tui-abandon")
        try:
            await asyncio.wait(
                {task, abandon},
                timeout=max(0.0, self._deadline - loop.time()),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            abandon.cancel()
            await asyncio.wait({abandon})
        if task.done():
            return
        self._gave_up = True
        if self._abandon.is_set():
            self._left_behind("Left at once on a third signal")
        else:
            self._left_behind(f"Cleanup did not finish within {timeout:g} s")
        await stop_within(task, 0.5)

    def remaining(self) -> Remaining:
        """What the cleanup has not removed yet."""
        app = self.app
        panes = [pane for pane in app.workspace.panes if pane not in self.ended]
        leases: tuple[tuple[str, str], ...] = ()
        if app.instance_id is not None and self.lease_namespaces:
            from retina_tui.supervisor.ownership import lease_name

            name = lease_name(app.instance_id)
            leases = tuple((ns, name) for ns in sorted(self.lease_namespaces))
        return Remaining(
            pods=tuple(pod for pane in panes for pod in pane.left_pods()),
            leases=leases,
            sessions=len(panes),
            embedded_cluster=self.embedded and task_running(self.cluster),
        )

    def _left_behind(self, why: str) -> None:
        app = self.app
        if self.embedded:
            return  # the embedded cluster, and whatever was in it, ends with the process
        from retina_tui.supervisor.lease import lease_duration
        from retina_tui.supervisor.ownership import STALE_INTERVALS

        renew = app.settings.supervisor.renew_interval_seconds
        message = left_behind(
            self.remaining(),
            why=why,
            kubeconfig=app.kubeconfig,
            context=app.context_name,
            stale_seconds=STALE_INTERVALS * lease_duration(renew),
        )
        if message:
            self.lines.append(message)


def task_running(task: asyncio.Task[None] | None) -> bool:
    return task is not None and not task.done()


def _reraise(error: BaseException) -> None:
    raise error
