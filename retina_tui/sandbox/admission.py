"""Validation of what clients send, with the API server's error shapes.

Three layers, as in the real API server: decoding (a field of the wrong JSON type is a
400 BadRequest, like Go's `json: cannot unmarshal`), validation (422 Invalid with one
cause per field: names, duplicate container names, the ephemeral container rules, pod
update rules), and Pod Security Admission (403, see `psa`).
"""

from __future__ import annotations

import re
from typing import Any

from retina_tui.sandbox import psa, windows
from retina_tui.sandbox.errors import ApiError, bad_request, field_cause, invalid
from retina_tui.sandbox.schemas import SCHEMAS, SIMPLE, MapOf

Obj = dict[str, Any]
Schema = Any

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    "regex used for validation is "
    r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)


_GO_TYPES = {str: "string", bool: "bool", int: "int64", dict: "object"}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(value: Any, schema: Schema) -> bool:
    if schema is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if schema is str:
        return isinstance(value, str)
    if schema is bool:
        return isinstance(value, bool)
    if isinstance(schema, list):
        return isinstance(value, list)
    return isinstance(value, dict)


def _go_type(schema: Schema) -> str:
    if isinstance(schema, list):
        return "[]" + _go_type(schema[0])
    if isinstance(schema, MapOf):
        return "map[string]" + _go_type(schema.value)
    if isinstance(schema, dict):
        return "struct"
    return _GO_TYPES.get(schema, "object")


def check_types(kind: str, value: Any, schema: Schema, path: str = "") -> None:
    """Raise 400 where a known field has the wrong JSON type (null means absent)."""
    if value is None:
        return
    if not _type_ok(value, schema):
        raise bad_request(
            f'{kind} in version "v1" cannot be handled as a {kind}: json: cannot unmarshal '
            f"{_json_type(value)} into Go struct field {kind}.{path or 'body'} of type "
            f"{_go_type(schema)}"
        )
    if isinstance(schema, list):
        for item in value:
            check_types(kind, item, schema[0], path)
    elif isinstance(schema, MapOf):
        for key, item in value.items():
            check_types(kind, item, schema.value, f"{path}.{key}" if path else key)
    elif isinstance(schema, dict):
        for key, sub in schema.items():
            if key in value:
                check_types(kind, value[key], sub, f"{path}.{key}" if path else key)


def decode_object(resource: str, kind: str, body: Any) -> Obj:
    """Check a request body's shape for a resource; returns it as an object."""
    if not isinstance(body, dict):
        raise bad_request(
            f'{kind} in version "v1" cannot be handled as a {kind}: json: cannot unmarshal '
            f"{_json_type(body)} into Go value of type {kind}"
        )
    check_types(kind, body, SCHEMAS.get(resource, SIMPLE))
    return body


def _name_causes(name: str, path: str, *, label: bool) -> list[dict[str, str]]:
    if not name:
        return [field_cause("FieldValueRequired", path, "Required value")]
    pattern = _DNS_LABEL if label else _DNS_SUBDOMAIN
    if len(name) > (63 if label else 253) or not pattern.match(name):
        text = LABEL_MESSAGE if label else SUBDOMAIN_MESSAGE
        return [field_cause("FieldValueInvalid", path, f'Invalid value: "{name}": {text}')]
    return []


def invalid_name_required(kind: str) -> ApiError:
    """422 for an object with neither a name nor a generateName."""
    return invalid(
        kind,
        "",
        [
            field_cause(
                "FieldValueRequired",
                "metadata.name",
                "Required value: name or generateName is required",
            )
        ],
    )


def validate_metadata(kind: str, obj: Obj) -> None:
    """Object names must be DNS subdomains (422)."""
    name = obj["metadata"].get("name", "")
    causes = _name_causes(name, "metadata.name", label=kind == "Namespace")
    if causes:
        raise invalid(kind, name, causes)


def _container_causes(
    containers: list[Obj], path: str, seen: set[str], *, ephemeral: bool, regular: set[str]
) -> list[dict[str, str]]:
    causes: list[dict[str, str]] = []
    for index, container in enumerate(containers):
        here = f"{path}[{index}]"
        name = container.get("name") or ""
        found = _name_causes(name, f"{here}.name", label=True)
        causes.extend(found)
        if not found:
            if name in seen:
                causes.append(
                    field_cause("FieldValueDuplicate", f"{here}.name", f'Duplicate value: "{name}"')
                )
            seen.add(name)
        if not container.get("image"):
            causes.append(field_cause("FieldValueRequired", f"{here}.image", "Required value"))
        if ephemeral:
            for field in ("ports", "lifecycle", "livenessProbe", "readinessProbe", "resources"):
                if container.get(field):
                    causes.append(
                        field_cause(
                            "FieldValueForbidden",
                            f"{here}.{field}",
                            "Forbidden: cannot be set for an Ephemeral Container",
                        )
                    )
            target = container.get("targetContainerName")
            if target and target not in regular:
                causes.append(
                    field_cause(
                        "FieldValueNotFound",
                        f"{here}.targetContainerName",
                        f'Not found: "{target}"',
                    )
                )
    return causes


def validate_pod(pod: Obj) -> None:
    """422 for a pod spec the API server would reject."""
    name = pod["metadata"].get("name", "")
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        raise invalid("Pod", name, [field_cause("FieldValueRequired", "spec", "Required value")])
    causes: list[dict[str, str]] = []
    containers = spec.get("containers") or []
    if not containers:
        causes.append(field_cause("FieldValueRequired", "spec.containers", "Required value"))
    seen: set[str] = set()
    regular = {c.get("name") or "" for c in containers} | {
        c.get("name") or "" for c in spec.get("initContainers") or []
    }
    causes += _container_causes(
        spec.get("initContainers") or [],
        "spec.initContainers",
        seen,
        ephemeral=False,
        regular=regular,
    )
    causes += _container_causes(
        containers, "spec.containers", seen, ephemeral=False, regular=regular
    )
    causes += _container_causes(
        spec.get("ephemeralContainers") or [],
        "spec.ephemeralContainers",
        seen,
        ephemeral=True,
        regular=regular,
    )
    causes += windows.causes(spec)
    if causes:
        raise invalid("Pod", name, causes)


def validate_ephemeral_update(old: Obj, new: Obj) -> None:
    """Ephemeral containers may be added, never removed or changed (422)."""
    name = old["metadata"]["name"]
    before = old.get("spec", {}).get("ephemeralContainers") or []
    after = new.get("spec", {}).get("ephemeralContainers") or []
    by_name = {c.get("name"): (i, c) for i, c in enumerate(after)}
    causes = []
    removed = [c.get("name", "") for c in before if c.get("name") not in by_name]
    removed_text = ", ".join(f'"{n}"' for n in removed)
    for container in before:
        if container.get("name") in by_name:
            index, replacement = by_name[container.get("name")]
            if replacement != container:
                causes.append(
                    field_cause(
                        "FieldValueForbidden",
                        f"spec.ephemeralContainers[{index}]",
                        f'Forbidden: existing ephemeral containers "{container.get("name")}" '
                        "may not be changed",
                    )
                )
    if removed:
        causes.append(
            field_cause(
                "FieldValueForbidden",
                "spec.ephemeralContainers",
                f"Forbidden: existing ephemeral containers {removed_text} may not be removed",
            )
        )
    if causes:
        raise invalid("Pod", name, causes)
    validate_pod(new)


_MUTABLE_SPEC = (
    "spec.containers[*].image, spec.initContainers[*].image, spec.activeDeadlineSeconds, "
    "spec.tolerations (only additions to existing tolerations), "
    "spec.terminationGracePeriodSeconds (allow it to be set to 1 if it was previously negative)"
)


def _spec_without_mutable(spec: Obj) -> Obj:
    result = {
        k: v
        for k, v in spec.items()
        if k not in ("activeDeadlineSeconds", "tolerations", "ephemeralContainers")
    }
    for field in ("containers", "initContainers"):
        if isinstance(result.get(field), list):
            result[field] = [
                {k: v for k, v in c.items() if k != "image"} if isinstance(c, dict) else c
                for c in result[field]
            ]
    return result


def validate_pod_update(old: Obj, new: Obj) -> None:
    """Only images and a few scheduling fields of a pod's spec may change (422)."""
    validate_pod(new)
    if _spec_without_mutable(old.get("spec") or {}) != _spec_without_mutable(new.get("spec") or {}):
        raise invalid(
            "Pod",
            old["metadata"]["name"],
            [
                field_cause(
                    "FieldValueForbidden",
                    "spec",
                    f"Forbidden: pod updates may not change fields other than {_MUTABLE_SPEC}",
                )
            ],
        )


def admit_pod_security(namespace: Obj | None, pod: Obj) -> None:
    """403 if the namespace's Pod Security level forbids the pod."""
    problem = psa.check(namespace, pod.get("spec") or {})
    if problem:
        name = pod["metadata"].get("name") or ""
        raise ApiError(
            403,
            "Forbidden",
            f'pods "{name}" is forbidden: {problem}',
            name=name,
            kind="pods",
        )
