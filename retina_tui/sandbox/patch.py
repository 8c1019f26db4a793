"""The three patch types of the Kubernetes API: JSON merge, strategic merge and JSON patch.

Strategic merge knows the merge keys of the lists kubectl patches (containers,
ephemeralContainers, env, ports, volumes, ...) and the `$patch`, `$retainKeys`,
`$setElementOrder/` and `$deleteFromPrimitiveList/` directives kubectl sends.
"""

from __future__ import annotations

import copy
import json
from contextvars import ContextVar
from typing import Any

import yaml  # type: ignore[import-untyped]

from retina_tui.sandbox.errors import ApiError, bad_request, field_cause

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (MERGE_PATCH, STRATEGIC_PATCH, JSON_PATCH)

MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "hostAliases": "ip",
    "ownerReferences": "uid",
    "resourceClaims": "name",
    "addresses": "type",
    "readinessGates": "conditionType",
}
# A Service's ports are keyed by their port number, a container's by containerPort.
KIND_MERGE_KEYS: dict[str, dict[str, str]] = {"Service": {**MERGE_KEYS, "ports": "port"}}
_merge_keys: ContextVar[dict[str, str]] = ContextVar("merge_keys", default=MERGE_KEYS)
PRIMITIVE_MERGE_LISTS = frozenset({"finalizers"})
_ORDER_PREFIX = "$setElementOrder/"
_DELETE_PRIMITIVE_PREFIX = "$deleteFromPrimitiveList/"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Kubernetes strategic merge patch of one object."""
    if not isinstance(patch, dict):
        raise bad_request("strategic merge patch must be a JSON object")
    target = target if isinstance(target, dict) else {}
    token = _merge_keys.set(KIND_MERGE_KEYS.get(str(target.get("kind")), MERGE_KEYS))
    try:
        return _merge_map(target, patch)
    finally:
        _merge_keys.reset(token)


def _merge_map(target: dict[str, Any], patch: dict[str, Any]) -> Any:
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if not k.startswith("$")}
    if directive is not None:
        raise bad_request(f"unknown patch directive: {directive}")
    result = dict(target)
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith(_ORDER_PREFIX):
            if isinstance(value, list):
                orders[key[len(_ORDER_PREFIX) :]] = value
            continue
        if key.startswith(_DELETE_PRIMITIVE_PREFIX):
            field = key[len(_DELETE_PRIMITIVE_PREFIX) :]
            current = result.get(field)
            if isinstance(current, list) and isinstance(value, list):
                result[field] = [item for item in current if item not in value]
            continue
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        current = result.get(key)
        if isinstance(value, dict):
            merged = _merge_map(current if isinstance(current, dict) else {}, value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(key, current if isinstance(current, list) else [], value)
        else:
            result[key] = copy.deepcopy(value)
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _apply_order(field, result[field], order)
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(field: str, current: list[Any], patch: list[Any]) -> list[Any]:
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [
            copy.deepcopy(item)
            for item in patch
            if not (isinstance(item, dict) and item.get("$patch") == "replace")
        ]
    if field in PRIMITIVE_MERGE_LISTS:
        merged = list(current)
        for item in patch:
            if item not in merged:
                merged.append(copy.deepcopy(item))
        return merged
    key = _merge_keys.get().get(field)
    if key is None or not all(isinstance(item, dict) for item in patch):
        return copy.deepcopy(patch)
    result = [copy.deepcopy(item) for item in current]
    for item in patch:
        if key not in item:
            raise bad_request(f"map: {item} does not contain declared merge key: {key}")
        index = next(
            (i for i, existing in enumerate(result) if _get(existing, key) == item[key]), None
        )
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
            continue
        if index is None:
            merged = _merge_map({}, item)
            if merged is not None:
                result.append(merged)
        else:
            merged = _merge_map(result[index], item)
            if merged is None:
                result.pop(index)
            else:
                result[index] = merged
    return result


def _get(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else None


def _apply_order(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    key = _merge_keys.get().get(field)
    if key is None:
        return items

    def rank(item: Any) -> int:
        value = _get(item, key)
        for i, entry in enumerate(order):
            if isinstance(entry, dict) and entry.get(key) == value:
                return i
        return len(order)

    return sorted(items, key=rank)


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 JSON patch; failures are 422 as the API server reports them."""
    if not isinstance(operations, list):
        raise bad_request("json patch must be a JSON array of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or not isinstance(op.get("op"), str):
            raise bad_request(f"invalid json patch operation: {op}")
        doc = _apply_operation(doc, op)
    return doc


def _rejected(detail: str) -> ApiError:
    return ApiError(
        422,
        "Invalid",
        f"the server rejected our request due to an error in our request: {detail}",
    )


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise bad_request(f"invalid json patch path: {path!r}")
    if path == "":
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _resolve(doc: Any, parts: list[str], op: str) -> Any:
    node = doc
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _rejected(f"jsonpatch {op} operation does not apply: doc is missing path")
    return node


def _apply_operation(doc: Any, op: dict[str, Any]) -> Any:
    kind = op["op"]
    parts = _pointer(op.get("path"))
    if kind == "test":
        if _resolve(doc, parts, kind) != op.get("value"):
            raise _rejected(f"testing value {op.get('path')} failed")
        return doc
    if kind in ("move", "copy"):
        source = _pointer(op.get("from"))
        value = copy.deepcopy(_resolve(doc, source, kind))
        if kind == "move":
            doc = _remove(doc, source)
        return _add(doc, parts, value)
    if kind == "remove":
        return _remove(doc, parts)
    if "value" not in op:
        raise bad_request(f"json patch {kind} operation needs a value")
    if kind == "add":
        return _add(doc, parts, copy.deepcopy(op["value"]))
    if kind == "replace":
        _resolve(doc, parts, kind)
        doc = _remove(doc, parts)
        return _add(doc, parts, copy.deepcopy(op["value"]))
    raise bad_request(f"unknown json patch operation: {kind}")


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _resolve(doc, parts[:-1], "add")
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise _rejected("jsonpatch add operation does not apply: index out of range")
    else:
        raise _rejected("jsonpatch add operation does not apply: doc is missing path")
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return None
    parent = _resolve(doc, parts[:-1], "remove")
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        parent.pop(int(last))
    else:
        raise _rejected("jsonpatch remove operation does not apply: doc is missing path")
    return doc


def apply_patch(content_type: str, target: dict[str, Any], patch: Any) -> Any:
    """Apply a patch body of one of the supported media types (415 otherwise)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == MERGE_PATCH:
        if not isinstance(patch, dict):
            raise bad_request("merge patch must be a JSON object")
        return merge_patch(target, patch)
    if media == STRATEGIC_PATCH:
        return strategic_merge_patch(target, patch)
    if media == JSON_PATCH:
        return json_patch(target, patch)
    raise unsupported_media(media)


class _JsonLoader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML as Kubernetes reads it: timestamps stay strings."""


_JsonLoader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_apply(raw: bytes) -> dict[str, Any]:
    """The body of a server-side apply: one object as YAML (JSON is YAML too)."""
    try:
        body = json.loads(raw)
    except ValueError:
        try:
            body = yaml.load(raw, Loader=_JsonLoader)
            json.dumps(body)
        except (yaml.YAMLError, TypeError, ValueError) as error:
            raise bad_request(f"error decoding YAML: {error}") from None
    if not isinstance(body, dict):
        raise bad_request("error decoding YAML: the applied configuration must be an object")
    meta = body.get("metadata", {})
    if not isinstance(meta, dict):
        raise bad_request("error decoding YAML: metadata must be an object")
    if meta.get("managedFields") is not None:
        raise bad_request("metadata.managedFields must be nil")
    return body


def check_patch_options(media: str, field_manager: str | None, force: str | None) -> bool:
    """Validate fieldManager and force as PatchOptions; returns whether force is set."""
    causes = []
    if media == APPLY_PATCH and not field_manager:
        causes.append(
            field_cause(
                "FieldValueRequired",
                "fieldManager",
                "Required value: is required for apply requests",
            )
        )
    if force is not None and media != APPLY_PATCH:
        causes.append(
            field_cause(
                "FieldValueForbidden",
                "force",
                "Forbidden: may not be specified for non-apply patch",
            )
        )
    if causes:
        text = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
        text = f"[{text}]" if len(causes) > 1 else text
        raise ApiError(
            422,
            "Invalid",
            f'PatchOptions.meta.k8s.io "" is invalid: {text}',
            causes=causes,
            name="",
            kind="PatchOptions",
            group="meta.k8s.io",
        )
    if force not in (None, "", "true", "false"):
        raise bad_request(f'force: Invalid value: "{force}": must be a boolean')
    return force == "true"


def unsupported_media(media: str) -> ApiError:
    """415 for a patch Content-Type the server does not accept."""
    accepted = ", ".join(PATCH_TYPES)
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{accepted}",
    )
