"""The `retina-tui` command line: one click group, one module per subcommand.

Subcommand modules import their heavy dependencies inside the command body, so
`retina-tui --help` stays fast.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from retina_tui import __version__
from retina_tui.errors import RetinaTuiError


class _Group(click.Group):
    """Turns our errors into one line on stderr and a non-zero exit, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RetinaTuiError as error:
            click.echo(f"retina-tui: {error}", err=True)
            sys.exit(error.exit_code)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="retina-tui")
def cli() -> None:
    """Debug Kubernetes networking from a terminal."""


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="retina-tui")
