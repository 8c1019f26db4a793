"""What every tab beside the browser is: a debug shell or a capture, closed the same way.

The workspace lays panes out, marks them and broadcasts to them; the quit sequence closes
them and names what they leave behind. Each kind says how through these few members.
"""

from __future__ import annotations

import contextlib

from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.worker import WorkerCancelled, WorkerFailed

from retina_tui.ui.failures import ReportsWorkerFailures


class Pane(ReportsWorkerFailures, Vertical):
    """A tab's content: a title, a label for the tab bar, and a way to close it."""

    DEFAULT_CSS = """
    Pane { width: 1fr; height: 1fr; }
    Pane > .pane-title { height: 1; background: $panel; padding: 0 1; }
    Pane:focus-within > .pane-title { background: $primary; color: $text; }
    Pane > .pane-status { height: 1; background: $boost; padding: 0 1; color: $text-muted; }
    Pane.-failed > .pane-status { color: $error; text-style: bold; }
    """

    marked: reactive[bool] = reactive(False)
    broadcasting: reactive[bool] = reactive(False)

    class Changed(Message):
        """The title, phase or mark changed: the tab label must follow."""

        def __init__(self, pane: Pane) -> None:
            super().__init__()
            self.pane = pane

    class Typed(Message):
        """Bytes typed into this pane while broadcast is on."""

        def __init__(self, pane: Pane, data: bytes) -> None:
            super().__init__()
            self.pane = pane
            self.data = data

    title: str = ""
    closing: bool = False

    @property
    def label(self) -> str:
        return self.title

    @property
    def focus_target(self) -> Widget:
        """The widget that takes the keys when the pane is shown."""
        return self

    @property
    def starting(self) -> bool:
        """Whether the pane is still creating what it runs in (a close must cancel that)."""
        return False

    def left_pods(self) -> tuple[tuple[str, str], ...]:
        """(namespace, name) of the pods this pane created and has not deleted yet."""
        return ()

    def send(self, data: bytes) -> None:
        """Input broadcast from another pane; a pane without input ignores it."""

    async def close_session(self) -> None:
        """End what the pane runs and delete what it created (SessionError if that failed)."""
        self.closing = True

    def show_error(self, message: str) -> None:
        """Say on the pane that its work failed."""

    async def stop_workers(self) -> None:
        """Cancel the workers this pane started and wait until they have ended."""
        for worker in list(self.app.workers):
            if worker.node is self:
                worker.cancel()
                with contextlib.suppress(WorkerCancelled, WorkerFailed):
                    await worker.wait()
