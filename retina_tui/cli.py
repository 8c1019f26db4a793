"""The `retina-tui` command line: one click group, one module per subcommand.

Subcommand modules import their heavy dependencies inside the command body, so
`retina-tui --help` stays fast.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from retina_tui import __version__
from retina_tui.commands.capture import capture
from retina_tui.commands.check import check
from retina_tui.commands.demo import demo
from retina_tui.commands.gc import gc
from retina_tui.commands.sandbox import sandbox
from retina_tui.commands.shell import shell
from retina_tui.commands.tui import (
    CONFIG_OPTION,
    CONTEXT_OPTION,
    KUBECONFIG_OPTION,
    NAMESPACE_OPTION,
    connection_options,
    run_tui,
    tui,
)
from retina_tui.errors import RetinaTuiError

if TYPE_CHECKING:
    from retina_tui.kube.overrides import ConnectionOverrides


class _Group(click.Group):
    """Turns our errors into one line on stderr and a non-zero exit, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RetinaTuiError as error:
            click.echo(f"retina-tui: {error}", err=True)
            sys.exit(error.exit_code)


@click.group(cls=_Group, invoke_without_command=True)
@click.version_option(__version__, prog_name="retina-tui")
@KUBECONFIG_OPTION
@CONTEXT_OPTION
@connection_options
@NAMESPACE_OPTION
@CONFIG_OPTION
@click.pass_context
def cli(
    ctx: click.Context,
    kubeconfig: str | None,
    context: str | None,
    overrides: ConnectionOverrides,
    namespace: str | None,
    config_path: str | None,
) -> None:
    """Debug Kubernetes networking from a terminal; with no subcommand, open the browser."""
    if ctx.invoked_subcommand is None:
        run_tui(
            kubeconfig=kubeconfig,
            context=context,
            namespace=namespace,
            config_path=config_path,
            overrides=overrides,
        )


cli.add_command(tui)
cli.add_command(demo)
cli.add_command(gc)
cli.add_command(sandbox)
cli.add_command(shell)
cli.add_command(capture)
cli.add_command(check)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="retina-tui")
