"""Worker failures travel to the app, the one place that turns them into notifications.

Textual posts `Worker.StateChanged` only to the widget that owns the worker and does not
bubble it; widgets that own workers mix in `ReportsWorkerFailures`, which re-posts a
failure as a bubbling `WorkerFailed` message.
"""

from __future__ import annotations

from textual.dom import DOMNode
from textual.message import Message
from textual.widget import Widget
from textual.worker import Worker, WorkerState


class WorkerFailed(Message):
    """A worker of `widget` ended with `error`."""

    def __init__(self, widget: DOMNode, worker: Worker[object], error: BaseException) -> None:
        super().__init__()
        self.widget = widget
        self.worker = worker
        self.error = error


class ReportsWorkerFailures(Widget):
    """Forwards this widget's worker failures to the app."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.post_message(WorkerFailed(self, event.worker, event.worker.error))
