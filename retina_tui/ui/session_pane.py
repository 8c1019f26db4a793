"""One debug session on screen: its terminal, a title line and a status line.

The pane owns its session's lifetime (the `session` worker group), so removing the
pane cancels the stream. Keys typed into the terminal, resizes and broadcast input go
through one queue drained in order by the `session-input` worker, because the
session's `write` and `resize` are coroutines and their order matters.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from retina_tui.sessions.specs import Phase
from retina_tui.ui.pane import Pane
from retina_tui.ui.terminal_view import TerminalView

if TYPE_CHECKING:
    from retina_tui.sessions.session import Session

PHASE_GLYPH = {
    "creating": "◌",
    "waiting": "◌",
    "running": "●",
    "reconnecting": "↻",
    "exited": "■",
    "failed": "✖",
}

_ids = itertools.count(1)


def describe_phase(phase: Phase) -> str:
    """The status line's words for a phase."""
    if phase.kind == "exited":
        return f"exited with code {phase.exit_code}"
    if phase.kind == "failed":
        return f"failed: {phase.detail}" if phase.detail else "failed"
    return f"{phase.kind}: {phase.detail}" if phase.detail else phase.kind


class SessionPane(Pane):
    """A terminal bound to one Session, with its title and phase."""

    DEFAULT_CSS = """
    SessionPane { width: 1fr; height: 1fr; }
    SessionPane > .pane-title { height: 1; background: $panel; padding: 0 1; }
    SessionPane:focus-within > .pane-title { background: $primary; color: $text; }
    SessionPane.-marked > .pane-title { text-style: bold; }
    SessionPane.-broadcasting > .pane-title { background: $error; color: $text; }
    SessionPane > .pane-status { height: 1; background: $boost; padding: 0 1; color: $text-muted; }
    SessionPane.-failed > .pane-status { color: $error; text-style: bold; }
    """

    phase: reactive[Phase] = reactive(Phase("creating"), init=False)
    remote_title: reactive[str] = reactive("")

    def __init__(self, session: Session, *, prefix_key: str = "ctrl+b") -> None:
        super().__init__(id=f"session-{next(_ids)}")
        self.session = session
        self.title = session.title
        self.terminal = TerminalView(on_input=self._typed, prefix_key=prefix_key)
        self._queue: asyncio.Queue[bytes | tuple[int, int]] = asyncio.Queue()
        self._started = asyncio.Event()
        self.closing = False
        self.exit_code: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(self.title, classes="pane-title")
        yield self.terminal
        yield Static("creating", classes="pane-status")

    def on_mount(self) -> None:
        self.session.on_output = self.terminal.feed
        self.session.on_phase = self._phase_reported
        self._run()
        self._drain_input()

    @property
    def focus_target(self) -> Widget:
        return self.terminal

    @property
    def starting(self) -> bool:
        return self.session.phase.kind in ("creating", "waiting")

    def left_pods(self) -> tuple[tuple[str, str], ...]:
        session = self.session
        if session.ephemeral or not session.pod:
            return ()
        return ((session.namespace, session.pod),)

    # ---- the session ------------------------------------------------------------------

    def _phase_reported(self, phase: Phase) -> None:
        self.phase = phase

    @work(exclusive=True, group="session", exit_on_error=False)
    async def _run(self) -> int:
        """Start the session, then wait for its shell to end (errors reach the app)."""
        await self.session.start()
        self._started.set()
        self.exit_code = await self.session.wait()
        return self.exit_code

    @work(exclusive=True, group="session-input", exit_on_error=False)
    async def _drain_input(self) -> None:
        await self._started.wait()
        while True:
            item = await self._queue.get()
            if isinstance(item, tuple):
                await self.session.resize(*item)
            else:
                await self.session.write(item)

    def send(self, data: bytes) -> None:
        """Queue bytes for the remote shell (typed here or broadcast from another pane)."""
        self._queue.put_nowait(data)

    def _typed(self, data: bytes) -> None:
        if self.broadcasting:
            self.post_message(self.Typed(self, data))
        else:
            self.send(data)

    @on(TerminalView.Resized)
    def _resized(self, event: TerminalView.Resized) -> None:
        event.stop()
        self._queue.put_nowait((event.cols, event.rows))

    @on(TerminalView.TitleChanged)
    def _title_changed(self, event: TerminalView.TitleChanged) -> None:
        event.stop()
        self.remote_title = event.title

    @on(TerminalView.InputProduced)
    def _input_produced(self, event: TerminalView.InputProduced) -> None:
        event.stop()
        self.send(event.data)

    async def close_session(self) -> None:
        """End the shell and delete what it created; raises SessionError if that failed."""
        self.closing = True
        await self.session.close()

    def show_error(self, message: str) -> None:
        """Put an error in the status line (the engine's words)."""
        self.add_class("-failed")
        self.query_one(".pane-status", Static).update(f"failed: {message}")

    # ---- looks ------------------------------------------------------------------------

    @property
    def label(self) -> str:
        """The tab label: glyph, title, remote title, mark."""
        text = f"{PHASE_GLYPH.get(self.phase.kind, '?')} {self.title}"
        if self.remote_title:
            text += f" — {self.remote_title}"
        if self.marked:
            text = "◆ " + text
        return text

    def watch_phase(self, phase: Phase) -> None:
        self.set_class(phase.kind == "failed", "-failed")
        self.query_one(".pane-status", Static).update(describe_phase(phase))
        self.post_message(self.Changed(self))

    def _update_title(self) -> None:
        if not self.is_mounted:
            return
        title = self.title + (f" — {self.remote_title}" if self.remote_title else "")
        if self.broadcasting:
            title = "BROADCAST ▶ " + title
        elif self.marked:
            title = "◆ marked for broadcast · " + title
        self.query_one(".pane-title", Static).update(title)
        self.post_message(self.Changed(self))

    def watch_marked(self, marked: bool) -> None:
        self.set_class(marked, "-marked")
        self._update_title()

    def watch_broadcasting(self, on: bool) -> None:
        self.set_class(on, "-broadcasting")
        self._update_title()

    def watch_remote_title(self) -> None:
        self._update_title()
