"""The `retina-tui` console script: answers `--version` before importing the command line.

Parsing with click costs more than starting Python; a version check in a script or a
shell prompt should not pay for it.
"""

from __future__ import annotations

import sys

from retina_tui import __version__

VERSION_LINE = f"retina-tui, version {__version__}"
"""What `retina-tui --version` prints (click's format)."""


def main() -> None:
    """Console-script entry point."""
    if sys.argv[1:] == ["--version"]:
        sys.stdout.write(VERSION_LINE + "\n")
        return
    from retina_tui.cli import cli

    cli(prog_name="retina-tui")
