"""The verbs on resources: list, get, create, update, patch, delete (watch is in `watching`).

Objects stay plain dicts; a list answers by joining the store's cached JSON bytes so that
10,000 pods are served without re-encoding them. Admission (validation, Pod Security)
runs on every create and update, including server-side dry runs (`?dryRun=All`), which
answer with the object without storing it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from retina_tui.sandbox import (
    admission,
    discovery,
    eviction,
    fields,
    paging,
    pods,
    protobuf,
    services,
    tables,
)
from retina_tui.sandbox.discovery import ResourceInfo
from retina_tui.sandbox.errors import ApiError, already_exists, bad_request, conflict, not_found
from retina_tui.sandbox.events import EventRecorder
from retina_tui.sandbox.httputil import bytes_response, json_response, read_json
from retina_tui.sandbox.managedfields import Shape, manager_name, record_update
from retina_tui.sandbox.managedfields import apply as apply_fields
from retina_tui.sandbox.patch import APPLY_PATCH, apply_patch, check_patch_options, parse_apply
from retina_tui.sandbox.selectors import combine, field_selector, label_selector
from retina_tui.sandbox.store import Obj, Store, encode, now_iso, parse_resource_version
from retina_tui.sandbox.watching import serve_watch

PROTOBUF = "application/vnd.kubernetes.protobuf"
LIST_KINDS = {"Pod": "PodList", "Node": "NodeList", "Namespace": "NamespaceList"}


def _dry_run(request: web.Request) -> bool:
    values = request.query.getall("dryRun", [])
    for value in values:
        if value != "All":
            raise bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return bool(values)


def _int_param(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f'{name}: Invalid value: "{value}": must be an integer') from None


class ResourceHandlers:
    """Verb handlers over one store."""

    def __init__(self, store: Store, *, finish_deletions: bool) -> None:
        self.store = store
        self.finish_deletions = finish_deletions
        self.rows = tables.RowCache(store)
        self.events = EventRecorder(store)

    async def handle(
        self,
        request: web.Request,
        verb: str,
        info: ResourceInfo,
        namespace: str,
        name: str,
        subresource: str,
    ) -> web.StreamResponse:
        """Run one verb on a resource or subresource."""
        if subresource == "eviction" and verb == "create":
            return await eviction.evict(request, self.store, namespace, name, self.delete_pod)
        if subresource == "eviction":
            raise ApiError(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            )
        if verb == "watch":
            return await serve_watch(request, self.store, info, namespace, name, self.rows)
        if verb == "list":
            return self.list(request, info, namespace)
        if verb == "get":
            return self.get(request, info, namespace, name)
        if verb == "create" and not subresource:
            return await self.create(request, info, namespace)
        if verb in ("update", "patch"):
            return await self.update(request, verb, info, namespace, name, subresource)
        if verb == "delete" and not subresource:
            return await self.delete(request, info, namespace, name)
        raise ApiError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )

    def _existing(self, info: ResourceInfo, namespace: str, name: str) -> Obj:
        obj = self.store.get(info.name, namespace, name)
        if obj is None:
            raise not_found(info.name, name, info.group)
        return obj

    def get(
        self, request: web.Request, info: ResourceInfo, namespace: str, name: str
    ) -> web.Response:
        """GET one object (as a Table when asked)."""
        obj = self._existing(info, namespace, name)
        accept = request.headers.get("Accept", "")
        if tables.wants_table(accept) and info.name in tables.PRINTERS:
            body = self.rows.table(
                info.name,
                [obj],
                {"resourceVersion": obj["metadata"]["resourceVersion"]},
                include_object=request.query.get("includeObject", "Metadata"),
            )
            return _table_response(body)
        return bytes_response(self.store.encoded(info.name, obj))

    def list(self, request: web.Request, info: ResourceInfo, namespace: str) -> web.Response:
        """List with selectors, pagination and an optional Table rendering."""
        predicate = combine(
            label_selector(request.query.get("labelSelector")),
            field_selector(request.query.get("fieldSelector"), info.kind),
        )
        rv = request.query.get("resourceVersion")
        if rv:
            parse_resource_version(rv)
        objects = self.store.list(info.name, namespace or None)
        if predicate is not None:
            objects = [obj for obj in objects if predicate(obj)]
        selected = paging.paginate(
            objects,
            across_namespaces=not namespace,
            limit=_int_param(request, "limit"),
            token=request.query.get("continue"),
            resource_version=rv,
            current_rv=int(self.store.resource_version),
            compacted_rv=self.store.compacted_version,
            count_remaining=predicate is None,
        )
        page, metadata = selected.items, selected.metadata
        accept = request.headers.get("Accept", "")
        if tables.wants_table(accept) and info.name in tables.PRINTERS:
            body = self.rows.table(
                info.name,
                page,
                metadata,
                include_object=request.query.get("includeObject", "Metadata"),
            )
            return _table_response(body)
        head = {
            "kind": LIST_KINDS.get(info.kind, info.kind + "List"),
            "apiVersion": info.api_version,
            "metadata": metadata,
        }
        prefix = encode(head)[:-1] + b',"items":['
        items = b",".join(self.store.encoded_many(info.name, page))
        return bytes_response(prefix + items + b"]}")

    def _check_namespace(self, info: ResourceInfo, namespace: str) -> Obj | None:
        if not info.namespaced:
            return None
        ns = self.store.get("namespaces", None, namespace)
        if ns is None:
            raise not_found("namespaces", namespace)
        if (ns.get("status") or {}).get("phase") == "Terminating":
            raise ApiError(
                403,
                "Forbidden",
                f"{info.name} is forbidden: unable to create new content in namespace "
                f"{namespace} because it is being terminated",
                kind=info.name,
            )
        return ns

    async def create(
        self, request: web.Request, info: ResourceInfo, namespace: str, applied: Obj | None = None
    ) -> web.Response:
        """POST a new object (or create one by server-side apply)."""
        raw = await _read_object(request, info) if applied is None else applied
        body = admission.decode_object(info.name, info.kind, raw)
        warnings = fields.validate(info.name, info.kind, body, request.query.get("fieldValidation"))
        dry_run = _dry_run(request)
        kind = body.get("kind")
        if kind is not None and kind != info.kind:
            raise bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({info.kind})"
            )
        meta = body.get("metadata")
        if not isinstance(meta, dict):
            meta = body["metadata"] = {}
        if info.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request"
                )
            meta["namespace"] = namespace
        ns = self._check_namespace(info, namespace)
        for field in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp"):
            meta.pop(field, None)
        body["apiVersion"] = info.api_version
        body["kind"] = info.kind
        if not meta.get("name") and not meta.get("generateName"):
            raise admission.invalid_name_required(info.kind)
        if meta.get("name"):
            admission.validate_metadata(info.kind, body)
        # The client owns what it sent; the defaults filled in below stay unowned.
        sent = json.loads(encode(body)) if applied is None else None
        placed = False
        if info.name == "pods":
            pods.default_pod(body)
            admission.validate_pod(body)
            admission.admit_pod_security(ns, body)
            unplaced = not (body.get("spec") or {}).get("nodeName")
            pods.schedule(self.store, body)
            placed = unplaced and bool(body["spec"].get("nodeName"))
        elif info.name == "services":
            services.default_service(body)
            services.admit(self.store, body)
        elif info.name == "namespaces":
            if not isinstance(body.get("spec"), dict):
                body["spec"] = {"finalizers": ["kubernetes"]}
            body["status"] = {"phase": "Active"}
            if not isinstance(meta.get("labels"), dict):
                meta["labels"] = {}
            meta["labels"]["kubernetes.io/metadata.name"] = meta.get("name", "")
        if sent is not None:
            self._track(request, info, {}, sent, "")
            meta.pop("managedFields", None)
            if "managedFields" in sent["metadata"]:
                meta["managedFields"] = sent["metadata"]["managedFields"]
        if dry_run:
            if meta.get("name") and self.store.get(info.name, namespace, meta["name"]):
                raise already_exists(info.name, meta["name"], info.group)
            meta.setdefault("name", (meta.get("generateName") or "") + "dryrun")
            meta["creationTimestamp"] = now_iso()
            return _warn(json_response(body, status=201), warnings)
        created = self.store.create(info.name, body)
        if placed:
            self.events.scheduled(created)
        return _warn(bytes_response(self.store.encoded(info.name, created), status=201), warnings)

    def _track(
        self, request: web.Request, info: ResourceInfo, old: Obj, new: Obj, subresource: str
    ) -> None:
        """Record the fields a write changed as its manager's (operation Update)."""
        manager = manager_name(
            request.query.get("fieldManager"), request.headers.get("User-Agent", "")
        )
        shape = _shape(info, subresource)
        record_update(old, new, manager, shape, info.api_version, now_iso(), subresource)

    async def update(
        self,
        request: web.Request,
        verb: str,
        info: ResourceInfo,
        namespace: str,
        name: str,
        subresource: str,
    ) -> web.Response:
        """PUT or PATCH (server-side apply too) an object or one of its subresources."""
        content_type = request.headers.get("Content-Type", "")
        media = content_type.split(";")[0].strip() if verb == "patch" else ""
        manager = request.query.get("fieldManager")
        force = verb == "patch" and check_patch_options(media, manager, request.query.get("force"))
        applying = media == APPLY_PATCH
        if applying:
            config = parse_apply(await request.read())
            kind = config.get("kind")
            if kind != info.kind:
                raise bad_request(
                    f"the kind in the data ({kind}) does not match the expected kind ({info.kind})"
                )
            config_meta = config.setdefault("metadata", {})
            if config_meta.setdefault("name", name) != name:
                raise bad_request(
                    f"the name of the object ({config_meta['name']}) does not match the "
                    f"name on the URL ({name})"
                )
            shape = _shape(info, subresource)

            def applied_to(live: Obj) -> Obj:
                return apply_fields(
                    live, config, str(manager), shape, force=force,
                    api_version=info.api_version, now=now_iso(), namespace=namespace,
                )  # fmt: skip

            if self.store.get(info.name, namespace, name) is None and not subresource:
                created = applied_to({})
                return await self.create(request, info, namespace, applied=created)
        current = self._existing(info, namespace, name)
        if applying:
            candidate = applied_to(self.store.copy(info.name, current))
        elif verb == "patch":
            patch_body = await read_json(request)
            candidate = apply_patch(content_type, self.store.copy(info.name, current), patch_body)
        else:
            candidate = await _read_object(request, info)
        candidate = admission.decode_object(info.name, info.kind, candidate)
        warnings = fields.validate(
            info.name, info.kind, candidate, request.query.get("fieldValidation")
        )
        dry_run = _dry_run(request)
        meta = candidate.get("metadata")
        if not isinstance(meta, dict):
            meta = candidate["metadata"] = {}
        if meta.get("name", name) != name:
            raise bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on "
                f"the URL ({name})"
            )
        wanted_rv = meta.get("resourceVersion")
        if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
            raise conflict(info.name, name, info.group)
        new = self._merge_update(info, current, candidate, subresource)
        if info.name == "services" and subresource != "status":
            services.default_service(new)
            services.admit(self.store, new, old=current)
        if applying:
            new["metadata"].pop("managedFields", None)
            if candidate["metadata"].get("managedFields"):
                new["metadata"]["managedFields"] = candidate["metadata"]["managedFields"]
            if new == current:
                return _warn(bytes_response(self.store.encoded(info.name, current)), warnings)
        else:
            self._track(request, info, current, new, subresource)
        if dry_run:
            return _warn(json_response(new), warnings)
        stored = self.store.replace(info.name, new)
        return _warn(bytes_response(self.store.encoded(info.name, stored)), warnings)

    def _merge_update(
        self, info: ResourceInfo, current: Obj, candidate: Obj, subresource: str
    ) -> Obj:
        new = self.store.copy(info.name, current)
        if subresource == "status":
            new["status"] = candidate.get("status") or {}
            return new
        if subresource == "ephemeralcontainers":
            spec = candidate.get("spec") if isinstance(candidate.get("spec"), dict) else {}
            assert isinstance(spec, dict)
            added = spec.get("ephemeralContainers") or []
            for container in added:
                if isinstance(container, dict):
                    pods.default_container(container)
            new["spec"]["ephemeralContainers"] = added
            if not added:
                new["spec"].pop("ephemeralContainers", None)
            admission.validate_ephemeral_update(current, new)
            ns = self.store.get("namespaces", None, current["metadata"]["namespace"])
            admission.admit_pod_security(ns, new)
            return new
        meta = candidate.get("metadata") or {}
        keep = current["metadata"]
        new_meta = {
            k: v
            for k, v in meta.items()
            if k not in ("uid", "creationTimestamp", "deletionTimestamp", "resourceVersion")
        }
        for field in (
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "resourceVersion",
        ):
            if field in keep:
                new_meta[field] = keep[field]
        if info.name == "pods":
            spec = candidate.get("spec") if isinstance(candidate.get("spec"), dict) else {}
            assert isinstance(spec, dict)
            merged_spec = dict(spec)
            if "ephemeralContainers" in current.get("spec", {}):
                merged_spec["ephemeralContainers"] = current["spec"]["ephemeralContainers"]
            else:
                merged_spec.pop("ephemeralContainers", None)
            result = {
                **candidate,
                "metadata": new_meta,
                "spec": merged_spec,
                "status": current.get("status", {}),
            }
            result["apiVersion"], result["kind"] = "v1", "Pod"
            admission.validate_pod_update(current, result)
            return result
        result = {**candidate, "metadata": new_meta}
        result["apiVersion"], result["kind"] = info.api_version, info.kind
        if info.name == "namespaces":
            result["status"] = current.get("status", {"phase": "Active"})
        if info.name == "services":
            result["status"] = current.get("status", {"loadBalancer": {}})
        return result

    async def delete(
        self, request: web.Request, info: ResourceInfo, namespace: str, name: str
    ) -> web.Response:
        """DELETE an object; pods go through Terminating unless the grace period is 0."""
        current = self._existing(info, namespace, name)
        options: Any = {}
        media = request.headers.get("Content-Type", "").split(";")[0].strip()
        if request.can_read_body and media == PROTOBUF:
            options = protobuf.decode_object("DeleteOptions", await request.read())
        elif request.can_read_body:
            raw = await request.read()
            if raw.strip():
                try:
                    options = json.loads(raw)
                except ValueError as error:
                    raise bad_request(
                        f"couldn't get version/kind; json parse error: {error}"
                    ) from None
        if not isinstance(options, dict):
            raise bad_request("DeleteOptions must be a JSON object")
        grace = _int_param(request, "gracePeriodSeconds")
        if grace is None and options.get("gracePeriodSeconds") is not None:
            grace = options["gracePeriodSeconds"]
            if not isinstance(grace, int) or isinstance(grace, bool):
                raise bad_request("gracePeriodSeconds must be an integer")
        preconditions = options.get("preconditions") or {}
        if isinstance(preconditions, dict):
            if preconditions.get("uid") and preconditions["uid"] != current["metadata"]["uid"]:
                raise conflict(info.name, name, info.group)
            wanted_rv = preconditions.get("resourceVersion")
            if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
                raise conflict(info.name, name, info.group)
        if _dry_run(request):
            return bytes_response(self.store.encoded(info.name, current))
        if info.name == "pods":
            return bytes_response(encode(self.delete_pod(current, grace)))
        if info.name == "namespaces":
            return bytes_response(encode(self.delete_namespace(current)))
        return bytes_response(encode(self.store.remove(info.name, namespace, name)))

    def delete_pod(self, pod: Obj, grace: int | None) -> Obj:
        """Start (or, without a node or a kubelet, finish) a pod's deletion."""
        meta = pod["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        if grace is None:
            grace = int((pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
        unscheduled = not (pod.get("spec") or {}).get("nodeName")
        if unscheduled or grace == 0 or self.finish_deletions:
            return self.store.remove("pods", namespace, name)
        if meta.get("deletionTimestamp"):
            return pod
        when = datetime.now(UTC) + timedelta(seconds=grace)

        def mark(target: Obj) -> None:
            target["metadata"]["deletionTimestamp"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            target["metadata"]["deletionGracePeriodSeconds"] = grace

        return self.store.mutate("pods", namespace, name, mark)

    def delete_namespace(self, ns: Obj) -> Obj:
        """Mark a namespace Terminating and delete what it holds."""
        name = ns["metadata"]["name"]
        for resource in ("leases", "events"):
            for obj in self.store.list(resource, name):
                self.store.remove(resource, name, obj["metadata"]["name"])
        for pod in self.store.list("pods", name):
            self.delete_pod(pod, None)
        if not self.store.list("pods", name):
            return self.store.remove("namespaces", None, name)

        def mark(target: Obj) -> None:
            target["metadata"]["deletionTimestamp"] = now_iso()
            target.setdefault("status", {})["phase"] = "Terminating"

        return self.store.mutate("namespaces", None, name, mark)

    def finish_namespaces(self) -> None:
        """Remove Terminating namespaces that no longer hold pods."""
        for ns in self.store.list("namespaces"):
            if (ns.get("status") or {}).get("phase") != "Terminating":
                continue
            name = ns["metadata"]["name"]
            if not self.store.list("pods", name):
                self.store.remove("namespaces", None, name)


def _shape(info: ResourceInfo, subresource: str) -> Shape:
    has_status = discovery.lookup(info.group, f"{info.name}/status") is not None
    return Shape.of(info.kind, subresource, has_status)


def _warn(response: web.Response, warnings: list[str]) -> web.Response:
    """Attach API warnings (kubectl prints them as `Warning: ...`)."""
    for text in warnings:
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        response.headers.add("Warning", f'299 - "{escaped}"')
    return response


def _table_response(body: bytes) -> web.Response:
    response = bytes_response(body)
    response.headers["Content-Type"] = tables.TABLE_MEDIA
    return response


async def _read_object(request: web.Request, info: ResourceInfo) -> Any:
    """The body of a create or update: JSON, or protobuf for pods (as kubectl debug sends)."""
    media = request.headers.get("Content-Type", "application/json").split(";")[0].strip()
    decodable = info.kind in protobuf.DECODABLE
    if media == PROTOBUF and decodable:
        return protobuf.decode_object(info.kind, await request.read())
    if media not in ("application/json", "", "*/*"):
        accepted = "application/json" + (f", {PROTOBUF}" if decodable else "")
        raise ApiError(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types "
            f"include: {accepted}",
        )
    return await read_json(request)
