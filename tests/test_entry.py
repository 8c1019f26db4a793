"""The command line starts without importing what it does not use.

`--version` answers before click is imported, with click's own wording; `--help` and a
usage error import no event loop, client, settings model or UI.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from retina_tui.cli import cli
from retina_tui.entry import VERSION_LINE

HEAVY = ("asyncio", "aiohttp", "kubernetes_asyncio", "pydantic", "textual", "yaml", "ssl")


def imported_after(*argv: str) -> tuple[str, set[str]]:
    """What `retina-tui ARGV` prints, and which top-level modules it imported."""
    probe = (
        "import sys\n"
        f"sys.argv = ['retina-tui', *{list(argv)!r}]\n"
        "from retina_tui.entry import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stdout.flush()\n"
        "print('MODULES', ' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    output, _, modules = done.stdout.rpartition("MODULES ")
    return output + done.stderr, set(modules.split())


def test_version_is_clicks_line_without_importing_click() -> None:
    output, modules = imported_after("--version")
    assert output == VERSION_LINE + "\n"
    assert CliRunner().invoke(cli, ["--version"]).output == VERSION_LINE + "\n"
    assert "click" not in modules


def test_help_lists_every_command_without_heavy_imports() -> None:
    output, modules = imported_after("--help")
    for name in ("capture", "check", "demo", "gc", "sandbox", "shell", "tui"):
        assert f"\n  {name} " in output
    assert modules.isdisjoint(HEAVY), modules & set(HEAVY)


def test_a_usage_error_imports_nothing_heavy() -> None:
    output, modules = imported_after("shell", "pod/x", "--host-pid")
    assert "applies to node shells only" in output
    assert modules.isdisjoint(HEAVY), modules & set(HEAVY)


def test_the_browser_asks_for_120_frames_a_second_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from retina_tui.commands.tui import prefer_fast_frames

    monkeypatch.delenv("TEXTUAL_FPS", raising=False)
    prefer_fast_frames()
    assert os.environ["TEXTUAL_FPS"] == "120"
    monkeypatch.setenv("TEXTUAL_FPS", "30")
    prefer_fast_frames()
    assert os.environ["TEXTUAL_FPS"] == "30"
