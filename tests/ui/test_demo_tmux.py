"""Smoke test: the installed `retina-tui demo`, driven through tmux like a person would.

It starts the embedded cluster, filters the pods to the web server, opens a debug shell
with one key, sees the shell's prompt, runs a command, and quits cleanly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

COLS, ROWS = 140, 38


def _installed_cli() -> str:
    beside_python = Path(sys.executable).parent / "retina-tui"
    found = str(beside_python) if beside_python.exists() else shutil.which("retina-tui")
    assert found, "retina-tui is not installed (python3 -m pip install .)"
    return found


class Tmux:
    """One private tmux server with one window."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return result.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "demo")

    def keys(self, *keys: str) -> None:
        # One key per call, as a person types: a burst can reach the app before a
        # focus change it causes has been applied.
        for key in keys:
            self.run("send-keys", "-t", "demo", key)
            time.sleep(0.15)

    def wait_for(self, check: Callable[[str], bool], what: str, limit: float = 60.0) -> str:
        deadline = time.monotonic() + limit
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen was:\n{screen}")
            time.sleep(0.2)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    session = Tmux(f"retina-tui-smoke-{os.getpid()}")
    yield session
    subprocess.run(["tmux", "-L", session.socket, "kill-server"], capture_output=True)


@pytest.mark.timeout(240)
def test_demo_opens_a_shell_and_shows_its_prompt(tmux: Tmux, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    # COLUMNS/LINES (set by some test runners) would override the pane's real size.
    command = (
        f"env -u COLUMNS -u LINES RETINA_TUI_CONFIG={config} {_installed_cli()} demo;"
        " echo EXITED=$?; sleep 60"
    )
    tmux.run("new-session", "-d", "-s", "demo", "-x", str(COLS), "-y", str(ROWS), command)
    tmux.wait_for(lambda s: "load-0000" in s and "coredns" in s, "the pods table")
    tmux.keys("/", "w", "e", "b", "Enter")
    tmux.wait_for(lambda s: "1/" in s and "shop" in s and "load-0000" not in s, "the filter")
    tmux.keys("s")
    screen = tmux.wait_for(lambda s: "@web:" in s and "#" in s, "the shell prompt")
    assert "pod shop/web" in screen
    tmux.keys("echo hi-from-$((40+2))", "Enter")
    tmux.wait_for(lambda s: "hi-from-42" in s.splitlines().__str__(), "the command output")
    tmux.keys("C-b", "q")
    tmux.wait_for(lambda s: "EXITED=0" in s, "a clean exit", limit=60)
