"""`retina-tui` with no subcommand: open the cluster browser on a kubeconfig context.

Textual and the Kubernetes client are imported inside the command body so that
`retina-tui --help` stays fast. The options shared by every subcommand live here, each
checked as it is parsed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from retina_tui.commands.connection import connection_options
from retina_tui.commands.usage import UsageProblem
from retina_tui.validation.names import label_problem

if TYPE_CHECKING:
    from retina_tui.config import Settings
    from retina_tui.kube.overrides import ConnectionOverrides

__all__ = ["UsageProblem", "connection_options", "run_tui", "tui"]


def _not_blank(what: str, instead: str) -> Any:
    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise UsageProblem(f"{what} is empty; {instead}.")
        return value

    return check


def check_namespace(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    problem = label_problem(value)
    if problem is not None:
        raise UsageProblem(
            f"-n/--namespace {value!r} is not a namespace name: {problem}; fix it or omit it."
        )
    return value


KUBECONFIG_OPTION = click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False),
    default=None,
    help="Path to a kubeconfig.",
    callback=_not_blank("--kubeconfig", "name a kubeconfig file, or omit it to use KUBECONFIG"),
)
CONTEXT_OPTION = click.option(
    "--context",
    default=None,
    help="Kubeconfig context to use.",
    callback=_not_blank(
        "--context", "name a context of the kubeconfig, or omit it to use the current one"
    ),
)
NAMESPACE_OPTION = click.option(
    "-n",
    "--namespace",
    default=None,
    help="Namespace to show first (all namespaces if unset).",
    callback=check_namespace,
)
CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file (default: config.toml in the user config directory).",
    callback=_not_blank("--config", "name a configuration file, or omit it to use the default"),
)


FRAMES_PER_SECOND = "120"
"""Textual paints at most this often: a key's echo waits for the next frame (60 by default)."""


def prefer_fast_frames() -> None:
    """Ask Textual for frames at 120 per second unless the user set TEXTUAL_FPS.

    Must run before Textual is first imported (it reads the setting once).
    """
    import os

    os.environ.setdefault("TEXTUAL_FPS", FRAMES_PER_SECOND)


def app_settings(config_path: str | None) -> Settings:
    """The settings of the interface (browser or demo), its key bindings checked too.

    A bad one is a ConfigError (one line, exit 2) before the screen is taken over.
    """
    from pathlib import Path

    from retina_tui.config import load_settings, resolve_config_path
    from retina_tui.ui.keys import check_key_settings

    path = resolve_config_path(Path(config_path) if config_path else None)
    settings = load_settings(path)
    check_key_settings(settings.ui.keys, path if path.exists() else None)
    return settings


def run_tui(
    *,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    config_path: str | None,
    overrides: ConnectionOverrides | None = None,
) -> None:
    """Build the settings, run the browser until the user quits, exit with its status.

    The settings and the key bindings are checked first, so a bad one ends the command
    with one line and exit 2 before the screen is taken over. A kubeconfig that cannot be
    used is shown on the app's error screen instead (fix it, then retry there, or switch
    context). The status is 0 after a normal quit, 1 after a crash or a quit while the
    cluster could not be used (2 when the kubeconfig was at fault), 128 + N after signal
    N (see `retina_tui/ui/shutdown.py`).
    """
    import sys

    from retina_tui.ui.splash import Splash, guess_context

    prefer_fast_frames()
    splash = Splash()
    splash.show(guess_context(kubeconfig, context))
    try:
        from retina_tui.ui.app import ClusterTarget, make_app
        from retina_tui.ui.shutdown import run_app

        settings = app_settings(config_path)
        app = make_app(
            settings,
            target=ClusterTarget(
                kubeconfig=kubeconfig, context=context, namespace=namespace, overrides=overrides
            ),
        )
    except BaseException:
        splash.close()
        raise
    sys.exit(run_app(app, app.exit_lines))


@click.command("tui")
@KUBECONFIG_OPTION
@CONTEXT_OPTION
@connection_options
@NAMESPACE_OPTION
@CONFIG_OPTION
def tui(
    kubeconfig: str | None,
    context: str | None,
    overrides: ConnectionOverrides,
    namespace: str | None,
    config_path: str | None,
) -> None:
    """Open the cluster browser (the default when no subcommand is given)."""
    run_tui(
        kubeconfig=kubeconfig,
        context=context,
        namespace=namespace,
        config_path=config_path,
        overrides=overrides,
    )
