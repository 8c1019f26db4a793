"""The life of a one-shot command: its signals, its client and its cleanup supervisor.

`Interrupts` turns SIGINT, SIGTERM and SIGHUP into either a command's own first reaction
(a capture finishes its file) or a cancellation of the main task, remembers them for the
exit status (128 + the first signal), and removes its handlers on the way out.
`supervised_client` connects and runs the Lease supervisor beside the command's body, and
closes both whatever way the body ends.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from retina_tui.config import Settings
    from retina_tui.kube.client import KubeClient
    from retina_tui.kube.overrides import ConnectionOverrides
    from retina_tui.supervisor import Supervisor

SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupts:
    """Signal handlers for the running task; `first()` may handle the first signal itself
    (returning True), otherwise, and on any later signal, the task is cancelled."""

    def __init__(self, first: Callable[[], bool] | None = None) -> None:
        self.received: list[int] = []
        self._first = first
        self._task: asyncio.Task[object] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _on_signal(self, signum: int) -> None:
        self.received.append(signum)
        if len(self.received) == 1 and self._first is not None and self._first():
            return
        assert self._task is not None
        self._task.cancel()

    @property
    def exit_code(self) -> int:
        return 128 + self.received[0]

    def __enter__(self) -> Interrupts:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        for signum in SIGNALS:
            self._loop.add_signal_handler(signum, self._on_signal, signum)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._loop is not None
        for signum in SIGNALS:
            self._loop.remove_signal_handler(signum)


@asynccontextmanager
async def supervised_client(
    settings: Settings,
    *,
    kubeconfig: str | None,
    context: str | None,
    overrides: ConnectionOverrides,
    say: Callable[[str], None],
) -> AsyncIterator[tuple[KubeClient, Supervisor]]:
    """A connected client and its cleanup supervisor (problems told once through `say`)."""
    from retina_tui.kube.client import connect
    from retina_tui.supervisor import Supervisor

    logging.getLogger("retina_tui.supervisor").addHandler(logging.NullHandler())
    client = await connect(
        kubeconfig=kubeconfig, context=context, namespace=None, overrides=overrides
    )
    try:
        async with Supervisor(
            client, settings, on_problem=lambda text: say(f"note: {text}")
        ) as supervisor:
            yield client, supervisor
    finally:
        await client.close()
