"""`retina-tui shell --record DIR` under a real pty against the sandbox: the recording
parses, holds what the shell printed, plays to the screen the terminal showed, and
asciinema reads it."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from retina_tui.terminal.asciicast import read_cast, replay
from retina_tui.terminal.emulator import Terminal
from tests.fixtures_sandbox import SandboxProcess
from tests.test_shell_cli_pty import (
    finish,
    kubectl_json,
    one_error_line,
    reach_prompt,
    run,
    run_cli,
    running_pod,
    shell_argv,
    spawn_cli,
)

RECORDED = "retina-tui: recorded to "


class Transcript:
    """Everything the CLI wrote to its terminal (pexpect's logfile_read)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def flush(self) -> None:
        pass

    @property
    def text(self) -> str:
        return "".join(self.parts)


def spawn_recorded(sandbox: SandboxProcess, *args: str) -> tuple[pexpect.spawn, Transcript]:
    child = spawn_cli(shell_argv(sandbox, *args))
    transcript = Transcript()
    child.logfile_read = transcript
    return child, transcript


def only_cast(directory: Path) -> Path:
    casts = sorted(directory.glob("*.cast"))
    assert len(casts) == 1, casts
    return casts[0]


def asciinema_cat(path: Path, home: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "asciinema", "cat", str(path)],
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "ASCIINEMA_CONFIG_HOME": str(home)},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.decode("utf-8")


def ephemeral_containers(sandbox: SandboxProcess, name: str) -> list[str]:
    pod = kubectl_json(sandbox, "get", "pod", "-n", "default", name)
    return [c["name"] for c in pod["spec"].get("ephemeralContainers", [])]


def test_a_recorded_shell_replays_to_the_screen_it_showed(
    sandbox_cluster: SandboxProcess, tmp_path: Path
) -> None:
    pytest.importorskip("asciinema")
    name = running_pod(sandbox_cluster)["metadata"]["name"]
    directory = tmp_path / "casts"  # created by --record
    child, transcript = spawn_recorded(sandbox_cluster, f"pod/{name}", "--record", str(directory))
    try:
        reach_prompt(child)
        run(child, r"printf '\033[H\033[2J'")  # what came before the shell is off the screen
        assert "héllo world" in run(child, r"printf 'h\303\251llo %s\n' wor''ld")
        assert "30 100" in run(child, "stty size")
        child.sendline("exit 0")
        child.expect_exact(RECORDED)
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
    finally:
        child.close(force=True)
    path = only_cast(directory)
    assert re.fullmatch(rf"\d{{8}}T\d{{6}}Z-pod-default-{re.escape(name)}\.cast", path.name)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    live = transcript.text
    assert f"{RECORDED}{path}" in live
    cast = read_cast(path)
    assert (cast.header.width, cast.header.height) == (100, 30)
    assert cast.header.title == f"pod default/{name}"
    assert cast.header.env.get("TERM") == "xterm"
    assert {code for _, code, _ in cast.events} <= {"o", "r"}  # no input: it may hold secrets
    assert "PS1=" in cast.output()  # the echo of what was typed is output, and recorded
    assert "héllo world" in cast.output()
    assert cast.duration < 60

    # The screen the local terminal showed when the shell had ended (before our own last
    # line), through our emulator, is the screen the recording plays to.
    screen = Terminal(100, 30)
    screen.feed(live[: live.index(RECORDED)].encode("utf-8"))
    played = replay(path)
    assert played.display_text() == screen.display_text()
    assert (played.cursor_x, played.cursor_y) == (screen.cursor_x, screen.cursor_y)
    assert any("héllo world" in row for row in played.display_text())

    assert asciinema_cat(path, tmp_path / "asciinema") == cast.output()


def test_recording_dir_and_input_from_the_settings_and_resizes(
    sandbox_cluster: SandboxProcess, tmp_path: Path
) -> None:
    name = running_pod(sandbox_cluster)["metadata"]["name"]
    directory = tmp_path / "from-settings"
    config = tmp_path / "config.toml"
    config.write_text(f"[recording]\ndir = {json.dumps(str(directory))}\ninput = true\n")
    child, _ = spawn_recorded(sandbox_cluster, f"pod/{name}", "--config", str(config))
    try:
        reach_prompt(child)
        assert "typed-here" in run(child, "echo typed-''here")
        child.setwinsize(40, 120)  # the shell redraws its prompt: wait for the answer itself
        child.sendline("echo size=$(stty size)")
        child.expect_exact("size=40 120")
        assert finish(child, 3) == 3
    finally:
        child.close(force=True)
    cast = read_cast(only_cast(directory))
    typed = "".join(text for _, code, text in cast.events if code == "i")
    assert "echo typed-''here\n" in typed  # pexpect's sendline ends lines with \n
    assert any(code == "r" and text == "120x40" for _, code, text in cast.events)
    assert replay(cast).cols == 120


def test_no_record_skips_the_settings_dir(sandbox_cluster: SandboxProcess, tmp_path: Path) -> None:
    name = running_pod(sandbox_cluster)["metadata"]["name"]
    directory = tmp_path / "unused"
    config = tmp_path / "config.toml"
    config.write_text(f"[recording]\ndir = {json.dumps(str(directory))}\n")
    child, transcript = spawn_recorded(
        sandbox_cluster, f"pod/{name}", "--config", str(config), "--no-record"
    )
    try:
        reach_prompt(child)
        assert finish(child, 0) == 0
    finally:
        child.close(force=True)
    assert not directory.exists()
    assert RECORDED not in transcript.text


@pytest.mark.parametrize("where", ["file", "under-file"])
def test_a_directory_that_cannot_be_written_creates_nothing(
    sandbox_cluster: SandboxProcess, tmp_path: Path, where: str
) -> None:
    name = running_pod(sandbox_cluster)["metadata"]["name"]
    before = ephemeral_containers(sandbox_cluster, name)
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    directory = blocker if where == "file" else blocker / "casts"
    code, stderr = run_cli(sandbox_cluster, f"pod/{name}", "--record", str(directory))
    assert code == 2
    line = one_error_line(stderr)
    assert line == (
        f"retina-tui: Cannot record into {directory}: a file is in the way, not a directory; "
        "give --record a directory you can write to."
    )
    assert "creating" not in stderr
    assert ephemeral_containers(sandbox_cluster, name) == before
    assert blocker.read_text() == ""
