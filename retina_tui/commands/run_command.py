"""`retina-tui shell TARGET -- CMD...`: one command in a debug container, as `kubectl exec`.

The command runs in the target's command-mode container (`sessions.command`): without a
terminal unless `-t`, stdout and stderr written apart and byte for byte, local stdin
forwarded when it is not a terminal and closed remotely when it ends, and the remote exit
code returned as ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from retina_tui.commands.local_io import raw_terminal, stdin_fd, write_all
from retina_tui.sessions import protocol
from retina_tui.sessions.command import Command, CommandHost
from retina_tui.terminal.clipboard import ClipboardFilter

READ_SIZE = 256 * 1024


async def run_command(host: CommandHost, argv: list[str], *, tty: bool) -> int:
    """Run `argv` on `host` bridged to the local stdin/stdout/stderr; its exit code."""
    in_fd = stdin_fd()
    terminal = in_fd >= 0 and os.isatty(in_fd)
    forward = in_fd >= 0 and (tty or not terminal)
    command = await host.exec(argv, stdin=forward, tty=tty)
    try:
        with raw_terminal(in_fd if tty and terminal else -1):
            return await _bridge(command, in_fd if forward else -1, tty=tty, terminal=terminal)
    finally:
        await command.close()


async def _bridge(command: Command, in_fd: int, *, tty: bool, terminal: bool) -> int:
    feeder = None
    sizes = None
    if in_fd >= 0:
        feeder = asyncio.create_task(_feed(command, in_fd), name="command stdin")
    if tty and terminal:
        sizes = asyncio.create_task(_follow_size(command, in_fd), name="command resize")
    clipboard = ClipboardFilter() if tty else None
    try:
        async for chunk in command.output():
            fd = 2 if chunk.channel == protocol.STDERR else 1
            data = clipboard.feed(chunk.data) if clipboard is not None else chunk.data
            write_all(fd, data)
        if clipboard is not None:
            write_all(1, clipboard.flush())
        return command.exit_code()
    finally:
        for task in (feeder, sizes):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _feed(command: Command, fd: int) -> None:
    """Local stdin to the command; at its end the command's stdin is closed."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    watching = [False]

    def on_readable() -> None:
        try:
            data = os.read(fd, READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data or queue.qsize() >= 7:
            loop.remove_reader(fd)  # at the end, or until the command catches up
            watching[0] = False
        queue.put_nowait(data)

    try:
        loop.add_reader(fd, on_readable)
        watching[0] = True
    except PermissionError:
        # A regular file cannot be polled; it never blocks, so it is read as it is sent.
        while data := await asyncio.to_thread(os.read, fd, READ_SIZE):
            if not await command.write(data):
                return
        await command.close_stdin()
        return
    try:
        while data := await queue.get():
            if not await command.write(data):
                return
            if not watching[0] and queue.empty():
                loop.add_reader(fd, on_readable)
                watching[0] = True
        await command.close_stdin()
    finally:
        if watching[0]:
            loop.remove_reader(fd)


async def _follow_size(command: Command, fd: int) -> None:
    loop = asyncio.get_running_loop()
    sizes: asyncio.Queue[os.terminal_size] = asyncio.Queue()
    loop.add_signal_handler(signal.SIGWINCH, lambda: sizes.put_nowait(os.get_terminal_size(fd)))
    try:
        size = os.get_terminal_size(fd)
        while True:
            await command.resize(size.columns, size.lines)
            size = await sizes.get()
    finally:
        loop.remove_signal_handler(signal.SIGWINCH)
