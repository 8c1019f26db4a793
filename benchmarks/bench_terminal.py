"""How fast remote output becomes a screen: our emulator, the widget, tmux and pyte.

Feeds the same stream (60,000 coloured `ls -l`-like lines, about 7 MB) to
(a) the emulator alone, in 4-64 KB chunks,
(b) the TerminalView widget in a headless Textual app, until the last byte is painted,
(c) tmux 3.3 (a detached 120x40 session running `cat` of the stream),
(d) pyte 0.8.2, for reference,
and measures (e) how long a keypress takes to reach the output callback while the
stream is being fed through the widget. Prints figures; it asserts nothing.

Run with `nox -s bench -- terminal` or `python benchmarks/bench_terminal.py`.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from textual.app import App, ComposeResult

from retina_tui.terminal.emulator import Terminal
from retina_tui.ui.terminal_view import TerminalView

COLS, ROWS = 120, 40
LINES = 60_000
REPEATS = 3
LAST_LINE_MARK = "end-of-benchmark-stream"


def generate_lines(count: int = LINES) -> list[str]:
    """Coloured `ls -l` lines, in the style of GNU ls with LS_COLORS and a busy prompt."""
    rng = random.Random(4)
    kinds = [
        ("01;34", "d", "rwxr-xr-x"),  # directory
        ("01;32", "-", "rwxr-xr-x"),  # executable
        ("00", "-", "rw-r--r--"),
        ("01;36", "l", "rwxrwxrwx"),  # symlink
        ("01;31", "-", "rw-r--r--"),  # archive
        ("38;5;208", "-", "rw-r-----"),
        ("38;2;255;135;0", "-", "rw-------"),
        ("01;35", "-", "rw-r--r--"),  # image
    ]
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    users = ["root", "nobody", "www-data", "postgres", "kube-proxy", "retina"]
    lines: list[str] = []
    for n in range(count):
        sgr, kind, perms = rng.choice(kinds)
        user = rng.choice(users)
        size = rng.randint(0, 10**8)
        hour, minute = rng.randint(0, 23), rng.randint(0, 59)
        stamp = f"{rng.choice(months)} {rng.randint(1, 28):2} {hour:02}:{minute:02}"
        name = f"file-{n:06}-" + "".join(
            rng.choices("abcdefghijklmnopqrstuvwxyz_.", k=rng.randint(1, 6))
        )
        lines.append(
            f"\x1b[38;5;{rng.randint(1, 231)}m{kind}{perms}\x1b[0m {rng.randint(1, 40):3} "
            f"\x1b[33m{user:<8}\x1b[0m {user:<8} "
            f"\x1b[1;32m{size:>9}\x1b[0m {stamp} \x1b[{sgr}m{name}\x1b[0m"
        )
    lines.append(LAST_LINE_MARK)
    return lines


def chunks(data: bytes, seed: int = 7) -> Iterator[bytes]:
    """The stream cut as a socket would deliver it: 4 to 64 KB at a time."""
    rng = random.Random(seed)
    start = 0
    while start < len(data):
        size = rng.randint(4 * 1024, 64 * 1024)
        yield data[start : start + size]
        start += size


class Measurement(NamedTuple):
    """Seconds of wall clock and of CPU (the machine may be shared: CPU time is steadier)."""

    wall: float
    cpu: float


class Clock:
    """Measures wall and CPU time of this process (or of another one, by pid)."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid
        self.wall = time.perf_counter()
        self.cpu = self._cpu()

    def _cpu(self) -> float:
        if self.pid is None:
            return time.process_time()
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> Measurement:
        return Measurement(time.perf_counter() - self.wall, self._cpu() - self.cpu)


def run_emulator(pieces: list[bytes]) -> Measurement:
    terminal = Terminal(COLS, ROWS, scrollback=10_000)
    clock = Clock()
    for piece in pieces:
        terminal.feed(piece)
    terminal.take_dirty()
    result = clock.stop()
    if LAST_LINE_MARK not in "\n".join(terminal.display_text()):
        raise SystemExit("emulator: the last line is not on the screen")
    return result


def run_pyte(pieces: list[bytes]) -> Measurement | None:
    try:
        import pyte  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None
    screen = pyte.Screen(COLS, ROWS)
    parser = pyte.ByteStream(screen)
    clock = Clock()
    for piece in pieces:
        parser.feed(piece)
    return clock.stop()


def run_tmux(tmux: str, path: Path, run: int) -> Measurement:
    """A detached session `cat`s the file; timed from a go signal to a done signal."""
    config = path.with_name("tmux.conf")
    config.write_text("set-option -g history-limit 10000\n")
    # A fresh server per run: a killed server may still hold its socket for a while.
    socket = f"retina-bench-{os.getpid()}-{run}"
    base = [tmux, "-L", socket, "-f", str(config)]
    signal = f"{tmux} -L {socket} wait-for"
    script = f"{signal} go; cat {path}; {signal} -S done"
    subprocess.run(
        [*base, "new-session", "-d", "-x", str(COLS), "-y", str(ROWS), script], check=True
    )
    try:
        time.sleep(0.3)  # let the pane's shell reach `wait-for go`
        server = subprocess.run(
            [*base, "display-message", "-p", "#{pid}"], capture_output=True, text=True, check=True
        )
        clock = Clock(int(server.stdout))
        subprocess.run([*base, "wait-for", "-S", "go"], check=True)
        subprocess.run([*base, "wait-for", "done"], check=True)
        return clock.stop()
    finally:
        subprocess.run([*base, "kill-server"], capture_output=True)


class BenchApp(App[None]):
    """A headless app holding one full-screen terminal."""

    def __init__(self, on_input: Callable[[bytes], None]) -> None:
        super().__init__()
        self.on_input = on_input

    def compose(self) -> ComposeResult:
        yield TerminalView(on_input=self.on_input)


def on_screen(view: TerminalView) -> bool:
    """Whether the painted lines (the widget's line cache) show the final line of the stream."""
    return any(LAST_LINE_MARK in strip.text for strip in view.render_lines(view.size.region))


async def run_widget(pieces: list[bytes]) -> Measurement:
    app = BenchApp(lambda data: None)
    async with app.run_test(size=(COLS, ROWS)) as pilot:
        view = app.query_one(TerminalView)
        await pilot.pause()
        clock = Clock()
        for piece in pieces:
            view.feed(piece)
        await view.wait_drained()
        result = clock.stop()
        if not on_screen(view):
            raise SystemExit("widget: the last line is not on the screen")
    return result


class Latency(NamedTuple):
    """Keypress-to-callback delays, the feed's duration, and each emulator step's CPU time."""

    delays: list[float]
    feed_time: float
    steps: list[float]


async def run_latency(pieces: list[bytes], interval: float = 0.02) -> Latency:
    """Press a key every `interval` s during the feed; seconds until the callback saw it."""
    arrivals: list[float] = []
    steps: list[float] = []

    def on_input(data: bytes) -> None:
        if data == b"x":
            arrivals.append(time.perf_counter())

    app = BenchApp(on_input)
    async with app.run_test(size=(COLS, ROWS)) as pilot:
        view = app.query_one(TerminalView)
        view.focus()
        await pilot.pause()
        emulate, flush = view.terminal.feed, view.terminal.flush

        def timed_feed(data: bytes) -> None:
            started = time.thread_time()
            emulate(data)
            steps.append(time.thread_time() - started)

        def timed_flush() -> None:  # the widget flushes after each feed: one step
            started = time.thread_time()
            flush()
            steps[-1] += time.thread_time() - started

        view.terminal.feed = timed_feed  # type: ignore[method-assign]
        view.terminal.flush = timed_flush  # type: ignore[method-assign]
        presses: list[float] = []
        tasks: list[asyncio.Task[None]] = []
        start = time.perf_counter()
        for piece in pieces:
            view.feed(piece)
        while view.pending_bytes:
            presses.append(time.perf_counter())
            tasks.append(asyncio.create_task(pilot.press("x"), name="bench-press"))
            await asyncio.sleep(interval)
        feed_time = time.perf_counter() - start
        await asyncio.gather(*tasks)
        await view.wait_drained()
    delays = [done - pressed for pressed, done in zip(presses, arrivals, strict=True)]
    return Latency(delays, feed_time, steps)


def main() -> None:
    lines = generate_lines()
    # What a pty delivers for `cat` of the file: LF becomes CR LF (onlcr).
    stream = "".join(line + "\r\n" for line in lines).encode()
    pieces = list(chunks(stream))
    mb = len(stream) / 1e6
    print(f"stream: {LINES} coloured ls -l lines, {mb:.2f} MB, {COLS}x{ROWS}", flush=True)
    tmux = shutil.which("tmux")
    tmux_note = "tmux is not installed (apt-get install tmux): column skipped"
    results: dict[str, list[Measurement]] = {"emulator": [], "widget": [], "tmux": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ls-l.txt"
        path.write_text("".join(line + "\n" for line in lines))
        if tmux is not None:
            tmux_note = subprocess.run([tmux, "-V"], capture_output=True, text=True).stdout
        # Interleaved, so that a busy moment on a shared machine hurts every column alike.
        for run in range(REPEATS):
            if tmux is not None:
                results["tmux"].append(run_tmux(tmux, path, run))
            results["emulator"].append(run_emulator(pieces))
            results["widget"].append(asyncio.run(run_widget(pieces)))
    latency = asyncio.run(run_latency(pieces))
    pyte_result = run_pyte(pieces)

    def best(name: str) -> Measurement | None:
        runs = results[name]
        return Measurement(min(r.wall for r in runs), min(r.cpu for r in runs)) if runs else None

    reference = best("tmux")
    print(f"throughput, best of {REPEATS} (pyte: one run); wall clock | CPU time of the process:")

    def row(label: str, result: Measurement | None, note: str = "") -> None:
        if result is None:
            print(f"  {label:<30} {'-':>10}   {note.strip()}")
            return
        wall, cpu = mb / result.wall, mb / max(result.cpu, 1e-9)
        ratio = ""
        if reference is not None:
            ratio = (
                f"  = {wall / (mb / reference.wall):5.2f}x | "
                f"{cpu / (mb / max(reference.cpu, 1e-9)):5.2f}x tmux"
            )
        print(f"  {label:<30} {wall:6.2f} | {cpu:6.2f} MB/s{ratio}  {note.strip()}")

    row("(a) emulator alone", best("emulator"))
    row("(b) widget, painted, headless", best("widget"))
    row("(c) tmux, detached session", reference, tmux_note)
    row("(d) pyte 0.8.2 Screen", pyte_result, "" if pyte_result else "pyte not installed")
    if latency.delays:
        ms = sorted(x * 1000 for x in latency.delays)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        print(
            f"(e) keypress -> output callback while the widget takes the {mb:.1f} MB stream "
            f"({latency.feed_time:.2f} s): {len(ms)} presses, median "
            f"{statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms "
            "(target < 100 ms)"
        )
        steps = sorted(x * 1000 for x in latency.steps)
        print(
            f"    emulator steps between yields: {len(steps)}, "
            f"median {statistics.median(steps):.1f} ms, max {steps[-1]:.1f} ms of CPU"
        )
    print(f"targets: emulator >= tmux, widget >= 0.5x tmux; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
