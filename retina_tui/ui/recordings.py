"""The Recordings screen: the session recordings in the recordings directory, newest first.

Each row shows the file's name, how long the recording lasts and its size; Enter answers
with the file, which the app then replays in a read-only tab. Durations come from each
file's header and last line (`terminal.asciicast.list_casts`), read off the event loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from retina_tui.terminal.asciicast import CastInfo, list_casts
from retina_tui.ui.keybar import KeyBar

COLUMNS = ("Name", "Duration", "Size", "Session")


def format_duration(seconds: float | None) -> str:
    """`12.3s`, `4m05s`, `1h02m`; `?` for a file that is not a readable recording."""
    if seconds is None:
        return "?"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def format_size(size: int) -> str:
    """`812 B`, `4.2 KB`, `1.5 MB` (powers of 1024)."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


class RecordingsScreen(ModalScreen[Path | None]):
    """Pick a recording to replay."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "cancel", "Close"),
        Binding("r", "reload", "Reload"),
    ]

    DEFAULT_CSS = """
    RecordingsScreen { align: center middle; }
    RecordingsScreen > Vertical {
        width: 110; max-width: 95%; height: 80%; border: thick $primary; background: $surface;
    }
    RecordingsScreen .recordings-title { padding: 0 1; text-style: bold; }
    RecordingsScreen .recordings-hint { padding: 0 1; color: $text-muted; }
    RecordingsScreen DataTable { height: 1fr; }
    """

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory
        self.infos: list[CastInfo] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Recordings in {self.directory}", classes="recordings-title")
            table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True)
            table.add_columns(*COLUMNS)
            yield table
            yield Static("reading…", classes="recordings-hint")
        yield KeyBar()

    @property
    def table(self) -> DataTable[str]:
        return self.query_one(DataTable)

    def on_mount(self) -> None:
        self.table.focus()
        self._load()

    @work(exclusive=True, group="recordings", exit_on_error=False)
    async def _load(self) -> None:
        infos = await asyncio.to_thread(list_casts, self.directory)
        self.infos = infos
        table = self.table
        table.clear()
        for info in infos:
            table.add_row(
                info.path.name,
                format_duration(info.duration),
                format_size(info.size),
                info.title,
                key=str(info.path),
            )
        hint = self.query_one(".recordings-hint", Static)
        if infos:
            hint.update("enter replays the recording in a tab · r reloads · escape closes")
        else:
            hint.update(
                "No recordings yet: ctrl+b R in a session tab records it, and "
                "recording.dir in the settings records every session."
            )

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.dismiss(Path(event.row_key.value))

    def action_reload(self) -> None:
        self._load()

    def action_cancel(self) -> None:
        self.dismiss(None)
