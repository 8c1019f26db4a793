"""`retina-tui shell` inside tmux with set-clipboard on: remote clipboard escapes set nothing.

tmux records every OSC 52 it obeys as a paste buffer, so `list-buffers` shows whether a
sequence got through. Each sequence is first printed straight into a tmux pane, to show
that tmux does obey it; then the same commands run in a sandbox pod through the CLI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from tests.fixtures_sandbox import SandboxProcess
from tests.test_shell_cli_pty import running_pod

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="needs tmux")

PROMPT = "rtui-cli# "
# What each printed sequence would put in tmux's buffer.
SEQUENCES = {
    r"\033]052;c;emVybw==\007": "zero",  # a leading zero
    r"\033]0;x\033]52;c;YnlwYXNz\007": "bypass",  # an OSC ended by ESC, then OSC 52
    r"\033]0;x\030\033]52;c;Y2Fu\007": "can",  # an OSC cancelled by CAN, then OSC 52
    r"\033]4294967348;c;d3JhcA==\007": "wrap",  # 2**32 + 52
    r"\033]5\0012;c;YzA=\007": "c0",  # a control inside the number
    r"\033]52;c;Y3V0\033[m": "cut",  # OSC 52 cut short by the next escape
}


class Tmux:
    """A private tmux server (own socket, no config) with set-clipboard on."""

    def __init__(self) -> None:
        assert TMUX is not None
        self.argv = [TMUX, "-L", f"rtui-clip-{os.getpid()}", "-f", "/dev/null"]

    def __call__(self, *args: str) -> str:
        result = subprocess.run(
            [*self.argv, *args], capture_output=True, text=True, timeout=30, check=True
        )
        return result.stdout

    def buffers(self) -> list[str]:
        text = self("list-buffers", "-F", "#{buffer_name}")
        return text.split()

    def screen(self) -> str:
        return self("capture-pane", "-p", "-J", "-S", "-500", "-t", "main")

    def type(self, line: str) -> None:
        self("send-keys", "-t", "main", "-l", line)
        self("send-keys", "-t", "main", "Enter")


def wait_for(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    server = Tmux()
    server("new-session", "-d", "-s", "main", "-x", "120", "-y", "40", "cat")
    try:
        server("set-option", "-g", "set-clipboard", "on")
        server("set-option", "-g", "remain-on-exit", "on")
        yield server
    finally:
        subprocess.run([*server.argv, "kill-server"], capture_output=True, timeout=30)


@pytest.mark.timeout(420)
def test_the_cli_lets_no_clipboard_escape_reach_tmux(
    sandbox_cluster: SandboxProcess, tmux: Tmux
) -> None:
    for sequence, text in SEQUENCES.items():
        tmux("respawn-pane", "-k", "-t", "main", f"printf '{sequence}'; exec cat")
        wait_for(lambda: bool(tmux.buffers()), f"tmux to obey {sequence}", 30)
        assert tmux("show-buffer") == text
        for name in tmux.buffers():
            tmux("delete-buffer", "-b", name)

    pod = running_pod(sandbox_cluster)["metadata"]["name"]
    shell = " ".join(
        [
            sys.executable,
            "-m",
            "retina_tui",
            "shell",
            "--kubeconfig",
            str(sandbox_cluster.kubeconfig),
        ]
    )
    tmux("respawn-pane", "-k", "-t", "main", f"{shell} -n default pod/{pod}; echo EXITED=$?")
    tmux.type("PS1='rtui''-cli# '")
    # A login shell may take long to start on a busy machine.
    wait_for(lambda: PROMPT in tmux.screen(), "the remote prompt", 300)
    for n, sequence in enumerate(SEQUENCES):
        tmux.type(f"printf '{sequence}'; echo; echo sent''{n}")
        wait_for(lambda n=n: f"\nsent{n}" in tmux.screen(), f"command {n}", 60)
        assert tmux.buffers() == [], f"{sequence} set tmux's clipboard"
    assert tmux("display-message", "-p", "-t", "main", "#{pane_title}").strip() == "x"
    tmux.type("exit 0")
    wait_for(lambda: "EXITED=0" in tmux.screen(), "the CLI to exit", 60)
    assert tmux.buffers() == []
