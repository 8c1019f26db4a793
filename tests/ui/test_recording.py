"""Recording in the interface against the sandbox: the record key in a session tab, the
config default, the Recordings screen and the replay tab."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from retina_tui.config import RecordingSettings, Settings
from retina_tui.sandbox import Sandbox
from retina_tui.terminal.asciicast import Recorder, read_cast, replay
from retina_tui.ui.app import RetinaApp
from retina_tui.ui.recordings import RecordingsScreen
from retina_tui.ui.replay_pane import ReplayPane
from retina_tui.ui.session_pane import REC_MARK, SessionPane
from tests.ui.conftest import (
    SIZE,
    app_for,
    loaded,
    open_pod_session,
    quit_app,
    screen_text,
    type_line,
    wait_until,
)


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user data directory (where recordings go by default), inside the test's tmp."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data" / "retina-tui" / "recordings"


def tab_label(app: RetinaApp, pane: SessionPane) -> str:
    return str(app.workspace.tabs.query_one(f"#{pane.id}").label)


async def open_recordings(pilot: Pilot[None], app: RetinaApp) -> RecordingsScreen:
    """From the browser, through the command palette."""
    await pilot.press("ctrl+b", "0")
    await pilot.press("ctrl+p")
    await pilot.pause(0.2)
    await pilot.press(*"recordings")
    await pilot.pause(0.5)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, RecordingsScreen), "the screen")
    screen = app.screen
    assert isinstance(screen, RecordingsScreen)
    await wait_until(pilot, lambda: bool(screen.infos), "the recordings list")
    await pilot.pause()
    return screen


async def test_the_record_key_records_and_the_recording_replays(
    live_sandbox: Sandbox, data_home: Path
) -> None:
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        pane = await open_pod_session(pilot, app, "shop", "web")
        await type_line(pilot, "echo before-recording")
        await wait_until(pilot, lambda: "\nbefore-recording" in screen_text(pane), "before")
        assert REC_MARK not in pane.label

        await pilot.press("ctrl+b", "R")
        await wait_until(pilot, lambda: pane.recording, "the recording to start")
        assert REC_MARK in pane.label and REC_MARK in tab_label(app, pane)
        assert REC_MARK in str(pane.query_one(".pane-title").render())
        await type_line(pilot, "printf 'recorded-%s\\n' line")
        await wait_until(pilot, lambda: "\nrecorded-line" in screen_text(pane), "the output")
        await pilot.pause(0.3)  # the prompt after it
        await pane.terminal.wait_drained()
        await pilot.press("ctrl+b", "R")
        await wait_until(pilot, lambda: not pane.recording, "the recording to stop")
        assert REC_MARK not in pane.label and REC_MARK not in tab_label(app, pane)
        live = pane.terminal.terminal.display_text()

        [path] = pane.recordings
        assert path.parent == data_home and path.name.endswith("-pod-shop-web.cast")
        cast = read_cast(path)
        assert (cast.header.width, cast.header.height) == (
            pane.terminal.terminal.cols,
            pane.terminal.terminal.rows,
        )
        assert {code for _, code, _ in cast.events} <= {"o", "r"}  # input is off by default
        assert "recorded-line" in cast.output()
        # It starts from the screen as it was, so it plays to the screen as it is.
        assert "before-recording" in cast.output()
        assert replay(path).display_text() == live

        screen = await open_recordings(pilot, app)
        assert screen.table.get_row_at(0)[0] == path.name
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: any(isinstance(p, ReplayPane) for p in app.workspace.panes), "replay"
        )
        replaying = next(p for p in app.workspace.panes if isinstance(p, ReplayPane))
        await pilot.press("space")  # paused before it got far
        await wait_until(pilot, lambda: replaying.state == "paused", "the pause")
        position = replaying.position
        await pilot.pause(1.2)
        assert replaying.state == "paused" and replaying.position == position
        await pilot.press("space")
        await wait_until(pilot, lambda: replaying.state == "ended", "the end of the replay", 30)
        assert replaying.view.terminal.display_text() == live
        assert "ended" in str(replaying.query_one(".pane-status").render())
        assert "■" in replaying.label
        await pilot.press("x")  # no prefix needed: the replay takes no input
        await wait_until(pilot, lambda: replaying not in app.workspace.panes, "the tab to close")
        assert path.exists()
        await quit_app(pilot, app, "ctrl+b", "q")


async def test_recording_dir_in_the_settings_records_every_session(
    live_sandbox: Sandbox, tmp_path: Path
) -> None:
    directory = tmp_path / "every"
    settings = Settings(recording=RecordingSettings(dir=directory, input=True))
    app = app_for(live_sandbox, settings)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        pane = await open_pod_session(pilot, app, "shop", "web")
        assert pane.recording and REC_MARK in pane.label
        await type_line(pilot, "echo auto-''recorded")
        await wait_until(pilot, lambda: "\nauto-recorded" in screen_text(pane), "the output")
        await pilot.press("ctrl+b", "x")
        await wait_until(pilot, lambda: not app.workspace.panes, "the tab to close")
        await quit_app(pilot, app, "q")
    [path] = list(directory.glob("*.cast"))
    assert pane.recordings == [path]
    cast = read_cast(path)
    assert "auto-recorded" in cast.output()
    typed = "".join(text for _, code, text in cast.events if code == "i")
    assert "echo auto-''recorded\r" in typed  # recording.input = true


async def test_the_recordings_screen_lists_newest_first(
    browse_sandbox: Sandbox, tmp_path: Path
) -> None:
    directory = tmp_path / "list"
    directory.mkdir()
    clock = [0.0]
    old = Recorder(directory / "old.cast", width=80, height=24, clock=lambda: clock[0])
    old.output(b"x")
    clock[0] = 75.0
    old.output(b"y")
    old.close()
    os.utime(old.path, (1_000_000, 1_000_000))
    new = Recorder(directory / "new.cast", width=80, height=24, title="pod a/b")
    new.output(b"hi")
    new.close()
    (directory / "broken.cast").write_text("not a recording\n")
    os.utime(directory / "broken.cast", (500_000, 500_000))
    (directory / "notes.txt").write_text("")
    app = app_for(browse_sandbox, Settings(recording=RecordingSettings(dir=directory)))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        app.run_command("recordings")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordingsScreen), "the screen")
        screen = app.screen
        assert isinstance(screen, RecordingsScreen)
        await wait_until(pilot, lambda: len(screen.infos) == 3, "three rows")
        await pilot.pause()
        table: DataTable[str] = screen.table
        rows = [table.get_row_at(i) for i in range(3)]
        assert [r[0] for r in rows] == ["new.cast", "old.cast", "broken.cast"]
        assert rows[0][1] == "0.0s" and rows[0][3] == "pod a/b"
        assert rows[1][1] == "1m15s"
        assert rows[2][1] == "?"
        assert rows[0][2].endswith(" B")
        await pilot.press("down", "down", "enter")  # the broken one
        await wait_until(pilot, lambda: bool(app.workspace.panes), "the replay tab")
        pane = app.workspace.panes[0]
        assert isinstance(pane, ReplayPane)
        await wait_until(pilot, lambda: pane.state == "failed", "the failure")
        status = str(pane.query_one(".pane-status").render())
        assert "not an asciicast v2 recording: line 1 is not JSON" in status
        await quit_app(pilot, app, "q")
