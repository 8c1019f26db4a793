"""`retina-tui demo`: start the embedded sandbox cluster in-process and browse it.

The sandbox runs on the same event loop as the app, so quitting the app stops the
cluster too; nothing is left running and no real cluster is touched. Every way out that
runs Python code (the quit key, SIGINT, SIGTERM, SIGHUP when the terminal closes, a
crash) ends the sandbox's processes and removes its network namespaces; the exit status
is the app's (see `retina_tui/ui/shutdown.py`).
"""

from __future__ import annotations

import click

from retina_tui.commands.tui import CONFIG_OPTION, app_settings, prefer_fast_frames


@click.command("demo")
@CONFIG_OPTION
@click.option(
    "--network",
    type=click.Choice(["auto", "netns", "host"]),
    default="auto",
    show_default=True,
    help="How the sandbox isolates pods (netns needs root).",
)
def demo(config_path: str | None, network: str) -> None:
    """Start a small embedded cluster and open the browser on it."""
    import sys

    prefer_fast_frames()
    from retina_tui.ui.app import DemoTarget, make_app
    from retina_tui.ui.shutdown import run_app

    settings = app_settings(config_path)
    app = make_app(settings, target=DemoTarget(network=network))
    sys.exit(run_app(app, app.exit_lines))
