"""Session recordings as asciicast v2 files, the format `asciinema play` plays.

A recording is one JSON header line (version, size, start time, title, env), then one
JSON array per event: `[seconds, "o", text]` for output, `[seconds, "i", text]` for
input (only when asked for: what is typed holds passwords and tokens), `[seconds, "r",
"COLSxROWS"]` for a resize. Every line is flushed as it is written, so a recording cut
short by a crash still plays up to its last event, and the file is created 0600.

Output passes the clipboard filter before it is written: `asciinema play` and `cat`
write the text to a real terminal, where a recorded OSC 52 would reach the clipboard.
`read_cast` checks a file and says in one sentence what is wrong with it; `replay`
feeds one to our own emulator, so the replay tab and the tests see the screen it ends on.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from retina_tui.errors import RetinaTuiError
from retina_tui.terminal.attrs import DEFAULT, Attr, Color
from retina_tui.terminal.clipboard import ClipboardFilter
from retina_tui.terminal.emulator import Terminal

VERSION = 2
OUTPUT, INPUT, RESIZE, MARKER = "o", "i", "r", "m"
EVENT_CODES = (OUTPUT, INPUT, RESIZE, MARKER)
EXTENSION = ".cast"
FILE_MODE = 0o600
DIR_MODE = 0o700
ENV_KEYS = ("TERM", "SHELL")
"""The only environment variables a header carries (asciinema records these two)."""
TITLE_LIMIT = 80
"""Characters of the session title kept in a file name."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DASHES = re.compile(r"[-.]*-[-.]*")
_SIZE = re.compile(r"([1-9][0-9]{0,4})x([1-9][0-9]{0,4})")
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)


class CastError(RetinaTuiError):
    """A file that is not a readable asciicast v2 recording."""


class RecordingError(RetinaTuiError):
    """A recording that cannot be created or written."""


# ---- names and directories ------------------------------------------------------------


def sanitize_title(title: str) -> str:
    """A session title as a file name part: `pod shop/web` -> `pod-shop-web`."""
    name = _DASHES.sub("-", _UNSAFE.sub("-", title)).strip("-.")[:TITLE_LIMIT].strip("-.")
    return name or "session"


def recording_name(title: str, when: datetime, suffix: int = 1) -> str:
    """`<UTC timestamp>-<title>.cast`, with `-N` before the extension for N > 1."""
    stamp = when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    extra = f"-{suffix}" if suffix > 1 else ""
    return f"{stamp}-{sanitize_title(title)}{extra}{EXTENSION}"


def _reason(error: OSError) -> str:
    return (error.strerror or str(error)).lower()


def prepare_dir(directory: Path, *, advice: str = "name a directory you can write to") -> Path:
    """`directory` (created 0700 when missing), once a file could be created in it.

    The check creates and removes a file rather than reading permission bits, so a
    read-only file system, a full disk or a file in the way are found before a session
    starts. RecordingError says which, then `advice`.
    """
    directory = directory.expanduser()
    try:
        directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".retina-tui-", suffix=".probe", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        reason = _reason(error)
        if isinstance(error, FileExistsError | NotADirectoryError):
            reason = "a file is in the way, not a directory"
        raise RecordingError(f"Cannot record into {directory}: {reason}; {advice}.") from None
    return directory


# ---- writing ----------------------------------------------------------------------------


class Recorder:
    """Writes one session's output, resizes and (if asked) input as asciicast v2.

    Times are seconds since the recorder was made (or since `rebase`). A write that fails
    (a full disk) ends the recording, never the session: `error` says why and `on_error`
    is told once.
    """

    def __init__(
        self,
        path: Path,
        *,
        width: int,
        height: int,
        title: str = "",
        env: Mapping[str, str] | None = None,
        record_input: bool = False,
        clock: Callable[[], float] = time.monotonic,
        timestamp: int | None = None,
        on_error: Callable[[RecordingError], None] | None = None,
    ) -> None:
        self.path = path
        self.record_input = record_input
        self.size = (max(1, width), max(1, height))
        self.error: RecordingError | None = None
        self.on_error = on_error
        self.events = 0
        self._clock = clock
        self._origin = clock()
        self._last = 0.0
        self._clipboard = ClipboardFilter()
        self._out = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._in = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            fd = os.open(path, _OPEN_FLAGS, FILE_MODE)
        except OSError as error:
            raise RecordingError(
                f"Cannot create the recording {path}: {_reason(error)}; name a directory you "
                "can write to."
            ) from None
        with contextlib.suppress(OSError):
            os.fchmod(fd, FILE_MODE)  # whatever the umask
        self._file: Any = os.fdopen(fd, "wb")
        header: dict[str, Any] = {
            "version": VERSION,
            "width": self.size[0],
            "height": self.size[1],
            "timestamp": int(time.time()) if timestamp is None else timestamp,
        }
        if title:
            header["title"] = title
        kept = {key: value for key, value in (env or {}).items() if key in ENV_KEYS and value}
        if kept:
            header["env"] = kept
        self._write(header)

    @classmethod
    def create(
        cls,
        directory: Path,
        title: str,
        *,
        width: int,
        height: int,
        when: datetime | None = None,
        **options: Any,
    ) -> Self:
        """A new recording `DIR/<UTC timestamp>-<title>.cast` (`-2`, `-3`... if taken)."""
        when = when or datetime.now(UTC)
        for suffix in range(1, 100):
            path = directory / recording_name(title, when, suffix)
            if not os.path.lexists(path):
                try:
                    return cls(path, width=width, height=height, title=title, **options)
                except RecordingError:
                    if not os.path.lexists(path):
                        raise
        raise RecordingError(
            f"Cannot create a recording of {title} in {directory}: too many recordings of it "
            "in the same second; try again."
        )

    @property
    def closed(self) -> bool:
        return self._file is None

    def rebase(self) -> None:
        """Count time from now: before the first event, so waiting is not recorded."""
        if self.events == 0:
            self._origin = self._clock()

    def output(self, data: bytes) -> None:
        """Remote output, decoded across chunk boundaries (a split character is kept)."""
        if self._file is None:
            return
        text = self._out.decode(self._clipboard.feed(data))
        if text:
            self._event(OUTPUT, text)

    def input(self, data: bytes) -> None:
        """What was sent to the remote; written only when input recording is on."""
        if self._file is None or not self.record_input:
            return
        text = self._in.decode(data)
        if text:
            self._event(INPUT, text)

    def resize(self, cols: int, rows: int) -> None:
        """The terminal's new size (nothing is written when it did not change)."""
        if self._file is None or cols <= 0 or rows <= 0 or (cols, rows) == self.size:
            return
        self.size = (cols, rows)
        self._event(RESIZE, f"{cols}x{rows}")

    def close(self) -> None:
        """Write what the decoders and the filter still hold, then close the file."""
        if self._file is None:
            return
        tail = self._out.decode(self._clipboard.flush(), final=True)
        if tail:
            self._event(OUTPUT, tail)
        typed = self._in.decode(b"", final=True)
        if typed and self.record_input:
            self._event(INPUT, typed)
        file, self._file = self._file, None
        try:
            file.close()
        except OSError as error:
            self._failed(error)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _event(self, code: str, text: str) -> None:
        # The clock is monotonic; rounding must not make times go back either.
        at = max(self._last, round(self._clock() - self._origin, 6))
        self._last = at
        self.events += 1
        self._write([at, code, text])

    def _write(self, item: object) -> None:
        file = self._file
        if file is None:
            return
        try:
            file.write(json.dumps(item, ensure_ascii=False).encode("utf-8") + b"\n")
            file.flush()
        except OSError as error:
            self._file = None
            with contextlib.suppress(OSError):
                file.close()
            self._failed(error)

    def _failed(self, error: OSError) -> None:
        if self.error is not None:
            return
        self.error = RecordingError(
            f"The recording {self.path} stopped: {_reason(error)}; what was written before "
            "still plays."
        )
        if self.on_error is not None:
            self.on_error(self.error)


# ---- reading ----------------------------------------------------------------------------


Event = tuple[float, str, str]


@dataclass(frozen=True, slots=True)
class Header:
    """The fields of a header we use; `raw` holds all of them."""

    width: int
    height: int
    timestamp: int | None = None
    title: str = ""
    env: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Cast:
    """A whole recording: its header and its events in order."""

    header: Header
    events: list[Event]

    @property
    def duration(self) -> float:
        return self.events[-1][0] if self.events else 0.0

    def output(self) -> str:
        """Every output event's text, joined (what `asciinema cat` prints)."""
        return "".join(text for _, code, text in self.events if code == OUTPUT)


def _fail(path: Path, line: int, problem: str) -> CastError:
    return CastError(
        f"{path} is not an asciicast v2 recording: line {line} {problem}; record it again "
        "or open another file."
    )


def parse_header(path: Path, text: str) -> Header:
    """The first line, checked: version 2, positive integer width and height, typed extras."""
    try:
        raw = json.loads(text)
    except ValueError:
        raise _fail(path, 1, "is not JSON") from None
    if not isinstance(raw, dict):
        raise _fail(path, 1, "is not a JSON object (the header)")
    if raw.get("version") != VERSION:
        raise _fail(path, 1, f"has version {raw.get('version')!r}, not 2")
    for key in ("width", "height"):
        value = raw.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise _fail(path, 1, f"has {key} {value!r}, not a positive integer")
    timestamp = raw.get("timestamp")
    if timestamp is not None and (
        not isinstance(timestamp, int | float) or isinstance(timestamp, bool)
    ):
        raise _fail(path, 1, f"has timestamp {timestamp!r}, not a number")
    title = raw.get("title", "")
    if not isinstance(title, str):
        raise _fail(path, 1, f"has title {title!r}, not a string")
    env = raw.get("env", {})
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise _fail(path, 1, "has an env that is not an object of strings")
    return Header(
        width=raw["width"],
        height=raw["height"],
        timestamp=None if timestamp is None else int(timestamp),
        title=title,
        env=dict(env),
        raw=raw,
    )


def parse_event(path: Path, number: int, text: str, previous: float) -> Event:
    """One event line, checked: `[time >= previous, code, text]`, `"r"` as COLSxROWS."""
    try:
        item = json.loads(text)
    except ValueError:
        raise _fail(path, number, "is not JSON") from None
    if not isinstance(item, list) or len(item) != 3:
        raise _fail(path, number, "is not an event [time, code, data]")
    at, code, data = item
    if not isinstance(at, int | float) or isinstance(at, bool) or not math.isfinite(at):
        raise _fail(path, number, f"has time {at!r}, not a number of seconds")
    if at < previous:
        raise _fail(path, number, f"goes back in time ({at} after {previous})")
    if code not in EVENT_CODES:
        raise _fail(path, number, f"has event code {code!r}, not one of o, i, r, m")
    if not isinstance(data, str):
        raise _fail(path, number, f"has data {data!r}, not a string")
    if code == RESIZE and _SIZE.fullmatch(data) is None:
        raise _fail(path, number, f"resizes to {data!r}, not COLSxROWS")
    return float(at), code, data


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open("r", encoding="utf-8", newline="\n") as file:
            yield from enumerate(file, start=1)
    except UnicodeDecodeError:
        raise CastError(
            f"{path} is not an asciicast v2 recording: it is not UTF-8 text; open another file."
        ) from None
    except OSError as error:
        raise CastError(f"Cannot read {path}: {_reason(error)}.") from None


def read_cast(path: Path) -> Cast:
    """Read and check a recording; CastError names the line and what is wrong with it."""
    header: Header | None = None
    events: list[Event] = []
    previous = 0.0
    blank_at = 0
    for number, line in _lines(path):
        if not line.strip():
            blank_at = blank_at or number
            continue
        if blank_at:
            raise _fail(path, blank_at, "is empty, and events follow it")
        if header is None:
            header = parse_header(path, line)
            continue
        event = parse_event(path, number, line, previous)
        previous = event[0]
        events.append(event)
    if header is None:
        raise CastError(f"{path} is empty, not an asciicast v2 recording; open another file.")
    return Cast(header, events)


@dataclass(frozen=True, slots=True)
class CastInfo:
    """What the recordings list shows of a file, read without reading all of it."""

    path: Path
    size: int
    modified: float
    duration: float | None
    """Seconds to the last event; None when the file is not a readable recording."""
    title: str = ""


TAIL_BYTES = 64 * 1024


def cast_info(path: Path) -> CastInfo:
    """Size, time and duration of a recording: its header and its last line only."""
    stat = path.stat()
    duration: float | None = None
    title = ""
    try:
        with path.open("rb") as file:
            first = file.readline()
            header = parse_header(path, first.decode("utf-8"))
            title = header.title
            duration = 0.0
            file.seek(max(len(first), stat.st_size - TAIL_BYTES))
            tail = file.read().decode("utf-8", errors="replace").splitlines()
            for line in reversed(tail):
                if line.strip():
                    try:
                        duration = parse_event(path, 0, line, 0.0)[0]
                    except CastError:
                        duration = None
                    break
    except (OSError, UnicodeDecodeError, CastError):
        duration = None
    return CastInfo(path, stat.st_size, stat.st_mtime, duration, title)


def list_casts(directory: Path) -> list[CastInfo]:
    """The `.cast` files of a directory, newest first; none when it does not exist."""
    try:
        paths = [p for p in directory.expanduser().iterdir() if p.suffix == EXTENSION]
    except OSError:
        return []
    infos = []
    for path in paths:
        try:
            if path.is_file():
                infos.append(cast_info(path))
        except OSError:
            continue
    return sorted(infos, key=lambda info: (info.modified, info.path.name), reverse=True)


# ---- replaying --------------------------------------------------------------------------


def parse_size(data: str) -> tuple[int, int]:
    """`"COLSxROWS"` of a resize event."""
    cols, _, rows = data.partition("x")
    return int(cols), int(rows)


def apply_event(terminal: Terminal, event: Event) -> None:
    """Play one event on an emulator: output is fed, a resize resizes, the rest is ignored."""
    _, code, data = event
    if code == OUTPUT:
        terminal.feed(data.encode("utf-8"))
    elif code == RESIZE:
        terminal.flush()
        terminal.resize(*parse_size(data))


def replay(path: Path | Cast, *, scrollback: int = 10_000) -> Terminal:
    """The emulator after playing a recording: compare its `display_text()` with a screen."""
    cast = path if isinstance(path, Cast) else read_cast(path)
    terminal = Terminal(cast.header.width, cast.header.height, scrollback=scrollback)
    for event in cast.events:
        apply_event(terminal, event)
    terminal.flush()
    return terminal


# ---- a screen as output -----------------------------------------------------------------


def _color(value: Color, base: int) -> str:
    """SGR parameters for a colour; base 30 for the foreground, 40 for the background."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return f"{base + 8};2;{value[0]};{value[1]};{value[2]}"
    if value < 8:
        return str(base + value)
    if value < 16:
        return str(base + 60 + value - 8)
    return f"{base + 8};5;{value}"


def _sgr(attr: Attr) -> str:
    params = ["0"]
    flags = (
        (attr.bold, "1"),
        (attr.dim, "2"),
        (attr.italic, "3"),
        (attr.underline, "4"),
        (attr.blink, "5"),
        (attr.reverse, "7"),
        (attr.hidden, "8"),
        (attr.strike, "9"),
    )
    params += [code for on, code in flags if on]
    params += [c for c in (_color(attr.fg, 30), _color(attr.bg, 40)) if c]
    return f"\x1b[{';'.join(params)}m"


def screen_output(terminal: Terminal) -> bytes:
    """Output that draws what `terminal` shows now, colours included, cursor in place.

    A recording started while a session runs begins with it, so it plays from the screen
    as it was rather than from an empty one.
    """
    terminal.flush()
    parts = ["\x1b[?1049h" if terminal.alternate_screen else "", "\x1b[0m\x1b[H\x1b[2J"]
    for y in range(terminal.rows):
        runs = terminal.row_runs(y)
        while runs and runs[-1][1] == DEFAULT and not runs[-1][0].strip():
            runs.pop()
        if not runs:
            continue
        parts.append(f"\x1b[{y + 1};1H")
        for text, attr in runs:
            parts.append(_sgr(attr) + text)
        parts.append("\x1b[0m")
    parts.append(f"\x1b[{terminal.cursor_y + 1};{terminal.cursor_x + 1}H")
    if not terminal.cursor_visible:
        parts.append("\x1b[?25l")
    return "".join(parts).encode("utf-8")
