"""One debug session on screen: its terminal, a title line and a status line.

The pane owns its session's lifetime (the `session` worker group), so removing the
pane cancels the stream. Keys typed into the terminal, resizes and broadcast input go
through one queue drained in order by the `session-input` worker, because the
session's `write` and `resize` are coroutines and their order matters.

A pane can record its session (asciicast v2, `terminal.asciicast`): from the start when
`recording.dir` is set, or from the record key on; a recording started mid-session
begins with the screen as it is, so it plays from there rather than from a blank screen.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from retina_tui.config import RecordingSettings
from retina_tui.sessions.specs import Phase
from retina_tui.terminal.asciicast import Recorder, RecordingError, prepare_dir, screen_output
from retina_tui.ui.pane import Pane
from retina_tui.ui.terminal_view import TerminalView

if TYPE_CHECKING:
    from pathlib import Path

    from retina_tui.sessions.session import Session

PHASE_GLYPH = {
    "creating": "◌",
    "waiting": "◌",
    "running": "●",
    "reconnecting": "↻",
    "exited": "■",
    "failed": "✖",
}

REC_MARK = "● REC"

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
    SessionPane.-recording > .pane-title { color: $text-error; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "R",
            "toggle_recording",
            "Record",
            id="record",
            tooltip="Start or stop recording this session (an asciicast file)",
        ),
    ]

    phase: reactive[Phase] = reactive(Phase("creating"), init=False)
    remote_title: reactive[str] = reactive("")
    recording: reactive[bool] = reactive(False, init=False)
    """Whether the session's output is being recorded (the tab shows ● REC)."""

    def __init__(
        self,
        session: Session,
        *,
        prefix_key: str = "ctrl+b",
        recording: RecordingSettings | None = None,
    ) -> None:
        super().__init__(id=f"session-{next(_ids)}")
        self.session = session
        self.title = session.title
        self.terminal = TerminalView(on_input=self._typed, prefix_key=prefix_key)
        self._queue: asyncio.Queue[bytes | tuple[int, int]] = asyncio.Queue()
        self._started = asyncio.Event()
        self.closing = False
        self.exit_code: int | None = None
        self.recording_settings = recording or RecordingSettings()
        self.recorder: Recorder | None = None
        self.recordings: list[Path] = []
        """Every recording this pane made, oldest first."""

    def compose(self) -> ComposeResult:
        yield Static(self.title, classes="pane-title")
        yield self.terminal
        yield Static("creating", classes="pane-status")

    def on_mount(self) -> None:
        self.session.on_output = self._output
        self.session.on_phase = self._phase_reported
        self._run()
        self._drain_input()

    def on_unmount(self) -> None:
        self.stop_recording(quiet=True)

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
        if self.recording_settings.dir is not None:
            # Before any output: the pump that delivers it has not run yet.
            self.start_recording(snapshot=False)
        self.exit_code = await self.session.wait()
        return self.exit_code

    def _output(self, data: bytes) -> None:
        self.terminal.feed(data)
        if self.recorder is not None:
            self.recorder.output(data)

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
        if self.recorder is not None:
            self.recorder.input(data)
        self._queue.put_nowait(data)

    def _typed(self, data: bytes) -> None:
        if self.broadcasting:
            self.post_message(self.Typed(self, data))
        else:
            self.send(data)

    @on(TerminalView.Resized)
    def _resized(self, event: TerminalView.Resized) -> None:
        event.stop()
        if self.recorder is not None:
            self.recorder.resize(event.cols, event.rows)
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
        try:
            await self.session.close()
        finally:
            self.stop_recording(quiet=True)

    # ---- recording --------------------------------------------------------------------

    def action_toggle_recording(self) -> None:
        """The record key: start recording (from the screen as it is) or stop."""
        if self.recorder is not None:
            self.stop_recording()
        elif self.session.phase.kind != "running":
            self.notify(
                f"{self.title}: only a running session can be recorded.", severity="warning"
            )
        else:
            self._start_when_drained()

    @work(exclusive=True, group="recording", exit_on_error=False)
    async def _start_when_drained(self) -> None:
        # The screen snapshot must hold every byte fed so far, and the recorder every byte
        # after it: wait until nothing is waiting to be emulated, then start at once.
        while True:
            await self.terminal.wait_drained()
            if not self.terminal.pending_bytes:
                break
        if self.session.phase.kind == "running" and self.recorder is None:
            self.start_recording(snapshot=True)

    def start_recording(self, *, snapshot: bool) -> Recorder | None:
        """Record from now on into the recordings directory; a notification if it cannot."""
        settings = self.recording_settings
        screen = self.terminal.terminal
        try:
            directory = prepare_dir(
                settings.directory(), advice="set recording.dir to a directory you can write to"
            )
            recorder = Recorder.create(
                directory,
                self.session.title,
                width=screen.cols,
                height=screen.rows,
                record_input=settings.input,
                on_error=self._recording_failed,
            )
        except RecordingError as error:
            self.notify(str(error), severity="error", timeout=10)
            return None
        if snapshot:
            recorder.output(screen_output(screen))
        self.recorder = recorder
        self.recordings.append(recorder.path)
        self.recording = True
        return recorder

    def stop_recording(self, *, quiet: bool = False) -> Path | None:
        """Close the recording, if one runs; its path."""
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return None
        recorder.close()
        if self.is_mounted:
            self.recording = False
        if not quiet and recorder.error is None:
            self.notify(f"Recorded {self.title} to {recorder.path}", timeout=6)
        return recorder.path

    def _recording_failed(self, error: RecordingError) -> None:
        self.recorder = None
        self.recording = False
        self.notify(str(error), severity="error", timeout=10)

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
        if self.recording:
            text += f" {REC_MARK}"
        return text

    def watch_phase(self, phase: Phase) -> None:
        if phase.kind in ("exited", "failed"):
            self.stop_recording()
        self.set_class(phase.kind == "failed", "-failed")
        self.query_one(".pane-status", Static).update(describe_phase(phase))
        self.post_message(self.Changed(self))

    def _update_title(self) -> None:
        if not self.is_mounted:
            return
        title = self.title + (f" — {self.remote_title}" if self.remote_title else "")
        if self.recording:
            title += f"  {REC_MARK}"
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

    def watch_recording(self, on: bool) -> None:
        self.set_class(on, "-recording")
        self._update_title()
