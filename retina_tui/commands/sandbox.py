"""`retina-tui sandbox`: serve the embedded cluster until SIGINT or SIGTERM."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import click

from retina_tui.errors import ConfigError


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
    "--windows-nodes",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="How many of the nodes run (simulated) Windows Server 2022, with a few Windows pods.",
)
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
@click.option(
    "--rootfs",
    "rootfs",
    multiple=True,
    metavar="PREFIX=DIR",
    help="Run images whose name starts with PREFIX chrooted in DIR (repeatable).",
)
@click.option(
    "--history-seconds",
    type=click.FloatRange(0),
    default=75.0,
    show_default=True,
    help="How long watch history is kept; older resourceVersions get 410 Expired.",
)
@click.option(
    "--restart-backoff",
    type=click.FloatRange(0),
    default=10.0,
    show_default=True,
    help="First CrashLoopBackOff delay before a crashed container restarts (doubles).",
)
@click.option("--no-kubelet", is_flag=True, hidden=True, help="Serve the API only.")
def sandbox(
    kubeconfig_out: Path,
    port: int,
    nodes: int,
    windows_nodes: int,
    pods: int,
    network: str,
    churn: float,
    plain_http: bool,
    rootfs: tuple[str, ...],
    history_seconds: float,
    restart_backoff: float,
    no_kubelet: bool,
) -> None:
    """Run an embedded Kubernetes cluster that kubectl and retina-tui can use.

    SIGUSR1 drops every open exec/attach/port-forward stream and log follow (the processes keep
    running), which is how clients' reconnection is exercised.
    """
    import asyncio

    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    from retina_tui.sandbox import SandboxOptions, run_sandbox
    from retina_tui.sandbox.sandbox import default_rootfs

    if windows_nodes >= nodes:
        raise ConfigError(
            f"--windows-nodes {windows_nodes} leaves no Linux node of --nodes {nodes}, and the "
            "cluster's own pods need one; give fewer Windows nodes or more nodes."
        )
    images = default_rootfs()
    for entry in rootfs:
        prefix, sep, directory = entry.partition("=")
        if not sep or not prefix or not directory:
            raise ConfigError(
                f"--rootfs {entry!r} is not PREFIX=DIR; write it as image-prefix=/path."
            )
        images[prefix] = Path(directory).absolute()

    options = SandboxOptions(
        port=port,
        nodes=nodes,
        windows_nodes=windows_nodes,
        pods=pods,
        network=network,
        churn=churn,
        tls=not plain_http,
        kubeconfig_out=kubeconfig_out.absolute(),
        kubelet=not no_kubelet,
        rootfs=images,
        history_seconds=history_seconds,
        restart_backoff=restart_backoff,
    )

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        drops: set[asyncio.Task[object]] = set()
        kubelets: list[Any] = []

        def drop_streams() -> None:
            for kubelet in kubelets:
                task = asyncio.create_task(kubelet.drop_streams(), name="sandbox-drop-streams")
                drops.add(task)
                task.add_done_callback(drops.discard)

        signals = {signal.SIGINT: stop.set, signal.SIGTERM: stop.set, signal.SIGUSR1: drop_streams}
        for signum, handler in signals.items():
            loop.add_signal_handler(signum, handler)
        try:
            async with run_sandbox(options) as running:
                if running.kubelet is not None:
                    kubelets.append(running.kubelet)
                click.echo(
                    f"Sandbox cluster serving at {running.url}; kubeconfig in "
                    f"{running.kubeconfig_path}: try `kubectl --kubeconfig "
                    f"{running.kubeconfig_path} get pods -A` (Ctrl-C stops it).",
                )
                await stop.wait()
                kubelets.clear()
                if drops:
                    await asyncio.wait(drops)
        finally:
            for signum in signals:
                loop.remove_signal_handler(signum)

    asyncio.run(serve())
