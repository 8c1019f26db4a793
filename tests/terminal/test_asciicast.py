"""The asciicast v2 writer, parser and replay: header, events, UTF-8, permissions, input."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from retina_tui.terminal.asciicast import (
    Cast,
    CastError,
    Recorder,
    RecordingError,
    cast_info,
    list_casts,
    prepare_dir,
    read_cast,
    recording_name,
    replay,
    sanitize_title,
    screen_output,
)
from retina_tui.terminal.emulator import Terminal


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def lines(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def recorder(tmp_path: Path, **options: Any) -> tuple[Recorder, Clock]:
    clock = Clock()
    options.setdefault("title", "pod shop/web")
    rec = Recorder(tmp_path / "a.cast", width=80, height=24, clock=clock, **options)
    return rec, clock


def test_header_has_the_v2_keys_and_events_are_time_code_data(tmp_path: Path) -> None:
    rec, clock = recorder(
        tmp_path, env={"TERM": "xterm-256color", "SHELL": "/bin/bash", "HOME": "/root"}
    )
    clock.now += 0.5
    rec.output(b"$ ")
    clock.now += 0.25
    rec.resize(100, 30)
    rec.resize(100, 30)  # no change: no event
    clock.now += 1.0
    rec.output(b"ls\r\n")
    rec.close()
    header, *events = lines(rec.path)
    assert set(header) == {"version", "width", "height", "timestamp", "title", "env"}
    assert header["version"] == 2
    assert (header["width"], header["height"]) == (80, 24)
    assert isinstance(header["timestamp"], int)
    assert abs(header["timestamp"] - datetime.now(UTC).timestamp()) < 60
    assert header["title"] == "pod shop/web"
    assert header["env"] == {"TERM": "xterm-256color", "SHELL": "/bin/bash"}  # no HOME
    assert events == [[0.5, "o", "$ "], [0.75, "r", "100x30"], [1.75, "o", "ls\r\n"]]
    for event in events:
        assert isinstance(event[0], float)
    cast = read_cast(rec.path)
    assert cast.header.width == 80 and cast.header.title == "pod shop/web"
    assert cast.events == [(0.5, "o", "$ "), (0.75, "r", "100x30"), (1.75, "o", "ls\r\n")]
    assert cast.duration == 1.75


def test_a_multibyte_character_split_across_chunks_is_kept_whole(tmp_path: Path) -> None:
    rec, _ = recorder(tmp_path)
    data = "héllo wörld ✓ 漢字\r\n".encode()
    for i in range(len(data)):  # one byte at a time: every character is split
        rec.output(data[i : i + 1])
    rec.close()
    cast = read_cast(rec.path)
    assert cast.output() == "héllo wörld ✓ 漢字\r\n"
    assert "\ufffd" not in cast.output()


def test_invalid_bytes_become_replacement_characters(tmp_path: Path) -> None:
    rec, _ = recorder(tmp_path)
    rec.output(b"a\xffb")
    rec.output(b"c\xe2\x9c")  # a character cut off by the end of the session
    rec.close()
    assert read_cast(rec.path).output() == "a\ufffdbc\ufffd"


def test_the_file_is_created_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        rec, _ = recorder(tmp_path)
    finally:
        os.umask(old)
    rec.close()
    assert stat.S_IMODE(rec.path.stat().st_mode) == 0o600


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "a.cast").write_text("keep")
    with pytest.raises(RecordingError, match="Cannot create the recording"):
        recorder(tmp_path)
    assert (tmp_path / "a.cast").read_text() == "keep"


def test_input_is_not_recorded_unless_asked_for(tmp_path: Path) -> None:
    rec, _ = recorder(tmp_path)
    rec.input(b"hunter2\r")
    rec.output(b"ok")
    rec.close()
    assert [code for _, code, _ in read_cast(rec.path).events] == ["o"]
    assert "hunter2" not in rec.path.read_text()

    rec = Recorder(tmp_path / "b.cast", width=80, height=24, record_input=True)
    rec.input("é".encode()[:1])
    rec.input("é".encode()[1:])
    rec.close()
    assert [(c, t) for _, c, t in read_cast(rec.path).events] == [("i", "é")]


def test_every_line_is_on_disk_before_close(tmp_path: Path) -> None:
    rec, clock = recorder(tmp_path)
    rec.output(b"first\r\n")
    clock.now += 1
    rec.output(b"second")
    # A crash now leaves a file that reads as it is.
    assert read_cast(rec.path).output() == "first\r\nsecond"
    rec.close()


def test_clipboard_escapes_are_not_recorded(tmp_path: Path) -> None:
    rec, _ = recorder(tmp_path)
    rec.output(b"a\x1b]52;c;ZXZp")  # split inside the escape
    rec.output(b"bA==\x07b\x1b]0;title\x07")
    rec.close()
    text = read_cast(rec.path).output()
    assert "52;" not in text and "ZXZp" not in text
    assert text == "a\x1b\\b\x1b]0;title\x07"


def test_rebase_counts_from_the_shell_not_from_the_wait(tmp_path: Path) -> None:
    rec, clock = recorder(tmp_path)
    clock.now += 30  # the pod starts
    rec.rebase()
    clock.now += 0.5
    rec.output(b"$ ")
    rec.rebase()  # too late: events were written
    clock.now += 0.5
    rec.output(b"x")
    rec.close()
    assert [t for t, _, _ in read_cast(rec.path).events] == [0.5, 1.0]


def test_a_failed_write_ends_the_recording_not_the_caller(tmp_path: Path) -> None:
    errors: list[RecordingError] = []
    rec, _ = recorder(tmp_path, on_error=errors.append)

    class Full:
        def write(self, data: bytes) -> int:
            raise OSError(28, "No space left on device")

        def close(self) -> None:
            pass

    rec._file = Full()
    rec.output(b"lost")
    rec.output(b"ignored")
    rec.close()
    assert rec.closed
    assert len(errors) == 1 and errors[0] is rec.error
    assert "no space left on device" in str(rec.error)


def test_names_are_utc_timestamp_and_sanitized_title(tmp_path: Path) -> None:
    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert recording_name("pod shop/web", when) == "20240506T070809Z-pod-shop-web.cast"
    assert sanitize_title("node ../../etc — x") == "node-etc-x"
    assert sanitize_title("///") == "session"
    assert len(sanitize_title("x" * 500)) == 80
    first = Recorder.create(tmp_path, "pod shop/web", width=80, height=24, when=when)
    second = Recorder.create(tmp_path, "pod shop/web", width=80, height=24, when=when)
    first.close()
    second.close()
    assert first.path.name == "20240506T070809Z-pod-shop-web.cast"
    assert second.path.name == "20240506T070809Z-pod-shop-web-2.cast"


def test_prepare_dir_creates_the_directory_or_says_why_not(tmp_path: Path) -> None:
    made = prepare_dir(tmp_path / "a" / "b")
    assert made.is_dir() and list(made.iterdir()) == []
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    (tmp_path / "file").write_text("")
    with pytest.raises(RecordingError, match=r"Cannot record into .*file"):
        prepare_dir(tmp_path / "file")
    with pytest.raises(RecordingError, match="name a directory you can write to"):
        prepare_dir(tmp_path / "file" / "sub")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "is empty"),
        ("[1]\n", "line 1 is not a JSON object"),
        ('{"version": 1, "width": 80, "height": 24}\n', "line 1 has version 1, not 2"),
        ('{"version": 2, "height": 24}\n', "line 1 has width None"),
        ('{"version": 2, "width": 80, "height": 0}\n', "line 1 has height 0"),
        ('{"version": 2, "width": 80, "height": 24, "timestamp": "x"}\n', "timestamp 'x'"),
        ('{"version": 2, "width": 80, "height": 24, "env": {"TERM": 1}}\n', "env"),
        ('{"version": 2, "width": 80, "height": 24}\n[0.1, "o"]\n', "line 2 is not an event"),
        ('{"version": 2, "width": 80, "height": 24}\n[0.1, "x", ""]\n', "event code 'x'"),
        ('{"version": 2, "width": 80, "height": 24}\n["1", "o", ""]\n', "has time '1'"),
        ('{"version": 2, "width": 80, "height": 24}\n[0.1, "o", 5]\n', "has data 5"),
        ('{"version": 2, "width": 80, "height": 24}\n[0.1, "r", "80,24"]\n', "not COLSxROWS"),
        (
            '{"version": 2, "width": 80, "height": 24}\n[2, "o", "a"]\n[1, "o", "b"]\n',
            "line 3 goes back in time",
        ),
        ('{"version": 2, "width": 80, "height": 24}\n[0.1, "o", "a"\n', "line 2 is not JSON"),
        ('{"version": 2, "width": 80, "height": 24}\n\n[0.1, "o", "a"]\n', "line 2 is empty"),
    ],
)
def test_read_cast_says_what_is_wrong(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.cast"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CastError) as raised:
        read_cast(path)
    message = str(raised.value)
    assert problem in message
    assert str(path) in message and "\n" not in message


def test_read_cast_accepts_asciinemas_own_extras(tmp_path: Path) -> None:
    path = tmp_path / "x.cast"
    header = {
        "version": 2,
        "width": 80,
        "height": 24,
        "timestamp": 1700000000.5,
        "idle_time_limit": 2,
        "theme": {"fg": "#fff"},
    }
    path.write_text(json.dumps(header) + '\n[0, "o", "a"]\n[0.5, "m", ""]\n\n')
    cast = read_cast(path)
    assert cast.header.timestamp == 1700000000
    assert cast.header.raw["idle_time_limit"] == 2
    assert [c for _, c, _ in cast.events] == ["o", "m"]


def test_replay_ends_on_the_screen_the_output_drew(tmp_path: Path) -> None:
    chunks = [b"\x1b[31mred\x1b[0m line\r\n", b"\x1b[2;5Hmoved", b"\r\nwide \xe6\xbc", b"\xa2"]
    live = Terminal(80, 24)
    rec, clock = recorder(tmp_path)
    for chunk in chunks:
        live.feed(chunk)
        rec.output(chunk)
        clock.now += 0.1
    live.resize(40, 10)
    rec.resize(40, 10)
    live.feed(b"after resize")
    rec.output(b"after resize")
    rec.close()
    played = replay(rec.path)
    assert (played.cols, played.rows) == (40, 10)
    assert played.display_text() == live.display_text()
    assert played.row_runs(0) == live.row_runs(0)
    assert (played.cursor_x, played.cursor_y) == (live.cursor_x, live.cursor_y)
    assert replay(read_cast(rec.path)).display_text() == live.display_text()


def test_screen_output_draws_the_screen_as_it_is() -> None:
    live = Terminal(30, 6)
    live.feed(b"plain\r\n\x1b[1;38;5;200mbold pink\x1b[0m \x1b[44;97mon blue\x1b[0m\r\n")
    live.feed(b"\x1b[38;2;1;2;3mrgb \xe6\xbc\xa2\xe5\xad\x97\x1b[0m\r\n\x1b[5;10Hcursor")
    copy = Terminal(30, 6)
    copy.feed(screen_output(live))
    assert copy.display_text() == live.display_text()
    for y in range(6):
        assert copy.row_runs(y) == live.row_runs(y)
    assert (copy.cursor_x, copy.cursor_y) == (live.cursor_x, live.cursor_y)


def test_cast_info_and_list_casts(tmp_path: Path) -> None:
    old = Recorder(tmp_path / "old.cast", width=80, height=24, title="node n1")
    old.close()
    os.utime(old.path, (1_000_000, 1_000_000))
    rec, clock = recorder(tmp_path)
    rec.output(b"x")
    clock.now += 2.5
    rec.output(b"y")
    rec.close()
    (tmp_path / "broken.cast").write_text("not json\n")
    (tmp_path / "notes.txt").write_text("")
    infos = list_casts(tmp_path)
    assert [i.path.name for i in infos][-1] == "old.cast"
    assert {i.path.name for i in infos} == {"a.cast", "old.cast", "broken.cast"}
    by_name = {i.path.name: i for i in infos}
    assert by_name["a.cast"].duration == 2.5
    assert by_name["a.cast"].size == rec.path.stat().st_size
    assert by_name["a.cast"].title == "pod shop/web"
    assert by_name["old.cast"].duration == 0.0
    assert by_name["broken.cast"].duration is None
    assert cast_info(rec.path).duration == 2.5
    assert list_casts(tmp_path / "missing") == []


def test_asciinema_reads_what_we_write(tmp_path: Path) -> None:
    """The real asciinema 2.4 (the test extra) prints our recording's output."""
    pytest.importorskip("asciinema")
    rec, clock = recorder(tmp_path)
    rec.output("héllo ".encode()[:2])
    clock.now += 0.2
    rec.output("héllo ".encode()[2:] + b"\x1b[1mworld\x1b[0m\r\n")
    rec.resize(100, 30)
    rec.close()
    result = subprocess.run(
        [sys.executable, "-m", "asciinema", "cat", str(rec.path)],
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "ASCIINEMA_CONFIG_HOME": str(tmp_path / "config")},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == read_cast(rec.path).output()
    assert isinstance(read_cast(rec.path), Cast)
