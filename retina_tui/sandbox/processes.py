"""Real local processes for containers and exec'd commands, under a pseudo-terminal or pipes.

A `Process` is one command started in its own session (so the whole tree can be signalled
and nothing outlives the sandbox). Its output is pumped to any number of subscribers
(`Sink`s, one per exec/attach stream) with backpressure; a container's own process also
writes its `ContainerLog`. A container with stdin or a terminal keeps what it writes before
anyone subscribes (the last `EARLY_LIMIT` bytes, as a pty nobody reads yet holds them) and
hands it to its first subscriber (but not what a client has read from the log meanwhile).
Exit codes follow container runtimes: a process killed by signal N exits 128+N.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import pty
import signal
import struct
import termios
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from retina_tui.sandbox.logs import ContainerLog
from retina_tui.sessions.protocol import STDERR, STDOUT

log = logging.getLogger("retina_tui.sandbox")

READ_CHUNK: Final = 65536
SINK_LIMIT: Final = 1 << 20
DRAIN_TIMEOUT: Final = 2.0
DEFAULT_SIZE: Final = (80, 24)
EARLY_LIMIT: Final = 64 << 10


class Sink:
    """A bounded queue of (channel, bytes) from a process to one stream consumer.

    The producer waits while the sink holds more than its limit (backpressure); closing the
    sink (consumer gone) never leaves the producer waiting. `get` returns None once the
    process output has ended and everything was consumed.
    """

    def __init__(self, limit: int = SINK_LIMIT) -> None:
        self._items: deque[tuple[int, bytes]] = deque()
        self._size = 0
        self._limit = limit
        self._ended = False
        self._closed = False
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()

    @property
    def closed(self) -> bool:
        return self._closed

    async def put(self, channel: int, data: bytes) -> None:
        while self._size >= self._limit and not self._closed:
            self._writable.clear()
            await self._writable.wait()
        self.put_nowait(channel, data)

    def put_nowait(self, channel: int, data: bytes) -> None:
        """Queue output at once, over the limit if need be (for a bounded backlog)."""
        if self._closed or self._ended:
            return
        self._items.append((channel, data))
        self._size += len(data)
        self._readable.set()

    async def get(self) -> tuple[int, bytes] | None:
        while not self._items:
            if self._ended or self._closed:
                return None
            self._readable.clear()
            await self._readable.wait()
        channel, data = self._items.popleft()
        self._size -= len(data)
        if self._size < self._limit:
            self._writable.set()
        return channel, data

    def end(self) -> None:
        """The producer has no more output."""
        self._ended = True
        self._readable.set()

    def close(self) -> None:
        """The consumer is gone: drop everything and never block the producer again."""
        self._closed = True
        self._items.clear()
        self._size = 0
        self._writable.set()
        self._readable.set()


def set_winsize(fd: int, cols: int, rows: int) -> None:
    """Apply a terminal size to a pty; the kernel sends SIGWINCH to its foreground group."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def proc_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields of /proc/PID/stat after the command name) of every process now.

    The fields start with the state, the parent pid, the process group and the session id.
    """
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 3:
            yield int(entry.name), fields


def session_members(sid: int) -> list[int]:
    """Pids of every live process whose session id is `sid` (the leader included)."""
    members = []
    for pid, fields in proc_stats():
        if fields[3] == str(sid) and fields[0] != "Z":
            members.append(pid)
    return members


def signal_session(sid: int, sig: int) -> None:
    """Send `sig` to every process in session `sid`."""
    for pid in session_members(sid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def runtime_exit_code(returncode: int) -> int:
    """A container runtime's exit code for a Python returncode (signals become 128+N)."""
    return 128 - returncode if returncode < 0 else returncode


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """The stream protocol, plus an event set as soon as the process itself has exited."""

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


class _PtyReaderProtocol(asyncio.StreamReaderProtocol):
    """A pty master's reader: EIO (every slave closed) is its end of file.

    As an error it would make `StreamReader.read` raise at once and drop what the
    process wrote just before it exited but was not read yet.
    """

    def connection_lost(self, exc: Exception | None) -> None:
        if isinstance(exc, OSError) and exc.errno == errno.EIO:
            exc = None
        super().connection_lost(exc)


async def _exec(
    argv: Sequence[str], **kwargs: Any
) -> tuple[asyncio.subprocess.Process, asyncio.SubprocessTransport, asyncio.Event]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _Protocol(READ_CHUNK * 4, loop), *argv, **kwargs
    )
    return asyncio.subprocess.Process(transport, protocol, loop), transport, protocol.exited


class Process:
    """One running command with its output pumps and its stdin."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        *,
        tty: bool,
        master: int | None,
        name: str,
        kill_session_on_exit: bool,
    ) -> None:
        self._proc = proc
        self.tty = tty
        self.name = name
        self._master = master
        self._kill_session_on_exit = kill_session_on_exit
        self._sinks: list[Sink] = []
        self._early: deque[tuple[int, bytes]] | None = None
        """Output held for the first subscriber; None once handed over (or never held)."""
        self._early_size = 0
        self.log: ContainerLog | None = None
        """Where the container's own output is kept for `pods/log` (not for exec processes)."""
        self._stdin: asyncio.StreamWriter | None = proc.stdin
        self._pumps: list[asyncio.Task[None]] = []
        self._code: int | None = None
        self._done = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._read_transport: asyncio.ReadTransport | None = None
        self._exited = asyncio.Event()
        self._transport: asyncio.SubprocessTransport | None = None

    @classmethod
    async def spawn(
        cls,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: str = "/",
        tty: bool = False,
        stdin: bool = True,
        size: tuple[int, int] = DEFAULT_SIZE,
        name: str = "",
        kill_session_on_exit: bool = False,
        sink: Sink | None = None,
        log: ContainerLog | None = None,
        hold_early: bool = False,
    ) -> Process:
        """Start `argv` in a new session; raises OSError when it cannot be started.

        With `tty` the command gets a fresh pty as its controlling terminal (through
        `setsid -c`, so no Python code runs between fork and exec); otherwise pipes, and
        `stdin=False` gives it /dev/null. `sink`, when given, is subscribed before any
        output can be read, so nothing is lost; else `hold_early` keeps the output written
        before the first `subscribe` for that subscriber.
        """
        loop = asyncio.get_running_loop()
        label = name or argv[0]
        if tty:
            master, slave = pty.openpty()
            try:
                set_winsize(slave, *size)
                proc, transport, exited = await _exec(
                    ["setsid", "-c", *argv],
                    stdin=slave,
                    stdout=slave,
                    stderr=slave,
                    env=dict(env),
                    cwd=cwd,
                )
            except BaseException:
                os.close(master)
                raise
            finally:
                os.close(slave)
            self = cls(
                proc, tty=True, master=master, name=label, kill_session_on_exit=kill_session_on_exit
            )
            self._exited, self._transport = exited, transport
            self.log = log
            self._start_output(sink, hold_early)
            os.set_blocking(master, False)
            reader = asyncio.StreamReader(limit=READ_CHUNK * 4)
            try:
                self._read_transport, _ = await loop.connect_read_pipe(
                    lambda: _PtyReaderProtocol(reader),
                    os.fdopen(os.dup(master), "rb", 0),
                )
                writer, protocol = await loop.connect_write_pipe(
                    asyncio.streams.FlowControlMixin, os.fdopen(os.dup(master), "wb", 0)
                )
            except BaseException:  # cancelled while wiring the pty: nothing may outlive it
                signal_session(proc.pid, signal.SIGKILL)
                if self._read_transport is not None:
                    self._read_transport.close()
                transport.close()
                os.close(master)
                raise
            self._stdin = asyncio.StreamWriter(writer, protocol, None, loop)
            self._pumps.append(self._pump(reader, STDOUT))
        else:
            proc, transport, exited = await _exec(
                argv,
                stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=dict(env),
                cwd=cwd,
                start_new_session=True,
            )
            self = cls(
                proc, tty=False, master=None, name=label, kill_session_on_exit=kill_session_on_exit
            )
            self._exited, self._transport = exited, transport
            self.log = log
            self._start_output(sink, hold_early)
            assert proc.stdout is not None and proc.stderr is not None
            self._pumps.append(self._pump(proc.stdout, STDOUT))
            self._pumps.append(self._pump(proc.stderr, STDERR))
        self._runner = asyncio.create_task(self._run(), name=f"sandbox-process-{label}-{proc.pid}")
        return self

    def _start_output(self, sink: Sink | None, hold_early: bool) -> None:
        if sink is not None:
            self._sinks.append(sink)
        elif hold_early:
            self._early = deque()

    def _hold(self, channel: int, data: bytes) -> None:
        """Keep output nobody has subscribed to yet, dropping the oldest beyond the limit."""
        assert self._early is not None
        self._early.append((channel, data))
        self._early_size += len(data)
        while self._early_size > EARLY_LIMIT:
            channel_of_oldest, oldest = self._early.popleft()
            excess = self._early_size - EARLY_LIMIT
            if len(oldest) > excess:
                self._early.appendleft((channel_of_oldest, oldest[excess:]))
                self._early_size -= excess
            else:
                self._early_size -= len(oldest)

    def _pump(self, reader: asyncio.StreamReader, channel: int) -> asyncio.Task[None]:
        return asyncio.create_task(
            self._pump_output(reader, channel), name=f"sandbox-pump-{self.name}-{channel}"
        )

    async def _pump_output(self, reader: asyncio.StreamReader, channel: int) -> None:
        while True:
            try:
                data = await reader.read(READ_CHUNK)
            except OSError as exc:
                if exc.errno != errno.EIO:  # EIO: every pty slave is closed, the normal end
                    log.debug("reading %s failed: %s", self.name, exc)
                return
            if not data:
                return
            if self.log is not None:
                self.log.write(data)
            if self._early is not None:
                self._hold(channel, data)
            for sink in list(self._sinks):
                await sink.put(channel, data)

    async def _run(self) -> None:
        try:
            # Not proc.wait(): it also waits for the pipes, which a background job may hold.
            await self._exited.wait()
            returncode = self._proc.returncode
            assert returncode is not None
            if self._kill_session_on_exit:
                signal_session(self._proc.pid, signal.SIGKILL)
            _, pending = await asyncio.wait(self._pumps, timeout=DRAIN_TIMEOUT)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._pumps, return_exceptions=True)
            self._code = runtime_exit_code(returncode)
        finally:
            for task in self._pumps:
                task.cancel()
            self._close_stdin_writer()
            if self._transport is not None:  # release the pipes, drained or abandoned
                self._transport.close()
            if self._read_transport is not None:
                self._read_transport.close()
            if self._master is not None:
                os.close(self._master)
                self._master = None
            for sink in self._sinks:
                sink.end()
            if self.log is not None:
                self.log.close()
            self._done.set()

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def exit_code(self) -> int | None:
        """The exit code once the process has ended and its output is drained."""
        return self._code

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def add_exit_callback(self, callback: Callable[[Process], None]) -> None:
        """Call `callback(self)` once the process has ended and its output is drained."""
        assert self._runner is not None
        self._runner.add_done_callback(lambda _task: callback(self))

    @property
    def holds_output(self) -> bool:
        """Whether output written before any subscriber is still waiting for the first one."""
        return bool(self._early)

    def output_read(self, *, follow: bool) -> None:
        """A client read the output from the log: what is held is not handed over again, and
        nothing more is held once the client follows the log."""
        if self._early is not None:
            self._early, self._early_size = (None if follow else deque()), 0

    def subscribe(self, sink: Sink) -> None:
        """Fan future output out to `sink` too; it is ended at once if the output already has.

        The first subscriber gets first what was held for it.
        """
        early, self._early, self._early_size = self._early, None, 0
        for channel, data in early or ():
            sink.put_nowait(channel, data)
        if self._done.is_set():
            sink.end()
        else:
            self._sinks.append(sink)

    def unsubscribe(self, sink: Sink) -> None:
        sink.close()
        with contextlib.suppress(ValueError):
            self._sinks.remove(sink)

    async def write(self, data: bytes) -> None:
        """Write to stdin; silently dropped when stdin is closed or the process is gone."""
        writer = self._stdin
        if writer is None or writer.is_closing() or not data:
            return
        try:
            writer.write(data)
            await writer.drain()
        except (ConnectionError, OSError) as exc:
            log.debug("stdin of %s: %s", self.name, exc)

    def close_stdin(self) -> None:
        """Half-close stdin: a pipe gets EOF; a pty gets the EOF character (^D)."""
        if self.tty:
            writer = self._stdin
            if writer is not None and not writer.is_closing():
                writer.write(b"\x04")
            return
        self._close_stdin_writer()

    def _close_stdin_writer(self) -> None:
        writer, self._stdin = self._stdin, None
        if writer is not None and not writer.is_closing():
            writer.close()

    def resize(self, cols: int, rows: int) -> None:
        if self._master is not None and cols > 0 and rows > 0:
            with contextlib.suppress(OSError):
                set_winsize(self._master, cols, rows)

    def signal(self, sig: int) -> None:
        """Send `sig` to the whole session of the process."""
        if self.running:
            signal_session(self._proc.pid, sig)

    async def wait(self) -> int:
        """Wait for the exit and the end of the output; the runtime's exit code."""
        await self._done.wait()
        assert self._code is not None
        return self._code

    async def terminate(self, grace: float) -> int:
        """SIGTERM (and SIGHUP for a terminal, as when it is torn down), SIGKILL after `grace`."""
        if self.running:
            self.signal(signal.SIGTERM)
            if self.tty:
                self.signal(signal.SIGHUP)
            self.signal(signal.SIGCONT)
            assert self._runner is not None
            await asyncio.wait({self._runner}, timeout=grace)
            if self.running:
                self.signal(signal.SIGKILL)
        return await self.wait()

    async def close(self) -> None:
        """Kill whatever is left and wait for the pumps; idempotent."""
        if self.running:
            self.signal(signal.SIGKILL)
        if self._runner is not None:
            try:
                await self._runner
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # pragma: no cover - _run only fails on bugs
                log.warning("process %s ended badly: %s", self.name, exc)
