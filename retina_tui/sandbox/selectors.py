"""Label and field selectors, parsed once per request into fast predicates.

Label selectors support `=`, `==`, `!=`, `in`, `notin`, `key` and `!key`; field
selectors support `metadata.name`, `metadata.namespace`, `spec.nodeName` and
`status.phase` (plus `involvedObject.*` for events) with `=`, `==` and `!=`.
Anything else is a 400 with the API server's wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from retina_tui.sandbox.errors import bad_request

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_SET_RE = re.compile(rf"^\s*(?P<key>{_KEY})\s+(?P<op>in|notin)\s+\((?P<values>[^)]*)\)\s*$")
_EQ_RE = re.compile(rf"^\s*(?P<key>{_KEY})\s*(?P<op>==|=|!=)\s*(?P<value>[^,\s]*)\s*$")
_EXISTS_RE = re.compile(rf"^\s*(?P<neg>!?)\s*(?P<key>{_KEY})\s*$")

FIELDS: dict[str, Callable[[Obj], Any]] = {
    "metadata.name": lambda o: o.get("metadata", {}).get("name", ""),
    "metadata.namespace": lambda o: o.get("metadata", {}).get("namespace", ""),
    "spec.nodeName": lambda o: (o.get("spec") or {}).get("nodeName") or "",
    "status.phase": lambda o: (o.get("status") or {}).get("phase") or "",
    "involvedObject.name": lambda o: (o.get("involvedObject") or {}).get("name") or "",
    "involvedObject.namespace": lambda o: (o.get("involvedObject") or {}).get("namespace") or "",
    "involvedObject.kind": lambda o: (o.get("involvedObject") or {}).get("kind") or "",
    "involvedObject.uid": lambda o: (o.get("involvedObject") or {}).get("uid") or "",
    "involvedObject.apiVersion": lambda o: (o.get("involvedObject") or {}).get("apiVersion") or "",
    "involvedObject.resourceVersion": lambda o: (
        (o.get("involvedObject") or {}).get("resourceVersion") or ""
    ),
    "involvedObject.fieldPath": lambda o: (o.get("involvedObject") or {}).get("fieldPath") or "",
    "reason": lambda o: o.get("reason") or "",
    "reportingComponent": lambda o: o.get("reportingComponent") or "",
    "source": lambda o: (o.get("source") or {}).get("component") or "",
    "type": lambda o: o.get("type") or "",
}


def _split(selector: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def _labels(obj: Obj) -> dict[str, str]:
    labels = obj.get("metadata", {}).get("labels")
    return labels if isinstance(labels, dict) else {}


def _label_requirement(text: str) -> Predicate:
    match = _SET_RE.match(text)
    if match:
        key = match["key"]
        values = {v.strip() for v in match["values"].split(",") if v.strip()}
        if match["op"] == "in":
            return lambda o: _labels(o).get(key) in values
        return lambda o: _labels(o).get(key) not in values
    match = _EQ_RE.match(text)
    if match:
        key, value = match["key"], match["value"]
        if match["op"] == "!=":
            return lambda o: _labels(o).get(key) != value
        return lambda o: _labels(o).get(key) == value
    match = _EXISTS_RE.match(text)
    if match:
        key = match["key"]
        if match["neg"]:
            return lambda o: key not in _labels(o)
        return lambda o: key in _labels(o)
    raise bad_request(f"unable to parse requirement: {text.strip()!r}")


def label_selector(selector: str | None) -> Predicate | None:
    """A predicate for a labelSelector, or None when it selects everything."""
    if not selector or not selector.strip():
        return None
    requirements = [_label_requirement(part) for part in _split(selector)]
    return lambda obj: all(req(obj) for req in requirements)


def field_selector(selector: str | None, kind: str) -> Predicate | None:
    """A predicate for a fieldSelector, or None when it selects everything."""
    if not selector or not selector.strip():
        return None
    requirements: list[Predicate] = []
    for part in _split(selector):
        if "!=" in part:
            field, value = part.split("!=", 1)
            negate = True
        elif "==" in part:
            field, value = part.split("==", 1)
            negate = False
        elif "=" in part:
            field, value = part.split("=", 1)
            negate = False
        else:
            raise bad_request(f"invalid selector: '{selector}'; can't understand '{part}'")
        getter = FIELDS.get(field.strip())
        if getter is None:
            raise bad_request(f"field label not supported: {field.strip()}")
        requirements.append(_field_predicate(getter, value.strip(), negate))
    return lambda obj: all(req(obj) for req in requirements)


def _field_predicate(getter: Callable[[Obj], Any], value: str, negate: bool) -> Predicate:
    if negate:
        return lambda o: getter(o) != value
    return lambda o: getter(o) == value


def combine(*predicates: Predicate | None) -> Predicate | None:
    """All of several optional predicates."""
    active = [p for p in predicates if p is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]
    return lambda obj: all(p(obj) for p in active)
