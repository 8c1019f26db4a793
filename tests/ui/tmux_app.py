"""Drive the installed `retina-tui` in a private tmux server, as a person at a terminal.

The app runs under `sh -c 'retina-tui ...; echo EXITED=$?; sleep 60'`, so once it has
left the pane shows what a person would see: the restored terminal, what the app
printed after leaving, and its exit status.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

COLS, ROWS = 140, 38
WINDOW = "app"


def installed_cli() -> str:
    """The `retina-tui` console script of this environment."""
    beside_python = Path(sys.executable).parent / "retina-tui"
    found = str(beside_python) if beside_python.exists() else shutil.which("retina-tui")
    assert found, "retina-tui is not installed (python3 -m pip install .)"
    return found


class TmuxApp:
    """One private tmux server whose one window runs the app."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=check
        )
        return result.stdout

    def start(self, args: Sequence[str], env: dict[str, str]) -> None:
        """Start `retina-tui ARGS` with `env` added (COLUMNS/LINES would override the size)."""
        assigns = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
        app = " ".join(shlex.quote(arg) for arg in [installed_cli(), *args])
        command = f"env -u COLUMNS -u LINES {assigns} {app}; echo EXITED=$?; sleep 60"
        self.run("new-session", "-d", "-s", WINDOW, "-x", str(COLS), "-y", str(ROWS), command)

    def screen(self) -> str:
        """The pane's text, wrapped lines joined."""
        return self.run("capture-pane", "-p", "-J", "-t", WINDOW)

    def alternate_on(self) -> bool:
        return self.run("display-message", "-p", "-t", WINDOW, "#{alternate_on}").strip() == "1"

    def app_pid(self) -> int:
        """The pid of retina-tui: the only child of the pane's shell."""
        shell = int(self.run("display-message", "-p", "-t", WINDOW, "#{pane_pid}").strip())
        children = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
        assert len(children) == 1, children
        return int(children[0])

    def keys(self, *keys: str) -> None:
        # One key per call, as a person types.
        for key in keys:
            self.run("send-keys", "-t", WINDOW, key)
            time.sleep(0.15)

    def kill_window(self) -> None:
        """Close the window, as closing a terminal does: tmux hangs up its pty."""
        self.run("kill-window", "-t", WINDOW)

    def kill_server(self) -> None:
        self.run("kill-server", check=False)

    def wait_for(self, check: Callable[[str], bool], what: str, limit: float = 60.0) -> str:
        deadline = time.monotonic() + limit
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen was:\n{screen}")
            time.sleep(0.2)


def wait_until(check: Callable[[], bool], what: str, limit: float) -> None:
    """Poll `check` until it holds; fail after `limit` seconds."""
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {limit:g} s")
        time.sleep(0.2)


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, IndexError):
        return True
