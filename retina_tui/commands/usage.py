"""The one way a command refuses a command-line value: one `retina-tui: ...` line, exit 2."""

from __future__ import annotations

from typing import IO, Any

import click


class UsageProblem(click.BadParameter):
    """A command-line value that is refused: one `retina-tui: ...` line, exit 2."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"retina-tui: {self.message}", err=True)
