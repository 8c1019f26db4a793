"""Smoke test: the installed `retina-tui demo`, driven through tmux like a person would.

It starts the embedded cluster, filters the pods to the web server, opens a debug shell
with one key, sees the shell's prompt, runs a command, and quits cleanly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.tmux_app import TmuxApp


@pytest.fixture
def tmux() -> Iterator[TmuxApp]:
    session = TmuxApp(f"retina-tui-smoke-{os.getpid()}")
    yield session
    session.kill_server()


@pytest.mark.timeout(240)
def test_demo_opens_a_shell_and_shows_its_prompt(tmux: TmuxApp, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    tmux.start(["demo"], {"RETINA_TUI_CONFIG": str(config)})
    tmux.wait_for(lambda s: "load-0000" in s and "coredns" in s, "the pods table")
    tmux.keys("/", "w", "e", "b", "Enter")
    tmux.wait_for(lambda s: "pods 1/" in s and "load-0000" not in s, "the filter")
    tmux.keys("s")
    screen = tmux.wait_for(lambda s: "@web:" in s and "#" in s, "the shell prompt")
    assert "pod shop/web" in screen
    tmux.keys("echo hi-from-$((40+2))", "Enter")
    tmux.wait_for(lambda s: "hi-from-42" in s.splitlines().__str__(), "the command output")
    tmux.keys("C-b", "q")
    tmux.wait_for(lambda s: "EXITED=0" in s, "a clean exit", limit=60)
