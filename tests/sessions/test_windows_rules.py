"""The rules of Windows targets that need no cluster: builds, image tags, accounts, flags."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from retina_tui.config import load_settings
from retina_tui.errors import ConfigError, SessionError
from retina_tui.sessions import windows

ROOT = Path(__file__).resolve().parents[2]


def node(kernel: str | None = None, os_image: str | None = None) -> dict[str, object]:
    info = {k: v for k, v in (("kernelVersion", kernel), ("osImage", os_image)) if v}
    return {"status": {"nodeInfo": info}}


@pytest.mark.parametrize(
    ("kernel", "os_image", "build"),
    [
        ("10.0.20348.2227", None, 20348),
        ("10.0.17763.5820", "Windows Server 2019 Datacenter", 17763),
        (None, "Windows Server 2025 Datacenter", 26100),
        ("6.1.0-sandbox", "Debian GNU/Linux 12 (bookworm)", None),
    ],
)
def test_the_node_build_comes_from_the_kernel_then_the_os_image(
    kernel: str | None, os_image: str | None, build: int | None
) -> None:
    assert windows.node_build(node(kernel, os_image)) == build


@pytest.mark.parametrize(
    ("image", "build"),
    [
        ("ghcr.io/retina-tui/debug-windows:0.1.0-ltsc2022", 20348),
        ("mcr.microsoft.com/windows/servercore:ltsc2019", 17763),
        ("mcr.microsoft.com/windows/nanoserver:1809", 17763),
        ("mcr.microsoft.com/powershell:lts-nanoserver-ltsc2025", 26100),
        ("example.com/tools:10.0.20348.1", 20348),
        ("example.com/tools:1.2", None),
        ("localhost:5000/tools", None),
        ("example.com/ltsc2019/tools@sha256:" + "a" * 64, None),
    ],
)
def test_the_build_an_image_tag_names(image: str, build: int | None) -> None:
    assert windows.image_build(image) == build


def test_the_default_image_takes_the_nodes_release() -> None:
    template = "ghcr.io/retina-tui/debug-windows:0.1.0-{ltsc}"
    assert windows.image_for_node(template, node("10.0.17763.1"), "w1").endswith("-ltsc2019")
    assert windows.image_for_node("x/y:1", None, "w1") == "x/y:1"
    with pytest.raises(SessionError, match=r"^Node w1 cannot be read .* pass --image"):
        windows.image_for_node(template, None, "w1")
    with pytest.raises(SessionError, match=r"^Node w1 does not say which Windows build"):
        windows.image_for_node(template, node(os_image="Windows"), "w1")


def test_an_image_of_another_build_is_refused_naming_both() -> None:
    windows.check_build("x/y:ltsc2022", node("10.0.20348.1"), "node w1")
    windows.check_build("x/y:latest", node("10.0.20348.1"), "node w1")
    with pytest.raises(SessionError) as caught:
        windows.check_build("x/y:ltsc2025", node("10.0.20348.1"), "node w1")
    assert str(caught.value) == (
        "The image x/y:ltsc2025 is built for Windows Server 2025 (build 26100), but node w1 "
        "runs Windows Server 2022 (build 20348), and a Windows container runs only on the "
        "build it was made for; use an image tagged ltsc2022, or drop --image for the "
        "default one."
    )


def test_only_windows_shells_run_on_windows() -> None:
    assert windows.shell_argv("PowerShell.exe") == ["powershell.exe", "-NoLogo"]
    assert windows.shell_argv("cmd") == ["cmd.exe"]
    with pytest.raises(SessionError, match=r"^--shell bash is not a Windows shell"):
        windows.shell_argv("bash")


@pytest.mark.parametrize(
    ("toml", "where"),
    [
        ('[debug]\nwindows_user = "a\\\\b\\\\c"\n', "debug.windows_user"),
        ('[debug]\nwindows_user = "NT AUTHORITY\\\\x@y"\n', "debug.windows_user"),
        ('[debug]\nwindows_image = "Not An Image:{ltsc}"\n', "debug.windows_image"),
        ('[debug]\nwindows_shell = "bash"\n', "debug.windows_shell"),
    ],
)
def test_bad_windows_settings_are_refused_in_one_line(
    tmp_path: Path, toml: str, where: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert f"is invalid at {where}: " in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_documented_windows_settings_load(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "shell.md").read_text()
    block = re.search(r"```toml\n(\[debug\]\nwindows_image.*?)```", text, re.DOTALL)
    assert block is not None
    config = tmp_path / "config.toml"
    config.write_text(block.group(1))
    debug = load_settings(config).debug
    assert debug.windows_user == "NT AUTHORITY\\SYSTEM"
    assert debug.windows_shell == "powershell"
    assert "{ltsc}" in debug.windows_image


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--windows-user", "a\\b\\c", "node-1"],
            "retina-tui: --windows-user 'a\\b\\c' is not a Windows account: runAsUserName "
            "cannot contain more than one backslash; name one such as 'NT AUTHORITY\\Local "
            "service'.",
        ),
        (
            ["--windows-user", "NT AUTHORITY\\SYSTEM", "pod/web"],
            "retina-tui: --windows-user sets the account of a Windows node shell; a pod shell "
            "runs as the image's user, so drop it.",
        ),
        (
            ["--shell", "cmd", "node-1", "--", "ipconfig"],
            "retina-tui: --shell picks the interactive shell; a command after -- runs by "
            "itself, so drop --shell.",
        ),
        (
            ["--shell", "", "node-1"],
            "retina-tui: --shell '' is not a program name; name one such as powershell, cmd or sh.",
        ),
    ],
)
def test_bad_windows_flags_exit_2_before_connecting(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "retina_tui", "shell", "--kubeconfig", "/nonexistent", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == message
