"""The HTTP side of the embedded API server: routing, authentication, authorization.

One catch-all route parses Kubernetes paths itself (`/api/v1/namespaces/NS/pods/NAME/SUB`,
`/apis/GROUP/VERSION/...`), authenticates the bearer token (and the impersonation it
asks for), authorizes the request
against the RBAC rules, then hands it to the verb handlers in `resources`. Every error
leaves as a metav1 Status; nothing a client sends can produce a 500 or a hang.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from retina_tui.sandbox import (
    auth,
    budgets,
    discovery,
    metrics,
    openapi,
    podlogs,
    protobuf,
    proxy,
    reviews,
)
from retina_tui.sandbox.errors import ApiError, not_found, status_object
from retina_tui.sandbox.httputil import json_response, read_json, status_response
from retina_tui.sandbox.resources import ResourceHandlers
from retina_tui.sandbox.store import Store

log = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({"/healthz", "/livez", "/readyz"})
REVIEWS = frozenset({"selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"})


class KubeletLike(Protocol):
    """What the server needs from the kubelet simulation."""

    @property
    def network(self) -> proxy.ClusterNetwork: ...

    async def handle_exec(
        self, request: web.Request, namespace: str, pod: str
    ) -> web.StreamResponse: ...

    async def handle_attach(
        self, request: web.Request, namespace: str, pod: str
    ) -> web.StreamResponse: ...

    async def handle_logs(
        self, request: web.Request, namespace: str, pod: str, container: str
    ) -> web.StreamResponse: ...

    async def handle_portforward(
        self, request: web.Request, namespace: str, pod: str
    ) -> web.StreamResponse: ...


@dataclass(frozen=True)
class Target:
    """A parsed resource path."""

    group: str
    version: str
    namespace: str
    resource: str
    name: str
    subresource: str


def _missing_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def parse_target(path: str) -> Target | None:
    """Split a resource URL into its parts; None if it is not a resource URL."""
    segments = [s for s in path.split("/") if s]
    if len(segments) >= 3 and segments[0] == "api":
        group, version, rest = "", segments[1], segments[2:]
    elif len(segments) >= 4 and segments[0] == "apis":
        group, version, rest = segments[1], segments[2], segments[3:]
    else:
        return None
    namespace = ""
    if (
        rest[0] == "namespaces"
        and len(rest) >= 3
        and not (len(rest) == 3 and rest[2] in ("status", "finalize"))
    ):
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    return Target(
        group=group,
        version=version,
        namespace=namespace,
        resource=rest[0],
        name=rest[1] if len(rest) > 1 else "",
        subresource=rest[2] if len(rest) > 2 else "",
    )


def request_verb(request: web.Request, target: Target) -> str:
    """The RBAC verb of a request."""
    if target.subresource in ("exec", "attach", "portforward"):
        return "create"
    method = request.method
    if method == "GET":
        watching = request.query.get("watch", "").lower() in ("1", "true")
        if watching:
            return "watch"
        return "get" if target.name else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if target.name else "deletecollection"
    raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method: {method}")


class ApiServer:
    """The aiohttp application of the embedded cluster."""

    def __init__(
        self,
        store: Store,
        authenticator: auth.Authenticator,
        kubelet: KubeletLike | None = None,
    ) -> None:
        self.store = store
        self.authenticator = authenticator
        self.kubelet = kubelet
        self.resources = ResourceHandlers(store, finish_deletions=kubelet is None)
        self.proxy = proxy.Proxy(store, kubelet.network if kubelet is not None else None)
        self.budgets = budgets.DisruptionController(store)
        self.requests = metrics.RequestCounter()
        self._finalizer: asyncio.Task[None] | None = None
        self._warmup: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the namespace finalizer (removes Terminating namespaces once empty) and the
        PodDisruptionBudget status controller."""
        self._finalizer = asyncio.create_task(self._finalize(), name="sandbox-ns-finalizer")
        self._warmup = asyncio.create_task(self._warm(), name="sandbox-table-warmup")
        await self.budgets.start()

    async def stop(self) -> None:
        """Stop the background tasks."""
        await self.budgets.stop()
        for task in (self._finalizer, self._warmup):
            if task is not None:
                task.cancel()
                await asyncio.wait([task])
        self._finalizer = self._warmup = None

    async def _warm(self) -> None:
        """Render the Table rows of every pod and node once, so the first `get` is fast."""
        for resource in ("nodes", "pods"):
            objects = self.store.list(resource)
            for start in range(0, len(objects), 500):
                self.resources.rows.rows(resource, objects[start : start + 500], "Metadata")
                await asyncio.sleep(0)

    async def _finalize(self) -> None:
        while True:
            watcher = self.store.watch("pods")
            try:
                async for kind, _ in watcher:
                    if kind == "DELETED":
                        self.resources.finish_namespaces()
            finally:
                watcher.close()

    def make_app(self) -> web.Application:
        """The aiohttp application (one catch-all route, errors as Status)."""
        app = web.Application(middlewares=[self._errors], client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    @web.middleware
    async def _errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        code = 500
        try:
            response: web.StreamResponse = await handler(request)
            code = response.status
            return response
        except ApiError as error:
            failed = status_response(error)
            code = failed.status
            return failed
        except web.HTTPException as error:
            code = error.status
            raise
        except (asyncio.CancelledError, ConnectionError):
            raise
        except Exception as error:
            log.exception("internal error serving %s %s", request.method, request.path)
            return json_response(
                status_object(500, "InternalError", f"Internal error occurred: {error}"),
                status=500,
            )
        finally:
            self._count(request, code)

    def _count(self, request: web.Request, code: int) -> None:
        target = parse_target(request.path.rstrip("/") or "/")
        if target is None:
            return
        watching = request.query.get("watch") in ("1", "true")
        verb = metrics.verb_of(request.method, bool(target.name), target.subresource, watching)
        self.requests.count(verb, target.group, target.resource, target.subresource, code)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if path in PUBLIC_PATHS:
            return web.Response(text="ok")
        user = auth.impersonate(
            self.authenticator.authenticate(request.headers.get("Authorization")), request.headers
        )
        if path == "/metrics" and request.method == "GET":
            return self.requests.response()
        proxied = proxy.match(request.rel_url.raw_path)
        if proxied is not None:
            return await self._proxy(request, user, proxied)
        accept = request.headers.get("Accept", "")
        if request.method == "GET":
            document = self._discovery(path, accept)
            if document is not None:
                return document
        target = parse_target(path)
        if target is None:
            raise _missing_path()
        return await self._resource(request, user, target)

    async def _proxy(
        self, request: web.Request, user: auth.User, target: proxy.ProxyPath
    ) -> web.StreamResponse:
        attrs = auth.Attributes(
            verb=proxy.verb(request.method),
            resource=target.resource,
            subresource="proxy",
            namespace=target.namespace,
            name=target.ident,
        )
        auth.authorize(user, attrs)
        return await self.proxy.serve(request, target)

    def _discovery(self, path: str, accept: str) -> web.Response | None:
        if path == "/version":
            return json_response(discovery.SERVER_VERSION)
        if path in ("/api", "/apis"):
            if discovery.wants_aggregated(accept):
                response = json_response(discovery.aggregated(legacy_core=path == "/api"))
                response.headers["Content-Type"] = discovery.AGGREGATED_MEDIA
                return response
            if path == "/api":
                return json_response(discovery.api_versions())
            return json_response(discovery.api_group_list())
        segments = [s for s in path.split("/") if s]
        if segments[:2] == ["openapi", "v3"]:
            spec = openapi.encoded(path)
            if spec is None:
                raise _missing_path()
            return web.Response(body=spec, content_type="application/json")
        if segments == ["openapi", "v2"]:
            body, media = openapi.v2_document(accept)
            return web.Response(body=body, headers={"Content-Type": media})
        if segments[:1] == ["openapi"]:
            raise _missing_path()
        document: dict[str, Any] | None = None
        if len(segments) == 2 and segments[0] == "api":
            document = discovery.resource_list("", segments[1])
        elif len(segments) == 2 and segments[0] == "apis":
            document = discovery.api_group(segments[1])
        elif len(segments) == 3 and segments[0] == "apis":
            document = discovery.resource_list(segments[1], segments[2])
        else:
            return None
        if document is None:
            raise _missing_path()
        return json_response(document)

    async def _resource(
        self, request: web.Request, user: auth.User, target: Target
    ) -> web.StreamResponse:
        info = discovery.lookup(target.group, target.resource)
        expected = discovery.GROUP_VERSIONS.get(target.group, "v1") if target.group else "v1"
        if info is None or target.version != expected or "/" in target.resource:
            raise _missing_path()
        if target.subresource:
            sub = discovery.lookup(target.group, f"{target.resource}/{target.subresource}")
            if sub is None or not target.name:
                raise _missing_path()
        if target.namespace and not info.namespaced:
            raise _missing_path()
        if info.namespaced and target.name and not target.namespace:
            raise _missing_path()
        verb = request_verb(request, target)
        attrs = auth.Attributes(
            verb=verb,
            resource=target.resource,
            subresource=target.subresource,
            group=target.group,
            namespace=target.namespace,
            name=target.name,
        )
        auth.authorize(user, attrs)
        if target.resource in REVIEWS:
            if verb != "create" or target.name:
                raise ApiError(
                    405,
                    "MethodNotAllowed",
                    "the server does not allow this method on the requested resource",
                )
            if target.resource == "selfsubjectrulesreviews":
                return json_response(await reviews.rules_review(request, user), status=201)
            if target.resource == "selfsubjectreviews":
                return json_response(await reviews.subject_review(request, user), status=201)
            if "protobuf" in request.headers.get("Content-Type", ""):
                body = protobuf.decode_access_review(await request.read())
            else:
                body = await read_json(request)
            return json_response(auth.self_subject_access_review(user, body), status=201)
        if target.subresource in ("exec", "attach", "portforward"):
            return await self._stream(request, target)
        if target.subresource == "log":
            return await self._log(request, target)
        return await self.resources.handle(
            request, verb, info, target.namespace, target.name, target.subresource
        )

    async def _stream(self, request: web.Request, target: Target) -> web.StreamResponse:
        if self.store.get("pods", target.namespace, target.name) is None:
            raise not_found("pods", target.name)
        if self.kubelet is None:
            raise ApiError(
                400,
                "BadRequest",
                f"pod {target.name} has no running process: this sandbox runs without a kubelet",
            )
        if target.subresource == "exec":
            return await self.kubelet.handle_exec(request, target.namespace, target.name)
        if target.subresource == "portforward":
            return await self.kubelet.handle_portforward(request, target.namespace, target.name)
        return await self.kubelet.handle_attach(request, target.namespace, target.name)

    async def _log(self, request: web.Request, target: Target) -> web.StreamResponse:
        pod = self.store.get("pods", target.namespace, target.name)
        if pod is None:
            raise not_found("pods", target.name)
        container = podlogs.pick_container(pod, request.query.get("container", ""))
        if self.kubelet is None:
            podlogs.read_query(request)
            return web.Response(body=b"", content_type="text/plain")
        return await self.kubelet.handle_logs(request, target.namespace, target.name, container)
