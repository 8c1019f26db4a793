"""A minimal OpenAPI v3 document: what kubectl needs to trust server-side validation.

kubectl (create, apply, run, ...) validates manifests by default. It asks /openapi/v3
whether the PATCH operation of the object's kind accepts the `fieldValidation` query
parameter; if it does, kubectl leaves validation to the server (which is what the
sandbox's admission does) instead of downloading full schemas. So each group-version
document lists, for every kind, one PATCH operation tagged with its
group-version-kind and that parameter, and nothing else.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from retina_tui.sandbox.discovery import GROUP_VERSIONS, RESOURCES

_PARAMETERS = [
    {"name": name, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
    for name in ("dryRun", "fieldManager", "fieldValidation", "force")
]


def _prefix(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def group_document(group: str, version: str) -> dict[str, Any] | None:
    """The OpenAPI v3 document of one group-version, or None if not served."""
    if (group, version) not in _group_versions():
        return None
    paths: dict[str, Any] = {}
    for resource in RESOURCES:
        if resource.group != group or "/" in resource.name or "patch" not in resource.verbs:
            continue
        scope = "/namespaces/{namespace}" if resource.namespaced else ""
        path = f"/{_prefix(group, version)}{scope}/{resource.name}/{{name}}"
        paths[path] = {
            "patch": {
                "operationId": f"patch{resource.kind}",
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {
                    "group": group,
                    "version": version,
                    "kind": resource.kind,
                },
                "parameters": _PARAMETERS,
                "responses": {"200": {"description": "OK"}},
            }
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.37.0"},
        "paths": paths,
        "components": {},
    }


def _group_versions() -> list[tuple[str, str]]:
    return [("", "v1"), *GROUP_VERSIONS.items()]


def root() -> dict[str, Any]:
    """GET /openapi/v3: where each group-version document lives."""
    paths = {}
    for group, version in _group_versions():
        document = group_document(group, version)
        digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
        prefix = _prefix(group, version)
        paths[prefix] = {"serverRelativeURL": f"/openapi/v3/{prefix}?hash={digest.upper()}"}
    return {"paths": paths}


def lookup(path: str) -> dict[str, Any] | None:
    """The document for /openapi/v3/<prefix>, or None."""
    rest = path.removeprefix("/openapi/v3").strip("/")
    if not rest:
        return root()
    parts = rest.split("/")
    if len(parts) == 2 and parts[0] == "api":
        return group_document("", parts[1])
    if len(parts) == 3 and parts[0] == "apis":
        return group_document(parts[1], parts[2])
    return None
