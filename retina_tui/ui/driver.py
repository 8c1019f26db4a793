"""Textual's Linux driver, made to outlive its terminal.

When the terminal goes away (the window is closed, ssh drops) every write fails with
EIO and reads fail or hit end of file. Textual's writer thread would die on the first
failed write and its bounded queue would then block the event loop for good, and its
input thread would end the app at once with a traceback; either way no session would be
ended and no debug pod deleted. Here output to a vanished terminal is dropped and a
failed read just ends input, so quitting can finish its cleanup without a terminal.
"""

from __future__ import annotations

from typing import IO, Any

from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver


class TerminalOutput:
    """The file Textual's writer thread writes to; after a failed write, writes are dropped."""

    def __init__(self, file: IO[str]) -> None:
        self._file = file
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                self._file.write(text)
            except (BlockingIOError, InterruptedError):
                pass  # a full terminal loses this frame; the next one redraws
            except (OSError, ValueError):
                self.gone = True
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._file.flush()
            except (BlockingIOError, InterruptedError):
                pass
            except (OSError, ValueError):
                self.gone = True

    def fileno(self) -> int:
        return self._file.fileno()

    def isatty(self) -> bool:
        return True


class TerminalDriver(LinuxDriver):
    """LinuxDriver whose output and input survive a hangup of the terminal."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        if self._file is not None:
            # The writer thread only needs write, flush and fileno.
            self._file = TerminalOutput(self._file)  # type: ignore[assignment]

    def run_input_thread(self) -> None:
        try:
            super().run_input_thread()
        except OSError:
            return  # the terminal hung up: there is nothing more to read


def surviving_hangups(driver: type[Driver]) -> type[Driver]:
    """TerminalDriver in place of Textual's LinuxDriver; any other driver as it is."""
    return TerminalDriver if driver is LinuxDriver else driver
