"""`retina-tui` with no subcommand: open the cluster browser on a kubeconfig context.

Textual and the Kubernetes client are imported inside the command body so that
`retina-tui --help` stays fast.
"""

from __future__ import annotations

import click

KUBECONFIG_OPTION = click.option(
    "--kubeconfig", type=click.Path(dir_okay=False), default=None, help="Path to a kubeconfig."
)
CONTEXT_OPTION = click.option("--context", default=None, help="Kubeconfig context to use.")
NAMESPACE_OPTION = click.option(
    "-n", "--namespace", default=None, help="Namespace to show first (all namespaces if unset)."
)
CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file (default: config.toml in the user config directory).",
)


def run_tui(
    *,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    config_path: str | None,
) -> None:
    """Build the settings, run the browser until the user quits, exit with its status.

    The status is 0 after a normal quit, 1 after a crash or a quit while the cluster
    could not be used, 128 + N after signal N (see `retina_tui/ui/shutdown.py`).
    """
    import sys
    from pathlib import Path

    from retina_tui.config import load_settings, resolve_config_path
    from retina_tui.ui.app import ClusterTarget, make_app
    from retina_tui.ui.shutdown import run_app

    settings = load_settings(resolve_config_path(Path(config_path) if config_path else None))
    app = make_app(
        settings,
        target=ClusterTarget(kubeconfig=kubeconfig, context=context, namespace=namespace),
    )
    sys.exit(run_app(app, app.exit_lines))


@click.command("tui")
@KUBECONFIG_OPTION
@CONTEXT_OPTION
@NAMESPACE_OPTION
@CONFIG_OPTION
def tui(
    kubeconfig: str | None, context: str | None, namespace: str | None, config_path: str | None
) -> None:
    """Open the cluster browser (the default when no subcommand is given)."""
    run_tui(kubeconfig=kubeconfig, context=context, namespace=namespace, config_path=config_path)
