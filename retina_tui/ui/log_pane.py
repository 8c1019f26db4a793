"""A log tab: one or more containers' logs followed live, searched, paused, saved.

The follow runs in the pane's worker (`kube.logs.follow_many`), so closing the tab stops
it. Lines are batched to the view a few times a second rather than one by one. While
paused, lines are kept aside and counted, and shown on resume; the view never moves under
the user. `/` searches as you type (`n`/`N` between matches), `t` toggles timestamps,
`W` wrapping, `p` pause, `v` opens the previous run's log, `e` saves what is kept.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Static

from retina_tui.errors import ConfigError, RetinaTuiError
from retina_tui.kube.logs import LogLine, LogSource, follow_many
from retina_tui.ui.ask_dialog import AskDialog
from retina_tui.ui.log_view import LogView
from retina_tui.ui.pane import Pane

if TYPE_CHECKING:
    from retina_tui.kube.client import KubeClient

FLUSH_SECONDS = 0.1


class LogPane(Pane):
    """The followed logs of one or more containers."""

    DEFAULT_CSS = """
    LogPane > Input { display: none; height: 1; border: none; padding: 0 1; }
    LogPane.-searching > Input { display: block; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", id="log_search"),
        Binding("p", "pause", "Pause/resume", id="log_pause"),
        Binding("W", "wrap", "Wrap", id="log_wrap"),
        Binding("t", "timestamps", "Timestamps", id="log_timestamps"),
        Binding("v", "previous", "Previous run", id="log_previous"),
        Binding("e", "save", "Save…", id="log_save"),
    ]

    _ids = 0

    def __init__(
        self, client: KubeClient, sources: list[LogSource], *, follow: bool = True
    ) -> None:
        LogPane._ids += 1
        super().__init__(id=f"logs-{LogPane._ids}")
        self.sources = sources
        self._client = client
        self._follow = follow
        first = sources[0]
        if len(sources) == 1:
            self.title = f"logs {first.namespace}/{first.label}"
        else:
            self.title = f"logs {first.namespace}: {len(sources)} containers"
        if first.previous:
            self.title += " (previous)"
        self.paused = False
        self.state = "starting"
        self._pending: list[LogLine] = []
        self._held: list[LogLine] = []
        self._notes: dict[str, str] = {}
        self._flushed_at = 0.0

    def compose(self) -> ComposeResult:
        yield Static(self.title, classes="pane-title")
        yield LogView(prefixed=len(self.sources) > 1)
        yield Input(placeholder="search (enter keeps it, escape clears)", id="log-query")
        yield Static("reading the log…", classes="pane-status")

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    @property
    def focus_target(self) -> Widget:
        return self.view

    @property
    def label(self) -> str:
        glyph = {"starting": "◌", "following": "●", "ended": "■"}
        mark = "⏸ " if self.paused else ""
        return f"{mark}{glyph.get(self.state, '✖')} {self.title}"

    def on_mount(self) -> None:
        self._flusher = self.set_interval(FLUSH_SECONDS, self._flush, name="log-flush")
        self._pump()

    @work(exclusive=True, group="logs", exit_on_error=False)
    async def _pump(self) -> None:
        lines = follow_many(
            self._client,
            self.sources,
            follow=self._follow,
            on_status=self._status_of,
            on_error=self._failed_source,
            on_open=self._opened,
        )
        try:
            async for line in lines:
                if self.state == "starting":
                    self._set_state("following")
                self._pending.append(line)
        finally:
            await lines.aclose()
        self._flusher.stop()  # nothing more will come
        self._flush()
        self._set_state("ended")
        self._write_status()

    def _opened(self, source: LogSource) -> None:
        self._notes.pop(source.label, None)
        if self.state == "starting":
            self._set_state("following")
        self._write_status()

    def _status_of(self, source: LogSource, text: str) -> None:
        self._notes[source.label] = text
        self._write_status()

    def _failed_source(self, source: LogSource, error: RetinaTuiError) -> None:
        self._notes[source.label] = str(error)
        if len(self.sources) == 1:
            self.add_class("-failed")
        self._write_status()

    def _set_state(self, state: str) -> None:
        self.state = state
        self.post_message(self.Changed(self))

    def _flush(self) -> None:
        if not self._pending:
            return
        lines, self._pending = self._pending, []
        if self.paused:
            self._held.extend(lines)
        else:
            self.view.add(lines)
        self._write_status()

    def _write_status(self) -> None:
        if not self.is_mounted:
            return
        view = self.view
        parts = [f"{len(view.lines) + view.dropped} lines"]
        if view.dropped:
            parts.append(f"oldest {view.dropped} dropped")
        if self.paused:
            parts.append(f"paused, {len(self._held)} new (p resumes)")
        if view.search_text:
            parts.append(f"{view.match_count} matching {view.search_text!r} (n/N)")
        if view.wrap:
            parts.append("wrapped")
        if self.state == "ended":
            parts.append("ended")
        notes = [
            f"{label}: {text}" if len(self.sources) > 1 else text
            for label, text in self._notes.items()
        ]
        self.query_one(".pane-status", Static).update(" · ".join(parts + notes))

    # ---- keys ------------------------------------------------------------------------

    def action_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused and self._held:
            held, self._held = self._held, []
            self.view.add(held)
        self.post_message(self.Changed(self))
        self._write_status()

    class PreviousRequested(Message):
        """The user asked for the previous run's log of this tab's containers."""

        def __init__(self, sources: list[LogSource]) -> None:
            super().__init__()
            self.sources = sources

    def action_previous(self) -> None:
        if self.sources[0].previous:
            self.notify("This tab already shows the previous run's log.")
            return
        self.post_message(self.PreviousRequested(self.sources))

    def action_wrap(self) -> None:
        self.view.set_wrap(not self.view.wrap)
        self._write_status()

    def action_timestamps(self) -> None:
        self.view.set_timestamps(not self.view.timestamps)
        self._write_status()

    def action_search(self) -> None:
        self.add_class("-searching")
        box = self.query_one("#log-query", Input)
        box.value = self.view.search_text
        box.focus()

    @on(Input.Changed, "#log-query")
    def _query_changed(self, event: Input.Changed) -> None:
        self.view.search(event.value)
        self.view.action_next_match()
        self._write_status()

    @on(Input.Submitted, "#log-query")
    def _query_kept(self) -> None:
        self.remove_class("-searching")
        self.view.focus()

    def on_key(self, event: events.Key) -> None:
        box = self.query_one("#log-query", Input)
        if event.key == "escape" and box.has_focus:
            event.stop()
            box.value = ""
            self.remove_class("-searching")
            self.view.focus()

    def action_save(self) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = self.title.removeprefix("logs ").replace("/", "_").replace(" ", "_")
        name = name.replace(":", "").replace("(", "").replace(")", "")
        default = Path.cwd() / f"{name}-{stamp}.log"

        def chosen(path: str | None) -> None:
            if path:
                self._save(Path(path).expanduser())

        self.app.push_screen(
            AskDialog("Save the log as; enter saves, escape cancels:", str(default)), chosen
        )

    def _save(self, path: Path) -> None:
        try:
            path.write_text(self.view.text(), encoding="utf-8")
        except OSError as exc:
            error = ConfigError(
                f"Cannot save the log to {path}: {exc.strerror}; choose a file in a directory "
                "you can write to."
            )
            self.notify(str(error), severity="error", timeout=10)
            return
        self.notify(f"Saved {len(self.view.lines)} lines to {path}.")

    async def close_session(self) -> None:
        """Stop following; a log tab leaves nothing behind in the cluster."""
        self.closing = True
        await self.stop_workers()

    def show_error(self, message: str) -> None:
        self.add_class("-failed")
        self._notes["error"] = message
        self._write_status()
