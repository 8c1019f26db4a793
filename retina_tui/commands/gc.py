"""`retina-tui gc`: reap orphaned debug pods once, from a terminal or a cron job.

It makes the same decision as the supervisor inside a running retina-tui, but holds no
instance of its own: every pod whose instance stopped renewing its Lease is an orphan.
"""

from __future__ import annotations

import sys

import click

from retina_tui.commands.tui import (
    CONFIG_OPTION,
    CONTEXT_OPTION,
    KUBECONFIG_OPTION,
    UsageProblem,
    check_namespace,
)


@click.command("gc")
@click.option("--dry-run", is_flag=True, help="Only print what would be deleted, and why.")
@click.option(
    "-n",
    "--namespace",
    default=None,
    help="Namespace to clean (default: the context's and the debug namespace).",
    callback=check_namespace,
)
@click.option("-A", "--all-namespaces", is_flag=True, help="Clean every namespace you can read.")
@KUBECONFIG_OPTION
@CONTEXT_OPTION
@CONFIG_OPTION
def gc(
    dry_run: bool,
    namespace: str | None,
    all_namespaces: bool,
    kubeconfig: str | None,
    context: str | None,
    config_path: str | None,
) -> None:
    """Delete debug pods (and Leases) left behind by retina-tui processes that died."""
    import asyncio
    from pathlib import Path

    from retina_tui.config import load_settings, resolve_config_path

    if namespace and all_namespaces:
        raise UsageProblem("Use either -n/--namespace or -A/--all-namespaces, not both.")
    settings = load_settings(resolve_config_path(Path(config_path) if config_path else None))
    failed = asyncio.run(
        _gc(
            dry_run=dry_run,
            namespace=namespace,
            all_namespaces=all_namespaces,
            kubeconfig=kubeconfig,
            context=context,
            renew_interval=settings.supervisor.renew_interval_seconds,
            debug_namespace=settings.debug.namespace,
        )
    )
    if failed:
        sys.exit(1)


async def _gc(
    *,
    dry_run: bool,
    namespace: str | None,
    all_namespaces: bool,
    kubeconfig: str | None,
    context: str | None,
    renew_interval: float,
    debug_namespace: str | None,
) -> bool:
    """Run one reap pass and print it; True when something went wrong."""
    from retina_tui.kube.client import connect
    from retina_tui.supervisor.ownership import STALE_INTERVALS
    from retina_tui.supervisor.reaper import Reaper

    client = await connect(kubeconfig=kubeconfig, context=context, namespace=namespace)
    try:
        scope = None if all_namespaces else [client.namespace]
        if scope and not namespace and debug_namespace and debug_namespace not in scope:
            scope.append(debug_namespace)
        reaper = Reaper(
            client,
            own_instance=None,
            missing_lease_grace=STALE_INTERVALS * renew_interval,
            namespaces=scope,
        )
        result = await reaper.reap(dry_run=dry_run)
    finally:
        await client.close()
    done = result.planned if dry_run else result.deleted
    verb = "would delete" if dry_run else "deleted"
    for deletion in done:
        click.echo(f"{verb} {deletion.describe()}")
    if not result.planned and not result.problems:
        where = f"namespace {', '.join(scope)}" if scope else "the namespaces you can read"
        click.echo(f"No orphaned debug pods in {where}.")
    for problem in result.problems:
        click.echo(f"retina-tui: {problem.message}", err=True)
    return bool(result.problems)
