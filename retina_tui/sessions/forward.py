"""Local ports forwarded to a pod or a Service, that keep working when a stream drops.

A `Forward` listens on local addresses and opens one port-forward stream per accepted
connection. It resolves its target when it starts (so a typo fails at once) and again
when a stream cannot be opened or the resolution is older than a few seconds: a Service's
pod that is replaced, or a pod recreated under the same name, is picked up by the next
connection. A stream that drops ends only its own connection; the forward goes on and
counts the drop. Bytes and connections are counted for the list of forwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from retina_tui.errors import NotFoundError, RetinaTuiError
from retina_tui.kube.portforward import (
    ForwardStream,
    PortForwardError,
    StreamDropped,
    open_stream,
)
from retina_tui.sessions.forward_tunnel import Tunnel, TunnelRefused, TunnelStream, open_tunnel

if TYPE_CHECKING:
    from retina_tui.kube.client import KubeClient

RESOLVE_SECONDS: Final = 5.0
"""A resolved pod and port are re-checked after this long, on the next connection."""
CHUNK: Final = 64 * 1024
KINDS: Final = {
    **dict.fromkeys(("pod", "pods", "po"), "pod"),
    **dict.fromkeys(("svc", "service", "services"), "svc"),
}
_PORTS = re.compile(r"^(?:(\d*):)?([A-Za-z0-9-]+)$")


class ForwardError(RetinaTuiError):
    """A forward cannot start: a missing target, a pod not running, a port in use."""


class ForwardSpecError(ForwardError):
    """The target or the ports are not written as they should be."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class PortPair:
    """`local` 0 lets the system choose; `remote` is a number or a port name."""

    local: int
    remote: str


@dataclass(frozen=True, slots=True)
class ForwardTarget:
    kind: str
    """`pod` or `svc`."""
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


def parse_target(text: str, namespace: str) -> ForwardTarget:
    """`pod/NAME`, `svc/NAME` (also `service/`, `pods/`); a bare name is a pod, as in kubectl."""
    kind, _, name = text.partition("/") if "/" in text else ("pod", "", text)
    if kind.lower() not in KINDS or not name:
        raise ForwardSpecError(
            f"{text!r} is not something to forward to; give pod/NAME or svc/NAME."
        )
    return ForwardTarget(KINDS[kind.lower()], namespace, name)


def parse_ports(values: list[str] | tuple[str, ...]) -> list[PortPair]:
    """kubectl's port specs: `8080` (same local port), `18080:8080`, `:8080` (any local port);
    the remote side may be a port name."""
    if not values:
        raise ForwardSpecError("Say which ports to forward, for example 8080 or 18080:8080.")
    pairs = []
    for value in values:
        match = _PORTS.match(value.strip())
        remote = match.group(2) if match else ""
        if match is None or (remote.isdigit() and not 0 < int(remote) < 65536):
            raise ForwardSpecError(
                f"{value!r} is not a port to forward; use REMOTE, LOCAL:REMOTE or :REMOTE "
                "with ports from 1 to 65535 (REMOTE may be a port name)."
            )
        local_text = match.group(1)
        if local_text is None:
            local = int(remote) if remote.isdigit() else 0
        else:
            local = int(local_text) if local_text else 0
        if local > 65535:
            raise ForwardSpecError(f"{value!r}: the local port {local} is above 65535.")
        pairs.append(PortPair(local, remote))
    return pairs


@dataclass
class ForwardStats:
    """What the list of forwards shows."""

    connections: int = 0
    active: int = 0
    """Local connections being served (a stream may still be opening)."""
    streams: int = 0
    """Streams open to the pod."""
    bytes_in: int = 0
    """From the pod to the local side."""
    bytes_out: int = 0
    drops: int = 0
    errors: int = 0
    last_problem: str = ""
    pod: str = ""
    """The pod connections go to (for a Service, the endpoint last resolved)."""


@dataclass
class Listener:
    address: str
    local: int
    remote: str
    server: asyncio.Server | None = None


@dataclass
class _Resolved:
    pod: str
    ports: dict[str, int]
    at: float = field(default_factory=time.monotonic)


Say = Callable[[str], None]


class Forward:
    """Listening sockets for one target; `start` then `stop` (or `async with`)."""

    def __init__(
        self,
        client: KubeClient,
        target: ForwardTarget,
        ports: list[PortPair],
        *,
        addresses: tuple[str, ...] = ("127.0.0.1",),
        say: Say | None = None,
        on_problem: Say | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.target = target
        self.ports = ports
        self.addresses = addresses
        self.stats = ForwardStats()
        self.listeners: list[Listener] = []
        self._say = say or (lambda text: None)
        self._tell_problem = on_problem or self._say
        self._on_change = on_change or (lambda: None)
        self._resolved: _Resolved | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False
        self._tunnels: dict[str, Tunnel] = {}
        self._tunnel_lock = asyncio.Lock()
        self.tunnelled = True
        """Connections go through one SPDY tunnel per pod; False once the API server has
        refused it, then each connection opens its own channel WebSocket."""

    def __str__(self) -> str:
        pairs = ", ".join(f"{lst.address}:{lst.local}->{lst.remote}" for lst in self.listeners)
        return f"{self.target} ({pairs})"

    async def start(self) -> None:
        """Resolve the target and listen; raises ForwardError or a cluster error."""
        await self._resolve()
        try:
            for pair in self.ports:
                local = pair.local
                for address in self.addresses:
                    listener = Listener(address, local, pair.remote)
                    listener.server = await self._listen(address, local, pair.remote)
                    # With port 0, the other addresses take the port the first one got.
                    local = listener.local = listener.server.sockets[0].getsockname()[1]
                    self.listeners.append(listener)
        except BaseException:
            await self.stop()
            raise

    async def _listen(self, address: str, local: int, remote: str) -> asyncio.Server:
        def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            port = int(writer.get_extra_info("sockname")[1])  # `local` may be 0
            task = asyncio.create_task(
                self._serve(reader, writer, port, remote), name=f"forward-{port}-{remote}"
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        try:
            return await asyncio.start_server(accept, address, local, reuse_address=True)
        except OSError as exc:
            raise ForwardError(
                f"Cannot listen on {address}:{local}: {exc.strerror or exc}; choose another "
                f"local port, as in 18080:{remote}, or :{remote} for any free one."
            ) from exc

    async def stop(self) -> None:
        """Close the listeners and every forwarded connection."""
        self._stopped = True
        for listener in self.listeners:
            if listener.server is not None:
                listener.server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        for listener in self.listeners:
            if listener.server is not None:
                await listener.server.wait_closed()
                listener.server = None
        tunnels, self._tunnels = list(self._tunnels.values()), {}
        for tunnel in tunnels:
            await tunnel.close()

    async def __aenter__(self) -> Forward:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # Resolution -----------------------------------------------------------------

    async def _resolve(self) -> _Resolved:
        async with self._lock:
            if self._resolved and time.monotonic() - self._resolved.at < RESOLVE_SECONDS:
                return self._resolved
            if self.target.kind == "pod":
                resolved = await self._resolve_pod(self.target.name)
            else:
                resolved = await self._resolve_service()
            for pair in self.ports:
                if pair.remote in resolved.ports:
                    continue
                if self.target.kind == "svc":
                    known = ", ".join(sorted(resolved.ports)) or "none"
                    raise ForwardError(
                        f"{self.target} has no port {pair.remote} (its ports: {known}); "
                        "forward one of them."
                    )
                if not pair.remote.isdigit():
                    raise ForwardError(
                        f"{self.target} has no port named {pair.remote!r}; give its number."
                    )
            self._resolved = resolved
            self.stats.pod = resolved.pod
            return resolved

    async def _get(self, path: str, what: str) -> dict[str, Any]:
        try:
            return await self.client.request("GET", path)
        except NotFoundError as exc:
            raise ForwardError(
                f"{what} was not found in namespace {self.target.namespace}; check the name "
                "and the namespace (-n)."
            ) from exc

    async def _resolve_pod(self, name: str) -> _Resolved:
        ns = self.target.namespace
        pod = await self._get(f"/api/v1/namespaces/{ns}/pods/{name}", f"pod/{name}")
        phase = (pod.get("status") or {}).get("phase") or "Unknown"
        if phase != "Running":
            raise ForwardError(
                f"pod/{name} is {phase}, not Running, so its ports cannot be forwarded; "
                "wait for it or pick another pod."
            )
        ports: dict[str, int] = {}
        for container in (pod.get("spec") or {}).get("containers") or ():
            for port in container.get("ports") or ():
                number = port.get("containerPort")
                if port.get("name") and isinstance(number, int):
                    ports[str(port["name"])] = number
        return _Resolved(name, ports)

    async def _resolve_service(self) -> _Resolved:
        ns, name = self.target.namespace, self.target.name
        service = await self._get(f"/api/v1/namespaces/{ns}/services/{name}", f"svc/{name}")
        spec = service.get("spec") or {}
        selector = spec.get("selector") or {}
        if not selector:
            raise ForwardError(
                f"svc/{name} has no selector, so no pod stands behind it to forward to; "
                "forward to one of its backends as pod/NAME."
            )
        pod = await self._service_pod(name, selector)
        if pod is None:
            raise ForwardError(
                f"svc/{name} has no ready pod to forward to; see which pods it selects "
                "and why they are not ready."
            )
        backend = await self._resolve_pod(pod)
        ports: dict[str, int] = {}
        for port in spec.get("ports") or ():
            raw = str(port.get("targetPort", port.get("port")))
            target = int(raw) if raw.isdigit() else backend.ports.get(raw, 0)
            if target and port.get("port"):
                ports[str(port["port"])] = target
                if port.get("name"):
                    ports[str(port["name"])] = target
        return _Resolved(pod, ports)

    async def _service_pod(self, name: str, selector: dict[str, str]) -> str | None:
        """A ready endpoint of the Service, else a ready pod its selector picks (the
        EndpointSlices lag a pod that has just become ready)."""
        ns = self.target.namespace
        slices = await self.client.request(
            "GET",
            f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
            params={"labelSelector": f"kubernetes.io/service-name={name}"},
        )
        for item in slices.get("items") or []:
            for endpoint in item.get("endpoints") or ():
                ref = endpoint.get("targetRef") or {}
                ready = (endpoint.get("conditions") or {}).get("ready", True)
                if ready and ref.get("kind") == "Pod" and ref.get("name"):
                    return str(ref["name"])
        labels = ",".join(f"{key}={value}" for key, value in sorted(selector.items()))
        pods = await self.client.request(
            "GET", f"/api/v1/namespaces/{ns}/pods", params={"labelSelector": labels}
        )
        ready = []
        for pod in pods.get("items") or []:
            status = pod.get("status") or {}
            conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or ()}
            pod_name = (pod.get("metadata") or {}).get("name")
            if pod_name and status.get("phase") == "Running" and conditions.get("Ready") == "True":
                ready.append(str(pod_name))
        return min(ready, default=None)

    # Connections ----------------------------------------------------------------

    async def _open(self, remote: str) -> ForwardStream | TunnelStream:
        for attempt in range(2):
            resolved = await self._resolve()
            port = resolved.ports.get(remote) or (int(remote) if remote.isdigit() else 0)
            try:
                if self.tunnelled:
                    try:
                        tunnel = await self._tunnel(resolved.pod)
                        return await tunnel.open(port)
                    except TunnelRefused:
                        self.tunnelled = False
                    except StreamDropped:
                        if attempt:
                            raise
                        continue  # the tunnel died before this stream: open a new one
                stream = await open_stream(self.client, self.target.namespace, resolved.pod, port)
            except NotFoundError:
                self._resolved = None
                if attempt:
                    raise
                continue
            return stream
        raise AssertionError("unreachable")  # pragma: no cover

    async def _tunnel(self, pod: str) -> Tunnel:
        async with self._tunnel_lock:
            tunnel = self._tunnels.get(pod)
            if tunnel is not None and tunnel.alive:
                return tunnel
            if tunnel is not None:  # dead: its streams have ended with it
                await self._tunnels.pop(pod).close()
            for other, old in list(self._tunnels.items()):
                if not old.streams:  # a Service's former pod
                    await old.close()
                    del self._tunnels[other]
            tunnel = self._tunnels[pod] = await open_tunnel(self.client, self.target.namespace, pod)
            return tunnel

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, local: int, remote: str
    ) -> None:
        self.stats.connections += 1
        self.stats.active += 1
        self._say(f"Handling connection for {local}")
        self._on_change()
        stream: ForwardStream | TunnelStream | None = None
        try:
            stream = await self._open(remote)
            self.stats.last_problem = ""
            self.stats.streams += 1
            self._on_change()
            try:
                await self._pump(reader, writer, stream)
            finally:
                self.stats.streams -= 1
        except StreamDropped as exc:
            self.stats.drops += 1
            self._resolved = None
            self._problem(f"{exc}; the next connection opens a new stream")
        except PortForwardError as exc:
            self.stats.errors += 1
            self._problem(str(exc))
        except RetinaTuiError as exc:
            self.stats.errors += 1
            self._resolved = None
            self._problem(str(exc))
        except (ConnectionError, OSError):
            pass
        finally:
            self.stats.active -= 1
            if stream is not None:
                with contextlib.suppress(Exception):
                    await stream.close()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._on_change()

    def _problem(self, text: str) -> None:
        self.stats.last_problem = text
        if not self._stopped:
            self._tell_problem(f"{self.target}: {text}")

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        stream: ForwardStream | TunnelStream,
    ) -> None:
        async def upstream() -> None:
            while data := await reader.read(CHUNK):
                await stream.write(data)
                self.stats.bytes_out += len(data)
            await stream.end_write()

        sending = asyncio.create_task(upstream(), name="forward-upstream")
        try:
            while data := await stream.read():
                writer.write(data)
                self.stats.bytes_in += len(data)
                await writer.drain()
        finally:
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, RetinaTuiError):
                await sending
