"""The `pods/proxy` and `services/proxy` subresources: HTTP forwarded into the cluster.

`/api/v1/namespaces/NS/pods/[SCHEME:]NAME[:PORT]/proxy/PATH` sends the request to the
pod's IP (port: the one named, else the first container port, else 80/443);
`/api/v1/namespaces/NS/services/[SCHEME:]NAME[:PORT]/proxy/PATH` to a ready endpoint of
the Service's EndpointSlices, the port picked by its name (a number is first turned into
the Service port's name), as the API server does. The response is streamed back; an
absolute or root-relative `Location` pointing at the backend is rewritten to go through
the proxy again. Connections start in the control-plane node's network namespace (the
pod network is only reachable inside the cluster), or in this process's own in host mode.
The errors are the API server's: 400 `invalid pod request`, 404 for a missing object,
503 `no endpoints available for service "x"` and `error trying to reach service: ...`.
Upgrades (WebSockets) are not proxied.
"""

from __future__ import annotations

import asyncio
import errno
import random
import socket
import ssl
import urllib.parse
from dataclasses import dataclass
from typing import Final, Protocol

from aiohttp import web

from retina_tui.sandbox import netns_socket
from retina_tui.sandbox.errors import ApiError, bad_request, not_found
from retina_tui.sandbox.store import Obj, Store

CONNECT_TIMEOUT: Final = 10.0
HEADER_LIMIT: Final = 64 * 1024
CHUNK: Final = 64 * 1024
HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
VERBS: Final = {
    "GET": "get",
    "HEAD": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}


class ClusterNetwork(Protocol):
    """What the proxy needs from the sandbox network."""

    def node_names(self) -> list[str]: ...

    def node_netns(self, node: str) -> str | None: ...


@dataclass(frozen=True)
class ProxyPath:
    """A parsed proxy URL."""

    namespace: str
    resource: str
    ident: str
    """The name segment as sent: `name`, `name:port` or `scheme:name:port`."""
    rest: str
    """The path after `/proxy`, still percent-encoded ("" when there is none)."""
    prefix: str
    """The path up to and including `/proxy`."""


@dataclass(frozen=True)
class Backend:
    scheme: str
    ip: str
    port: int


def match(raw_path: str) -> ProxyPath | None:
    """The proxy request a raw URL path asks for, or None if it is not one."""
    path = raw_path.split("?", 1)[0]
    parts = path.split("/")
    if (
        len(parts) < 8
        or parts[:4] != ["", "api", "v1", "namespaces"]
        or parts[5] not in ("pods", "services")
        or parts[7] != "proxy"
        or not parts[4]
        or not parts[6]
    ):
        return None
    rest = "/" + "/".join(parts[8:]) if len(parts) > 8 else ""
    return ProxyPath(
        namespace=urllib.parse.unquote(parts[4]),
        resource=parts[5],
        ident=urllib.parse.unquote(parts[6]),
        rest=rest,
        prefix="/".join(parts[:8]),
    )


def verb(method: str) -> str:
    """The RBAC verb of a proxied request, from its method as the API server maps it."""
    return VERBS.get(method, method.lower())


def split_scheme_name_port(ident: str) -> tuple[str, str, str] | None:
    """`[scheme:]name[:port]` as (scheme, name, port); None if not valid."""
    parts = ident.split(":")
    if len(parts) == 1:
        scheme, name, port = "", parts[0], ""
    elif len(parts) == 2:
        scheme, name, port = "", parts[0], parts[1]
    elif len(parts) == 3:
        scheme, name, port = parts
    else:
        return None
    if not name or scheme not in ("", "http", "https"):
        return None
    return scheme, name, port


def _unreachable(detail: str) -> ApiError:
    return ApiError(503, "ServiceUnavailable", f"error trying to reach service: {detail}")


def _pod_ip(pod: Obj) -> str:
    ip = str((pod.get("status") or {}).get("podIP") or "")
    if not ip or ip in ("0.0.0.0", "::"):
        raise bad_request("address not allowed")
    return ip


def pod_backend(store: Store, namespace: str, ident: str) -> Backend:
    """Where `pods/IDENT/proxy` goes."""
    split = split_scheme_name_port(ident)
    if split is None:
        raise bad_request(f'invalid pod request "{ident}"')
    scheme, name, port = split
    pod = store.get("pods", namespace, name)
    if pod is None:
        raise not_found("pods", name)
    containers = (pod.get("spec") or {}).get("containers") or []
    ports = [p for c in containers for p in c.get("ports") or [] if isinstance(p, dict)]
    ip = _pod_ip(pod)
    if not port:
        number = int(ports[0]["containerPort"]) if ports else (443 if scheme == "https" else 80)
    elif port.isdigit():
        number = int(port)
    else:
        named = [p for p in ports if p.get("name") == port]
        if not named:
            raise _unreachable(f"dial tcp: address {ip}:{port}: unknown port")
        number = int(named[0]["containerPort"])
    return Backend(scheme or "http", ip, number)


def service_backend(store: Store, namespace: str, ident: str) -> Backend:
    """Where `services/IDENT/proxy` goes: a ready endpoint serving the named port."""
    split = split_scheme_name_port(ident)
    if split is None:
        raise bad_request(f'invalid service request "{ident}"')
    scheme, name, port_name = split
    service = store.get("services", namespace, name)
    if service is None:
        raise not_found("services", name)
    if port_name.isdigit():
        number = int(port_name)
        declared = [
            p for p in (service.get("spec") or {}).get("ports") or [] if p.get("port") == number
        ]
        if not declared:
            raise ApiError(
                503,
                "ServiceUnavailable",
                f'no service port {number} found for service "{name}"',
            )
        port_name = declared[0].get("name") or ""
    slices = [
        s
        for s in store.list("endpointslices", namespace)
        if ((s.get("metadata") or {}).get("labels") or {}).get("kubernetes.io/service-name") == name
    ]
    if not any(s.get("endpoints") for s in slices):
        raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
    candidates = []
    for slice_ in slices:
        for port in slice_.get("ports") or []:
            if (port.get("name") or "") != port_name or port.get("port") is None:
                continue
            for endpoint in slice_.get("endpoints") or []:
                if _serves(store, namespace, endpoint):
                    candidates.append(
                        Backend(scheme or "http", endpoint["addresses"][0], port["port"])
                    )
    if not candidates:
        raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{ident}"')
    return random.choice(candidates)


def _serves(store: Store, namespace: str, endpoint: Obj) -> bool:
    """A ready endpoint that is really a pod of this namespace with that address."""
    if (endpoint.get("conditions") or {}).get("ready") is False or not endpoint.get("addresses"):
        return False
    ref = endpoint.get("targetRef") or {}
    if ref.get("kind") != "Pod" or ref.get("namespace", namespace) != namespace:
        return False
    pod = store.get("pods", namespace, ref.get("name") or "")
    return pod is not None and (pod.get("status") or {}).get("podIP") == endpoint["addresses"][0]


def _dial_error(backend: Backend, error: OSError | TimeoutError) -> ApiError:
    where = f"dial tcp {backend.ip}:{backend.port}"
    if isinstance(error, TimeoutError):
        return _unreachable(f"{where}: i/o timeout")
    texts = {
        errno.ECONNREFUSED: "connection refused",
        errno.EHOSTUNREACH: "no route to host",
        errno.ENETUNREACH: "network is unreachable",
        errno.ECONNRESET: "connection reset by peer",
    }
    text = texts.get(error.errno or 0, error.strerror or str(error))
    return _unreachable(f"{where}: connect: {text}")


class Proxy:
    """Forwards proxy requests; one instance per API server."""

    def __init__(self, store: Store, network: ClusterNetwork | None) -> None:
        self.store = store
        self.network = network

    def _netns(self) -> str | None:
        if self.network is None:
            return None
        nodes = self.network.node_names()
        return self.network.node_netns(nodes[0]) if nodes else None

    async def serve(self, request: web.Request, target: ProxyPath) -> web.StreamResponse:
        """Answer one proxy request."""
        if target.resource == "pods":
            backend = pod_backend(self.store, target.namespace, target.ident)
        else:
            backend = service_backend(self.store, target.namespace, target.ident)
        query = request.rel_url.raw_query_string
        if not target.rest:
            location = request.rel_url.raw_path + "/" + (f"?{query}" if query else "")
            raise web.HTTPMovedPermanently(location)
        body = await request.read()
        reader, writer = await self._connect(backend)
        try:
            writer.write(self._request_head(request, target, backend, query, len(body)) + body)
            await writer.drain()
            status, reason, headers = await _read_head(reader)
            response = web.StreamResponse(status=status, reason=reason)
            for key, value in headers:
                if key.lower() in HOP_BY_HOP:
                    continue
                if key.lower() == "location":
                    value = _rewrite_location(value, request, target, backend)
                response.headers.add(key, value)
            await response.prepare(request)
            if request.method != "HEAD" and status not in (204, 304) and status >= 200:
                try:
                    await _copy_body(reader, headers, response)
                except (ValueError, asyncio.IncompleteReadError, OSError):
                    # Broken off midway: the client must not take it for a whole body.
                    if request.transport is not None:
                        request.transport.close()
                    return response
            await response.write_eof()
            return response
        finally:
            writer.close()

    async def _connect(self, backend: Backend) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        sock = await netns_socket.stream_socket(self._netns(), socket.AF_INET)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await loop.sock_connect(sock, (backend.ip, backend.port))
            if backend.scheme == "https":
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                return await asyncio.open_connection(sock=sock, ssl=context, server_hostname="")
            return await asyncio.open_connection(sock=sock)
        except (OSError, TimeoutError) as error:
            sock.close()
            raise _dial_error(backend, error) from None
        except BaseException:
            sock.close()
            raise

    def _request_head(
        self, request: web.Request, target: ProxyPath, backend: Backend, query: str, length: int
    ) -> bytes:
        path = target.rest + (f"?{query}" if query else "")
        lines = [f"{request.method} {path} HTTP/1.1", f"Host: {backend.ip}:{backend.port}"]
        for key, value in request.headers.items():
            lowered = key.lower()
            if (
                lowered in HOP_BY_HOP
                or lowered in ("host", "authorization", "content-length")
                or lowered.startswith("impersonate-")
            ):
                continue
            lines.append(f"{key}: {value}")
        lines += [
            f"X-Forwarded-Uri: {request.rel_url.raw_path}",
            f"X-Forwarded-Host: {request.host}",
            f"X-Forwarded-Proto: {request.scheme}",
            "Connection: close",
        ]
        if length or request.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {length}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


async def _read_head(
    reader: asyncio.StreamReader,
) -> tuple[int, str, list[tuple[str, str]]]:
    """The status and headers of the backend's response (503 if it sends none)."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if not error.partial:
            raise _unreachable("EOF") from None
        raise _unreachable("unexpected EOF") from None
    except asyncio.LimitOverrunError:
        raise _unreachable("net/http: server response headers exceeded the limit") from None
    except OSError as error:
        raise _unreachable(f"read: {error.strerror or error}") from None
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise _unreachable(f'net/http: malformed HTTP response "{lines[0]}"')
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        key, sep, value = line.partition(":")
        if sep:
            headers.append((key.strip(), value.strip()))
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers


async def _copy_body(
    reader: asyncio.StreamReader, headers: list[tuple[str, str]], response: web.StreamResponse
) -> None:
    """Stream the backend's body (chunked, sized, or until it closes) to the client."""
    values = {key.lower(): value for key, value in headers}
    if "chunked" in values.get("transfer-encoding", "").lower():
        while True:
            size_line = await reader.readline()
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await reader.readline()
                return
            await response.write(await reader.readexactly(size))
            await reader.readexactly(2)
    remaining = int(values["content-length"]) if values.get("content-length", "").isdigit() else -1
    while remaining != 0:
        chunk = await reader.read(CHUNK if remaining < 0 else min(CHUNK, remaining))
        if not chunk:
            return
        if remaining > 0:
            remaining -= len(chunk)
        await response.write(chunk)


def _rewrite_location(value: str, request: web.Request, target: ProxyPath, backend: Backend) -> str:
    """A redirect to the backend itself, turned into one through the proxy."""
    url = urllib.parse.urlsplit(value)
    if url.netloc and url.netloc not in (f"{backend.ip}:{backend.port}", backend.ip, request.host):
        return value
    path = url.path
    if not path.startswith(target.prefix):
        path = target.prefix + "/" + path.lstrip("/")
    return urllib.parse.urlunsplit((request.scheme, request.host, path, url.query, url.fragment))
