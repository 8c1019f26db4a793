"""The `retina-tui` command line: one click group, one module per subcommand.

Subcommands are imported when they are asked for (`--version` imports none of them)
and import their heavy dependencies inside the command body, so `retina-tui --help`
stays fast.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

import click

from retina_tui import __version__
from retina_tui.commands.tui import (
    CONFIG_OPTION,
    CONTEXT_OPTION,
    KUBECONFIG_OPTION,
    NAMESPACE_OPTION,
    connection_options,
    run_tui,
)
from retina_tui.errors import RetinaTuiError

if TYPE_CHECKING:
    from retina_tui.kube.overrides import ConnectionOverrides


SUBCOMMANDS = ("tui", "demo", "gc", "sandbox", "shell", "capture", "check", "forward")
"""Each lives in `retina_tui.commands.<name>` as a click command of the same name."""


class _Group(click.Group):
    """Turns our errors into one line on stderr and a non-zero exit, never a traceback.

    Subcommands are loaded on first use.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*SUBCOMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in SUBCOMMANDS:
            module = importlib.import_module(f"retina_tui.commands.{cmd_name}")
            self.add_command(getattr(module, cmd_name))
        return self.commands.get(cmd_name)

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


def main() -> None:
    """The command line without the `--version` shortcut of `retina_tui.entry`."""
    cli(prog_name="retina-tui")
