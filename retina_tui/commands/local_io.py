"""The local terminal's side of a session or command: whole writes, stdin, raw mode."""

from __future__ import annotations

import contextlib
import os
import select
import sys
from collections.abc import Iterator

__all__ = ["raw_terminal", "stdin_fd", "write_all"]


def write_all(fd: int, data: bytes) -> None:
    """Write everything to `fd` (blocking or not); a reader or terminal that went away
    (SIGHUP follows) just loses output."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [], 1.0)
            continue
        except OSError:
            return
        view = view[written:]


def stdin_fd() -> int:
    """The local stdin's descriptor, -1 when there is none."""
    try:
        return sys.stdin.fileno()
    except (OSError, ValueError, AttributeError):
        return -1


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """Raw mode on `fd` (a tty; -1: nothing) for the duration, restored however it ends."""
    if fd < 0:
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
