"""The first frame: "connecting to CONTEXT" on the screen before Textual is even imported.

Importing Textual, the settings model and the app takes most of a second on a busy
machine; a person who typed `retina-tui` should see at once that it started and which
cluster it is going to. This paints one plain frame on the alternate screen with ANSI
sequences (nothing to import), which the app's first real frame replaces. If the app
never starts (a bad setting), `Splash.close` puts the terminal back as it was.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TextIO

ENTER = "\x1b[?1049h\x1b[?25l\x1b[2J\x1b[H"
LEAVE = "\x1b[2J\x1b[?25h\x1b[?1049l"
BAR = "\x1b[1;7m"
DIM = "\x1b[2m"
RESET = "\x1b[0m"
_CURRENT = re.compile(r"""(?:^|[{,\s])["']?current-context["']?\s*:\s*["']?([^"'\s,}#]+)""")


def guess_context(kubeconfig: str | None, context: str | None) -> str | None:
    """The context the app will connect to, read cheaply (no YAML parser) for the splash."""
    if context:
        return context
    raw = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    for part in raw.split(os.pathsep):
        path = Path(part).expanduser()
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found = _CURRENT.search(text)
        if found:
            return found.group(1)
    if not kubeconfig and os.environ.get("KUBERNETES_SERVICE_HOST"):
        return "in-cluster"
    return None


def frame(width: int, height: int, context: str | None) -> str:
    """The splash as terminal output: a title bar and the connecting line in the middle."""
    title = " retina-tui".ljust(width)[:width]
    message = f"connecting to {context} …" if context else "connecting …"
    row, column = max(2, height // 2), max(1, (width - len(message)) // 2 + 1)
    return f"{ENTER}{BAR}{title}{RESET}\x1b[{row};{column}H{DIM}{message}{RESET}"


class Splash:
    """The splash on a terminal; `close` only if the app did not take the screen over."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout
        self.shown = False

    def show(self, context: str | None) -> None:
        """Paint it, when the output is a terminal."""
        if not self._out.isatty():
            return
        try:
            size = os.get_terminal_size(self._out.fileno())
            self._out.write(frame(size.columns, size.lines, context))
            self._out.flush()
        except OSError:
            return
        self.shown = True

    def close(self) -> None:
        """Leave the alternate screen again (the app is not going to start)."""
        if self.shown:
            self.shown = False
            self._out.write(LEAVE)
            self._out.flush()
