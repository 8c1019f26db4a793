"""`retina-tui forward pod/NAME|svc/NAME [LOCAL:]REMOTE...`: kubectl's port-forward, reconnecting.

Each local connection gets its own stream, so a dropped stream ends one connection and
the next one opens anew, where kubectl port-forward would exit. A Service is forwarded to
one of its ready pods, picked again when that pod goes away.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from retina_tui.commands.connection import CONNECTION_OPTION_NAMES, connection_options
from retina_tui.commands.help import SectionedCommand
from retina_tui.commands.tui import (
    CONFIG_OPTION,
    CONTEXT_OPTION,
    KUBECONFIG_OPTION,
    UsageProblem,
    check_namespace,
)

if TYPE_CHECKING:
    from retina_tui.kube.overrides import ConnectionOverrides

SECTIONS = {
    "What to forward": ("target", "ports", "namespace", "addresses"),
    "Connection options": ("kubeconfig", "context", *CONNECTION_OPTION_NAMES),
    "Other options": ("config_path", "help"),
}


@click.command("forward", cls=SectionedCommand, sections=SECTIONS)
@click.argument("target")
@click.argument("ports", nargs=-1)
@click.option(
    "-n", "--namespace", default=None, help="Namespace of the target.", callback=check_namespace
)
@click.option(
    "--address",
    "addresses",
    multiple=True,
    help="Local addresses to listen on (127.0.0.1; repeatable or comma-separated).",
)
@KUBECONFIG_OPTION
@CONTEXT_OPTION
@connection_options
@CONFIG_OPTION
def forward(
    target: str,
    ports: tuple[str, ...],
    namespace: str | None,
    addresses: tuple[str, ...],
    kubeconfig: str | None,
    context: str | None,
    overrides: ConnectionOverrides,
    config_path: str | None,
) -> None:
    """Forward local ports to a pod or a Service until interrupted.

    PORTS are REMOTE (the same local port), LOCAL:REMOTE, or :REMOTE (any free local
    port); REMOTE may be a port name. A Service's port is mapped to its target port on a
    ready pod. Exit status: 1 if the forward cannot start, 2 for bad arguments, 128+N
    after signal N.
    """
    from retina_tui.sessions.forward import ForwardSpecError, parse_ports, parse_target

    try:
        parsed_target = parse_target(target, namespace or "")
        pairs = parse_ports(list(ports))
    except ForwardSpecError as error:
        raise UsageProblem(str(error)) from error
    listen = tuple(
        part.strip() for value in addresses or ("127.0.0.1",) for part in value.split(",")
    )
    if not all(listen):
        raise UsageProblem("--address is empty; give an address such as 127.0.0.1 or 0.0.0.0.")
    import asyncio

    from retina_tui.commands.forward_main import run_forward

    sys.exit(
        asyncio.run(
            run_forward(
                parsed_target,
                pairs,
                listen,
                namespace_given=namespace is not None,
                kubeconfig=kubeconfig,
                context=context,
                overrides=overrides,
            )
        )
    )
