"""`--wireshark`: the capture shown live in a local Wireshark, or tshark without a display.

The pcapng stream goes to the viewer's stdin as it is written to the file. A viewer that is
closed stops getting packets; the file goes on (or, without a file, the capture stops).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from retina_tui.errors import ConfigError

__all__ = ["Tee", "Viewer", "find_viewer"]


@dataclass
class Viewer:
    argv: list[str]
    waited_for: bool = False
    """tshark prints to our terminal, so it is waited for; Wireshark's window stays open."""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return os.path.basename(self.argv[0])

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, stdin=subprocess.PIPE, start_new_session=True)

    def finish(self) -> None:
        """End the viewer's input, then wait for it if it prints to our terminal."""
        process = self.process
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        if self.waited_for:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.terminate()
                process.wait()


def find_viewer(environ: dict[str, str] | None = None) -> Viewer:
    env = os.environ if environ is None else environ
    display = env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")
    path = env.get("PATH")
    wireshark = shutil.which("wireshark", path=path)
    if wireshark and display:
        return Viewer([wireshark, "-k", "-i", "-"])
    tshark = shutil.which("tshark", path=path)
    if tshark:
        return Viewer([tshark, "-l", "-n", "-i", "-"], waited_for=True)
    missing = (
        "there is no display for Wireshark and tshark"
        if wireshark
        else "neither Wireshark nor tshark"
    )
    raise ConfigError(
        f"--wireshark shows the capture in a local viewer, but {missing} is installed here; "
        "install wireshark or tshark (apt-get install tshark), or drop --wireshark and open "
        "the -o file afterwards."
    )


class Tee:
    """A binary file that also feeds a viewer, until the viewer goes away."""

    def __init__(self, file: BinaryIO | None, viewer: Viewer) -> None:
        self._file = file
        self._viewer = viewer
        self.viewer_gone = False
        self.on_gone: Callable[[], None] | None = None

    @property
    def viewer_name(self) -> str:
        return self._viewer.name

    def _gone(self) -> None:
        if not self.viewer_gone:
            self.viewer_gone = True
            if self.on_gone is not None:
                self.on_gone()

    def write(self, data: bytes) -> int:
        if self._file is not None:
            self._file.write(data)
        process = self._viewer.process
        if not self.viewer_gone and process is not None and process.stdin is not None:
            try:
                process.stdin.write(data)
            except (BrokenPipeError, OSError, ValueError):
                self._gone()
        return len(data)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()
        process = self._viewer.process
        if not self.viewer_gone and process is not None and process.stdin is not None:
            try:
                process.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                self._gone()
