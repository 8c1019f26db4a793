"""OpenAPI documents: v3 per group-version (for `kubectl explain` and apply) and a bare v2.

Each v3 group-version document holds the component schemas of its kinds (see
`openapi_types`) and, for every kind, its POST and PATCH operations (`kubectl explain`
finds a resource's kind through them) with the `fieldValidation` query parameter:
kubectl checks the PATCH one to decide it may leave validation to the server (which is
what the sandbox's admission does). kubectl validates a `kind: List`
itself against the v2 document; that one has no definitions, so kubectl skips its own
checks and the server validates each item. Documents are built once.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from retina_tui.sandbox.discovery import GROUP_VERSIONS, RESOURCES, SERVER_VERSION
from retina_tui.sandbox.openapi_types import components

V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_PARAMETERS = [
    {"name": name, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
    for name in ("dryRun", "fieldManager", "fieldValidation", "force")
]
_INFO = {"title": "Kubernetes", "version": SERVER_VERSION["gitVersion"]}


def _prefix(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def group_document(group: str, version: str) -> dict[str, Any] | None:
    """The OpenAPI v3 document of one group-version, or None if not served."""
    if (group, version) not in _group_versions():
        return None
    return json.loads(_encoded_group(group, version))  # type: ignore[no-any-return]


@functools.cache
def _encoded_group(group: str, version: str) -> bytes:
    paths: dict[str, Any] = {}
    for resource in RESOURCES:
        if resource.group != group or "/" in resource.name:
            continue
        gvk = {"group": group, "version": version, "kind": resource.kind}
        scope = "/namespaces/{namespace}" if resource.namespaced else ""
        collection = f"/{_prefix(group, version)}{scope}/{resource.name}"
        for verb, path in (("create", collection), ("patch", f"{collection}/{{name}}")):
            if verb in resource.verbs:
                method = "post" if verb == "create" else verb
                paths[path] = {
                    method: {
                        "operationId": f"{verb}{resource.kind}",
                        "x-kubernetes-action": "post" if verb == "create" else verb,
                        "x-kubernetes-group-version-kind": gvk,
                        "parameters": _PARAMETERS,
                        "responses": {"200": {"description": "OK"}},
                    }
                }
    document = {
        "openapi": "3.0.0",
        "info": _INFO,
        "paths": paths,
        "components": {"schemas": components(group)},
    }
    return json.dumps(document, sort_keys=True).encode()


def _group_versions() -> list[tuple[str, str]]:
    return [("", "v1"), *GROUP_VERSIONS.items()]


@functools.cache
def root() -> dict[str, Any]:
    """GET /openapi/v3: where each group-version document lives, named by its hash."""
    paths = {}
    for group, version in _group_versions():
        digest = hashlib.sha512(_encoded_group(group, version)).hexdigest().upper()
        prefix = _prefix(group, version)
        paths[prefix] = {"serverRelativeURL": f"/openapi/v3/{prefix}?hash={digest}"}
    return {"paths": paths}


def encoded(path: str) -> bytes | None:
    """The JSON bytes of the v3 document at /openapi/v3[/<prefix>], or None."""
    rest = path.removeprefix("/openapi/v3").strip("/")
    if not rest:
        return json.dumps(root()).encode()
    parts = rest.split("/")
    if len(parts) == 2 and parts[0] == "api" and ("", parts[1]) in _group_versions():
        return _encoded_group("", parts[1])
    if len(parts) == 3 and parts[0] == "apis" and (parts[1], parts[2]) in _group_versions():
        return _encoded_group(parts[1], parts[2])
    return None


def lookup(path: str) -> dict[str, Any] | None:
    """The document for /openapi/v3/<prefix>, or None."""
    raw = encoded(path)
    return None if raw is None else json.loads(raw)


def v2_document(accept: str) -> tuple[bytes, str]:
    """GET /openapi/v2: swagger 2.0 without definitions, as protobuf unless JSON is asked."""
    if "protobuf" not in accept:
        body = {"swagger": "2.0", "info": _INFO, "paths": {}, "definitions": {}}
        return json.dumps(body).encode(), "application/json"
    info = _string(1, _INFO["title"]) + _string(2, _INFO["version"])
    return _string(1, "2.0") + _field(2, info), V2_PROTOBUF


def _string(number: int, text: str) -> bytes:
    return _field(number, text.encode())


def _field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2]) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
