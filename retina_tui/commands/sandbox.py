"""`retina-tui sandbox`: serve the embedded cluster until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click


@click.command("sandbox")
@click.option(
    "--kubeconfig-out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the kubeconfig (written once the server is serving).",
)
@click.option("--port", type=int, default=0, show_default=True, help="Port (0: any free port).")
@click.option("--nodes", type=click.IntRange(1, 250), default=3, show_default=True)
@click.option(
    "--pods",
    type=click.IntRange(0),
    default=20,
    show_default=True,
    help="Synthetic pods (no process until exec/attach).",
)
@click.option(
    "--network",
    type=click.Choice(["auto", "netns", "host"]),
    default="auto",
    show_default=True,
    help="Real network namespaces (root) or the host's.",
)
@click.option(
    "--churn",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Pod create/label/delete events per second in namespace churn.",
)
@click.option("--plain-http", is_flag=True, help="Serve plain HTTP on loopback instead of TLS.")
@click.option("--no-kubelet", is_flag=True, hidden=True, help="Serve the API only.")
def sandbox(
    kubeconfig_out: Path,
    port: int,
    nodes: int,
    pods: int,
    network: str,
    churn: float,
    plain_http: bool,
    no_kubelet: bool,
) -> None:
    """Run an embedded Kubernetes cluster that kubectl and retina-tui can use."""
    from retina_tui.sandbox import SandboxOptions, run_sandbox

    options = SandboxOptions(
        port=port,
        nodes=nodes,
        pods=pods,
        network=network,
        churn=churn,
        tls=not plain_http,
        kubeconfig_out=kubeconfig_out.absolute(),
        kubelet=not no_kubelet,
    )

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            async with run_sandbox(options) as running:
                click.echo(
                    f"Sandbox cluster serving at {running.url}; kubeconfig in "
                    f"{running.kubeconfig_path}: try `kubectl --kubeconfig "
                    f"{running.kubeconfig_path} get pods -A` (Ctrl-C stops it).",
                )
                await stop.wait()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)

    asyncio.run(serve())
