"""A capture tab: a pod's or node's packets listed live, saved to pcapng with one key.

The capture engine (`capture.run`) writes every packet to a file of the tab's own, removed
when the tab closes; the list shows a summary of each with pod and node names for the IPs.
Saving copies that file, so it can be saved while the capture runs and again after it ends.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Static
from textual.worker import WorkerCancelled, WorkerFailed

from retina_tui.capture.pcapng import PcapngWriter
from retina_tui.capture.run import CaptureRun, CaptureTarget, Seen
from retina_tui.capture.summary import Summary, summarize
from retina_tui.capture.targets import HostSettings, host_opener
from retina_tui.errors import ConfigError
from retina_tui.sessions.command import close_all
from retina_tui.ui.ask_dialog import AskDialog
from retina_tui.ui.pane import Pane

if TYPE_CHECKING:
    from collections.abc import Callable

    from retina_tui.kube.client import KubeClient

SHOWN_LIMIT = 20_000
"""Rows kept in the list; the file keeps every packet."""
REFRESH_SECONDS = 0.25
COLUMNS = ("No.", "Time", "Interface", "Source", "Destination", "Protocol", "Info")


def _with_name(endpoint: str, ip: str, names: dict[str, str]) -> str:
    name = names.get(ip)
    if not name or not ip:
        return endpoint
    port = endpoint[len(ip) :].lstrip("]") if endpoint.startswith(ip) else ""
    return f"{name}{port}"


class CapturePane(Pane):
    """One capture of one target, listed live."""

    DEFAULT_CSS = """
    CapturePane > DataTable { height: 1fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("z", "stop", "Stop capture", id="capture_stop"),
        Binding("e", "save", "Save…", id="capture_save"),
    ]

    _ids = 0

    def __init__(
        self,
        client: KubeClient,
        target: CaptureTarget,
        hosts: HostSettings,
        *,
        names: Callable[[], dict[str, str]],
        bpf_filter: str = "",
    ) -> None:
        CapturePane._ids += 1
        super().__init__(id=f"capture-{CapturePane._ids}")
        self.title = f"capture {target.kind} {target.label}" + (
            f" [{bpf_filter}]" if bpf_filter else ""
        )
        self.target = target
        self._client = client
        self._hosts = hosts
        self._names = names
        self._filter = bpf_filter
        self._dir = Path(tempfile.mkdtemp(prefix="retina-tui-capture-"))
        self.path = self._dir / "capture.pcapng"
        self.run: CaptureRun | None = None
        self.state = "starting"
        self._pending: list[Seen] = []
        self._first_ts: int | None = None
        self._shown = 0
        self._started_at = time.monotonic()

    def compose(self) -> ComposeResult:
        yield Static(self.title, classes="pane-title")
        table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Static("starting the capture…", classes="pane-status")

    @property
    def table(self) -> DataTable[str]:
        return self.query_one(DataTable)

    @property
    def focus_target(self) -> Widget:
        return self.table

    @property
    def label(self) -> str:
        glyph = {"starting": "◌", "capturing": "●", "stopping": "◌", "stopped": "■"}
        return f"{glyph.get(self.state, '✖')} {self.title}"

    @property
    def starting(self) -> bool:
        return self.state == "starting"

    def left_pods(self) -> tuple[tuple[str, str], ...]:
        if self.run is None:
            return ()
        return tuple(
            (host.namespace, host.pod)
            for host in self.run.hosts
            if host.session is not None and not host.session.ephemeral
        )

    def on_mount(self) -> None:
        self._capture()
        self.set_interval(REFRESH_SECONDS, self._refresh_rows, name="capture rows")

    # ---- the capture ------------------------------------------------------------------

    @work(exclusive=True, group="session", exit_on_error=False)
    async def _capture(self) -> None:
        file = self.path.open("wb")
        try:
            writer = PcapngWriter(
                file,
                comments=[
                    f"cluster: {self._client.server}",
                    f"context: {self._client.context}",
                    f"filter: {self._filter or '(none)'}",
                    f"target: {self.target.description}",
                ],
                application="retina-tui",
            )
            self.run = CaptureRun(
                writer,
                [self.target],
                host_opener(self._client, self._hosts),
                bpf_filter=self._filter,
                on_packet=self._seen,
                on_started=lambda _target: self._set_state("capturing"),
            )
            try:
                await self.run.run()
            finally:
                await close_all(self.run.hosts)
        finally:
            file.close()
            self._refresh_rows()
            self._finished()

    def _seen(self, seen: Seen) -> None:
        self._pending.append(seen)

    def _finished(self) -> None:
        run = self.run
        result = run.results[0] if run is not None else None
        if result is not None and result.error:
            self.state = "failed"
            self.show_error(result.error)
        else:
            self._set_state("stopped")

    def _set_state(self, state: str) -> None:
        self.state = state
        self._write_status()
        self.post_message(self.Changed(self))

    def _refresh_rows(self) -> None:
        pending, self._pending = self._pending, []
        if pending and self.is_mounted:
            names = self._names()
            room = max(0, SHOWN_LIMIT - self._shown)
            rows = [self._row(seen, names) for seen in pending[:room]]
            if rows:
                self.table.add_rows(rows)
        if self.state in ("capturing", "stopping", "stopped"):
            self._write_status()

    def _row(self, seen: Seen, names: dict[str, str]) -> tuple[str, ...]:
        self._shown += 1
        if self._first_ts is None:
            self._first_ts = seen.ts_ns
        summary: Summary = summarize(seen.linktype, seen.data)
        return (
            str(self._shown),
            f"{(seen.ts_ns - self._first_ts) / 1e9:.6f}",
            self.target.label,
            _with_name(summary.source, summary.source_ip, names),
            _with_name(summary.destination, summary.destination_ip, names),
            summary.protocol,
            summary.info,
        )

    def _write_status(self) -> None:
        if not self.is_mounted or self.state == "failed":
            return
        run = self.run
        packets = run.packets_written if run is not None else 0
        size = run.bytes_written if run is not None else 0
        shown = f" (list shows the first {SHOWN_LIMIT})" if packets > SHOWN_LIMIT else ""
        dropped = ""
        if run is not None and run.results[0].dropped is not None:
            dropped = f" · {run.results[0].dropped} dropped by kernel"
        keys = "z stop · e save" if self.state == "capturing" else "e save · x close"
        self.query_one(".pane-status", Static).update(
            f"{self.state}: {packets} packets{shown}, {size / 1000:.1f} kB{dropped} · {keys}"
        )

    def show_error(self, message: str) -> None:
        self.add_class("-failed")
        self.query_one(".pane-status", Static).update(f"failed: {message}")
        self.post_message(self.Changed(self))

    # ---- keys -------------------------------------------------------------------------

    def action_stop(self) -> None:
        if self.run is not None and self.state == "capturing":
            self._set_state("stopping")
            self.run.stop("stopped")

    def action_save(self) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = self.target.label.replace("/", "_").replace(":", "_")
        default = Path.cwd() / f"{name}-{stamp}.pcapng"

        def chosen(path: str | None) -> None:
            if path:
                self._save(Path(path).expanduser())

        question = "Save the capture as (pcapng); enter saves, escape cancels:"
        self.app.push_screen(AskDialog(question, str(default)), chosen)

    def _save(self, path: Path) -> None:
        if self.run is not None:
            self.run.flush()
        try:
            shutil.copyfile(self.path, path)
        except OSError as exc:
            error = ConfigError(
                f"Cannot save the capture to {path}: {exc.strerror}; choose a file in a "
                "directory you can write to."
            )
            self.notify(str(error), severity="error", timeout=10)
            return
        packets = self.run.packets_written if self.run is not None else 0
        self.notify(f"Saved {packets} packets to {path}.")

    async def close_session(self) -> None:
        """Stop the capture, delete its node pod, remove the tab's own file."""
        self.closing = True
        try:
            if self.run is not None:
                self.run.stop("closed")
            for worker in list(self.app.workers):
                if worker.node is self and worker.group == "session":
                    # Its own failure was reported when it happened.
                    with contextlib.suppress(WorkerCancelled, WorkerFailed):
                        await worker.wait()
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)
