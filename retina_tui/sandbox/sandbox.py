"""`run_sandbox`: the embedded cluster as one async context manager.

It wires the store, the network, the kubelet simulation and the API server, seeds the
initial objects, serves HTTPS (or HTTP) on 127.0.0.1 and writes the kubeconfig once the
server answers. Leaving the context stops the server, the kubelet (which kills every
process) and then removes the network namespaces, also when leaving by an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from retina_tui.sandbox import certs, kubeconfig, seed
from retina_tui.sandbox.auth import Authenticator
from retina_tui.sandbox.churn import Churn
from retina_tui.sandbox.clusterdns import ClusterDns
from retina_tui.sandbox.controller import Controller
from retina_tui.sandbox.endpointslices import EndpointsController
from retina_tui.sandbox.kubelet import Kubelet
from retina_tui.sandbox.kubeproxy import KubeProxy
from retina_tui.sandbox.netpol_rules import PolicyEnforcer
from retina_tui.sandbox.network import Network, default_run_prefix
from retina_tui.sandbox.server import ApiServer
from retina_tui.sandbox.store import DEFAULT_HISTORY_SECONDS, Store

DEBUG_IMAGE = "ghcr.io/retina-tui/debug"


def default_rootfs() -> dict[str, Path]:
    """The debug image's root filesystem when it was built in this checkout."""
    built = Path(__file__).resolve().parents[2] / "debug-image" / "build" / "rootfs"
    return {DEBUG_IMAGE: built} if built.is_dir() else {}


@dataclass
class SandboxOptions:
    """How to build the sandbox (see `retina-tui sandbox --help`)."""

    port: int = 0
    nodes: int = 3
    pods: int = 20
    network: str = "auto"
    churn: float = 0.0
    start_delay: float = 0.3
    # The first CrashLoopBackOff delay (a kubelet's is 10 s, doubling up to 5 minutes).
    restart_backoff: float = 10.0
    unpullable_pattern: str = "does-not-exist"
    rootfs: dict[str, Path] = field(default_factory=default_rootfs)
    windows_nodes: int = 0
    tls: bool = True
    demo: bool = False
    kubeconfig_out: Path | None = None
    kubelet: bool = True
    # How long stopping the sandbox lets containers handle SIGTERM before SIGKILL (a PID 1
    # without a handler ignores it, so such a container always takes this long).
    stop_grace: float = 1.0
    # Where cluster DNS forwards names outside the cluster ("ip" or "ip:port"); None: the
    # nameservers of the machine's /etc/resolv.conf.
    dns_upstream: list[str] | None = None
    # How long the event history for resuming watches is kept (the watch cache's window);
    # older resourceVersions get 410 Expired and clients relist.
    history_seconds: float = DEFAULT_HISTORY_SECONDS
    # False: port-forward without kubectl's WebSocket tunnel of SPDY, as before Kubernetes 1.30.
    portforward_tunnel: bool = True


@dataclass
class Sandbox:
    """A running sandbox."""

    kubeconfig_path: Path
    url: str
    store: Store
    kubelet: Kubelet | None
    network: Network
    server: ApiServer
    authenticator: Authenticator
    ca_pem: bytes | None
    endpoints: EndpointsController
    kube_proxy: KubeProxy
    network_policy: PolicyEnforcer
    dns: ClusterDns

    @property
    def admin_token(self) -> str:
        """Bearer token of the `admin` user."""
        return self.authenticator.admin_token

    @property
    def restricted_token(self) -> str:
        """Bearer token of the `restricted` user."""
        return self.authenticator.restricted_token


@asynccontextmanager
async def run_sandbox(options: SandboxOptions | None = None) -> AsyncIterator[Sandbox]:
    """Start the sandbox; yields it once it serves and its kubeconfig exists."""
    options = options or SandboxOptions()
    names = seed.node_names(options.nodes)
    temp_dir: Path | None = None
    store = Store(history_seconds=options.history_seconds)
    network = await Network.create(options.network, names, default_run_prefix())
    kubelet: Kubelet | None = None
    runner: web.AppRunner | None = None
    churn: Churn | None = None
    server: ApiServer | None = None
    controllers: list[Controller] = []
    try:
        seed.seed(
            store,
            nodes=options.nodes,
            synthetic_pods=options.pods,
            node_ip=network.node_ip,
            pod_cidr=network.pod_cidr,
            windows_nodes=options.windows_nodes,
        )
        if options.kubelet:
            kubelet = Kubelet(store, network, options)
            await kubelet.start()
        endpoints = EndpointsController(store)
        kube_proxy = KubeProxy(store, network)
        network_policy = PolicyEnforcer(store, network)
        dns = ClusterDns(store, network, options.dns_upstream)
        for started in (endpoints, kube_proxy, network_policy, dns):
            controllers.append(started)
            await started.start()
        authenticator = Authenticator()
        server = ApiServer(store, authenticator, kubelet)
        await server.start()
        runner = web.AppRunner(
            server.make_app(), handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await runner.setup()
        tls = certs.generate() if options.tls else None
        site = web.TCPSite(
            runner,
            "127.0.0.1",
            options.port,
            ssl_context=tls.server_context() if tls else None,
        )
        await site.start()
        port = _bound_port(runner)
        url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        path = options.kubeconfig_out
        if path is None:
            temp_dir = Path(tempfile.mkdtemp(prefix="retina-tui-sandbox-"))
            path = temp_dir / "kubeconfig"
        kubeconfig.write_atomically(
            path,
            kubeconfig.build(
                url,
                admin_token=authenticator.admin_token,
                restricted_token=authenticator.restricted_token,
                ca_pem=tls.ca_pem if tls else None,
            ),
        )
        churn = Churn(
            store,
            options.churn,
            [n for i, n in enumerate(names) if i < options.nodes - options.windows_nodes] or names,
            network.node_ip,
            lambda pod: server.resources.delete_pod(pod, None) if server else None,
        )
        churn.start()
        yield Sandbox(
            kubeconfig_path=path,
            url=url,
            store=store,
            kubelet=kubelet,
            network=network,
            server=server,
            authenticator=authenticator,
            ca_pem=tls.ca_pem if tls else None,
            endpoints=endpoints,
            kube_proxy=kube_proxy,
            network_policy=network_policy,
            dns=dns,
        )
    finally:
        if churn is not None:
            await churn.stop()
        for controller in reversed(controllers):
            await controller.stop()
        store.close_watchers()
        if kubelet is not None:
            await _quiet(kubelet.drop_streams())
        if runner is not None:
            await runner.cleanup()
        if server is not None:
            await server.stop()
        try:
            if kubelet is not None:
                await kubelet.stop()
        finally:
            await network.close()
            if temp_dir is not None:
                shutil.rmtree(temp_dir, ignore_errors=True)
            elif options.kubeconfig_out is not None:
                options.kubeconfig_out.unlink(missing_ok=True)


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    raise RuntimeError("the sandbox API server is not listening")


async def _quiet(awaitable: Any) -> None:
    with contextlib.suppress(TimeoutError, OSError):
        await asyncio.wait_for(awaitable, 5)
