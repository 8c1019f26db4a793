"""Field ownership (`metadata.managedFields`) and server-side apply, as the API server does it.

A field set is a set of paths; each path is a tuple of FieldsV1 keys (`f:spec`,
`k:{"name":"c"}` for an item of a list keyed by merge keys, `v:"x"` for a member of a
set list). Which lists are keyed, sets or atomic follows the Kubernetes schemas.
Apply merges the applied configuration into the live object, removes what the manager
applied before and no longer applies (unless another manager owns it) and refuses to
change fields another manager owns (409, FieldManagerConflict) unless forced. Every
other write records an `Update` entry owning the fields it changed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from retina_tui.sandbox.errors import ApiError, bad_request

Obj = dict[str, Any]
Path = tuple[str, ...]
APPLY = "Apply"
UPDATE = "Update"

_CONTAINERS = frozenset({"containers", "initContainers", "ephemeralContainers"})
# Keyed lists by field name (pods; services override `ports`), with key defaults.
LIST_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "volumes": ("name",),
    "env": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",),
    "hostAliases": ("ip",),
    "resourceClaims": ("name",),
    "schedulingGates": ("name",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
    "conditions": ("type",),
    "ownerReferences": ("uid",),
}
_KEY_DEFAULTS = {"protocol": "TCP"}
_SETS = frozenset({("metadata", "finalizers"), ("spec", "podCIDRs")})
# Maps whose entries are owned one by one (their own path is a member once added).
_MAPS = frozenset(
    {"labels", "annotations", "nodeSelector", "limits", "requests", "capacity", "allocatable"}
)
_ATOMIC_ITEMS = frozenset({"ownerReferences"})
_ATOMIC_MAPS = {"Service": frozenset({("spec", "selector")})}
_IGNORED: tuple[Path, ...] = (
    ("f:apiVersion",),
    ("f:kind",),
    *(
        ("f:metadata", f"f:{name}")
        for name in (
            "name",
            "namespace",
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "managedFields",
        )
    ),
)
_NODE = object()


def list_keys(kind: str, names: tuple[str, ...]) -> tuple[str, ...] | None:
    """The merge keys of the list at `names` (field names from the root), None if not keyed."""
    last = names[-1]
    if last == "ports":
        if kind == "Service" and names == ("spec", "ports"):
            return ("port", "protocol")
        if len(names) >= 2 and names[-2] in _CONTAINERS:
            return ("containerPort", "protocol")
        return None
    if kind == "Node" and names == ("status", "addresses"):
        return ("type",)
    if kind in ("Pod", "Node", "Namespace", "Service") or names[0] == "metadata":
        return LIST_KEYS.get(last)
    return None


def key_element(keys: tuple[str, ...], item: Any, names: tuple[str, ...], index: int) -> str:
    """The `k:{...}` path element of one item of a keyed list."""
    if not isinstance(item, dict):
        raise _typed_error(names, f"element {index}: expected map, got {_go_type(item)}")
    values: dict[str, Any] = {}
    for key in sorted(keys):
        if key in item and item[key] is not None:
            values[key] = item[key]
        elif key in _KEY_DEFAULTS:
            values[key] = _KEY_DEFAULTS[key]
        else:
            raise _typed_error(
                names,
                f"element {index}: associative list with keys has an element that omits key "
                f'field "{key}" (and doesn\'t have default value)',
            )
    return "k:" + json.dumps(values, separators=(",", ":"))


def _go_type(value: Any) -> str:
    return "list" if isinstance(value, list) else "scalar"


def _typed_error(names: tuple[str, ...], detail: str) -> ApiError:
    path = "".join(f".{name}" for name in names)
    return bad_request(f"{path}: {detail}")


@dataclass(frozen=True)
class Shape:
    """What the walk needs to know about an object: its kind and the ignored prefixes."""

    kind: str
    ignored: tuple[Path, ...]

    @classmethod
    def of(cls, kind: str, subresource: str, has_status: bool) -> Shape:
        """The shape of a write to the main resource or to a subresource."""
        ignored = _IGNORED
        if subresource == "status":
            ignored = (*ignored, ("f:spec",))
        elif has_status:
            ignored = (*ignored, ("f:status",))
        return cls(kind, ignored)

    def is_ignored(self, path: Path) -> bool:
        """True for paths no manager owns (identity, bookkeeping, reset fields)."""
        return any(path[: len(prefix)] == prefix for prefix in self.ignored)


def fields_of(obj: Any, shape: Shape, *, map_members: bool) -> dict[Path, Any]:
    """Every owned path of `obj` with its leaf value (or a marker for inner members)."""
    found: dict[Path, Any] = {}
    _walk(obj, (), (), shape, map_members, found)
    return {path: value for path, value in found.items() if not shape.is_ignored(path)}


def _walk(
    value: Any,
    path: Path,
    names: tuple[str, ...],
    shape: Shape,
    map_members: bool,
    found: dict[Path, Any],
) -> None:
    if path and shape.is_ignored(path):
        return
    if isinstance(value, dict):
        if path and (not value or names in _ATOMIC_MAPS.get(shape.kind, frozenset())):
            found[path] = value
            return
        if path and map_members and names[-1] in _MAPS:
            found[path] = _NODE
        for key, child in value.items():
            _walk(child, (*path, f"f:{key}"), (*names, key), shape, map_members, found)
        return
    if isinstance(value, list) and value and names:
        keys = list_keys(shape.kind, names)
        if keys is not None:
            for index, item in enumerate(value):
                item_path = (*path, key_element(keys, item, names, index))
                if item_path in found:
                    raise bad_request(
                        f"{path_string(path)}: duplicate entries for key "
                        f"{path_string(item_path[-1:])}"
                    )
                if names[-1] in _ATOMIC_ITEMS:
                    found[item_path] = item
                    continue
                found[item_path] = _NODE
                for key, child in item.items():
                    _walk(child, (*item_path, f"f:{key}"), (*names, key), shape, False, found)
            return
        if names[-2:] in _SETS:
            for item in value:
                found[(*path, "v:" + json.dumps(item, separators=(",", ":")))] = item
            return
    if path:
        found[path] = value


def to_fields_v1(paths: Iterable[Path]) -> Obj:
    """A set of paths in the FieldsV1 JSON form (`.` marks a member that has children)."""
    root: Obj = {}
    members: set[int] = set()
    for path in paths:
        node = root
        for element in path:
            node = node.setdefault(element, {})
        members.add(id(node))
    return _finish(root, members)


def _finish(node: Obj, members: set[int]) -> Obj:
    result: Obj = {}
    if node and id(node) in members:
        result["."] = {}
    for key in sorted(node, key=_element_order):
        result[key] = _finish(node[key], members)
    return result


def _element_order(element: str) -> tuple[int, str]:
    return ("fkvi".find(element[:1]), element)


def from_fields_v1(fields: Any) -> set[Path]:
    """The paths of a FieldsV1 object (400 if it is not one)."""
    found: set[Path] = set()
    if not isinstance(fields, dict):
        raise bad_request("metadata.managedFields: fieldsV1 must be an object")
    _collect(fields, (), found)
    return found


def _collect(node: Obj, path: Path, found: set[Path]) -> None:
    for key, child in node.items():
        if key == ".":
            found.add(path)
            continue
        if not isinstance(child, dict) or not _valid_element(key):
            raise bad_request(f"metadata.managedFields: invalid fieldsV1 key {key!r}")
        if child:
            _collect(child, (*path, key), found)
        else:
            found.add((*path, key))


def _valid_element(element: str) -> bool:
    prefix, rest = element[:2], element[2:]
    if prefix == "f:":
        return True
    if prefix == "i:":
        return rest.isdigit()
    if prefix not in ("k:", "v:"):
        return False
    try:
        value = json.loads(rest)
    except ValueError:
        return False
    return prefix == "v:" or isinstance(value, dict)


def path_string(path: Path) -> str:
    """A path the way conflict messages print it: `.spec.containers[name="c"].image`."""
    parts = []
    for element in path:
        prefix, rest = element[:2], element[2:]
        if prefix == "f:":
            parts.append(f".{rest}")
        elif prefix == "k:":
            values = json.loads(rest)
            parts.append("[" + ",".join(f"{k}={_value(v)}" for k, v in values.items()) + "]")
        elif prefix == "v:":
            parts.append(f"[={_value(json.loads(rest))}]")
        else:
            parts.append(f"[{rest}]")
    return "".join(parts)


def _value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else json.dumps(value).strip('"')


@dataclass
class Manager:
    """One managedFields entry, its fields as a set of paths."""

    manager: str
    operation: str
    api_version: str
    time: str
    fields: set[Path]
    subresource: str = ""

    @property
    def identity(self) -> tuple[str, str, str]:
        """Entries are one per manager, operation and subresource."""
        return (self.manager, self.operation, self.subresource)

    def describe(self) -> str:
        """The manager as conflict messages name it."""
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == UPDATE:
            text += f" using {self.api_version}"
        return text

    def entry(self) -> Obj:
        """The metadata.managedFields entry."""
        entry: Obj = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(self.fields),
        }
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def decode(obj: Obj) -> list[Manager]:
    """The managers recorded on an object (entries without a manager are dropped)."""
    entries = (obj.get("metadata") or {}).get("managedFields")
    if not isinstance(entries, list):
        return []
    managers = []
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("manager"):
            continue
        managers.append(
            Manager(
                manager=str(entry["manager"]),
                operation=str(entry.get("operation") or UPDATE),
                api_version=str(entry.get("apiVersion") or ""),
                time=str(entry.get("time") or ""),
                fields=from_fields_v1(entry.get("fieldsV1") or {}),
                subresource=str(entry.get("subresource") or ""),
            )
        )
    return managers


def encode_into(obj: Obj, managers: list[Manager]) -> None:
    """Write managers as metadata.managedFields, sorted as the API server sorts them."""
    meta = obj.setdefault("metadata", {})
    kept = [m for m in managers if m.fields]
    if not kept:
        meta.pop("managedFields", None)
        return
    kept.sort(key=lambda m: (m.operation, m.time, m.manager, m.api_version, m.subresource))
    meta["managedFields"] = [m.entry() for m in kept]


def manager_name(field_manager: str | None, user_agent: str) -> str:
    """fieldManager if given, else the user agent up to its first `/` (printable, 128 max)."""
    if field_manager:
        return field_manager
    prefix = user_agent.split("/", 1)[0]
    return "".join(ch for ch in prefix if ch.isprintable())[:128]


def _changes(old: dict[Path, Any], new: dict[Path, Any]) -> tuple[set[Path], set[Path], set[Path]]:
    added = set(new) - set(old)
    removed = set(old) - set(new)
    modified = {
        path
        for path in set(old) & set(new)
        if not (old[path] is _NODE and new[path] is _NODE) and old[path] != new[path]
    }
    return added, removed, modified


def _reassign(
    managers: list[Manager],
    acting: tuple[str, str, str],
    old: dict[Path, Any],
    new: dict[Path, Any],
    force: bool,
) -> tuple[set[Path], set[Path], set[Path]]:
    """Take changed fields from other managers; raise the apply conflict unless forced."""
    added, removed, modified = _changes(old, new)
    changed = added | modified
    conflicts = [
        (manager, sorted(manager.fields & changed, key=_path_order))
        for manager in managers
        if manager.identity != acting and manager.fields & changed
    ]
    if conflicts and not force:
        raise conflict_error(conflicts)
    for manager in managers:
        if manager.identity != acting:
            manager.fields -= changed | removed
    return added, removed, modified


def _path_order(path: Path) -> tuple[tuple[int, str], ...]:
    return tuple(_element_order(element) for element in path)


def conflict_error(conflicts: list[tuple[Manager, list[Path]]]) -> ApiError:
    """409 Conflict worded as the API server words apply conflicts."""
    pairs = [(manager, path) for manager, paths in conflicts for path in paths]
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {manager.describe()}",
            "field": path_string(path),
        }
        for manager, path in pairs
    ]
    if len(pairs) == 1:
        manager, path = pairs[0]
        message = (
            f"Apply failed with 1 conflict: conflict with {manager.describe()}: {path_string(path)}"
        )
    else:
        lines = []
        for manager, paths in sorted(conflicts, key=lambda c: c[0].describe()):
            lines.append(f"conflicts with {manager.describe()}:")
            lines.extend(f"- {path_string(path)}" for path in paths)
        message = f"Apply failed with {len(pairs)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, causes=causes)


def record_update(
    old: Obj, new: Obj, manager: str, shape: Shape, api_version: str, now: str, subresource: str
) -> None:
    """Give `manager` (operation Update) the fields a write changed, in new's managedFields.

    Managed fields the client sent (non-empty and different from the live ones) replace
    the live ones first, as the API server lets clients reset them.
    """
    sent = (new.get("metadata") or {}).get("managedFields")
    live = (old.get("metadata") or {}).get("managedFields")
    managers = decode(new if sent and sent != live else old)
    if sent == [{}]:
        managers = []
    try:
        before = fields_of(old, shape, map_members=True)
        after = fields_of(new, shape, map_members=True)
    except ApiError:
        encode_into(new, managers)
        return
    acting = (manager, UPDATE, subresource)
    added, removed, modified = _reassign(managers, acting, before, after, force=True)
    own = next((m for m in managers if m.identity == acting), None)
    if own is None:
        own = Manager(manager, UPDATE, api_version, now, set(), subresource)
        managers.append(own)
    if added or modified or removed:
        own.fields = (own.fields - removed) | added | modified
        own.api_version, own.time = api_version, now
    encode_into(new, managers)


def apply(
    live: Obj,
    config: Obj,
    manager: str,
    shape: Shape,
    *,
    force: bool,
    api_version: str,
    now: str,
    namespace: str = "",
) -> Obj:
    """The object after `manager` applies `config` to `live` (409 on conflicts)."""
    if config.get("apiVersion") != api_version:
        raise bad_request(
            "Incorrect version specified in apply patch. Specified patch version: "
            f"{config.get('apiVersion') or ''}, expected: {api_version}"
        )
    managers = decode(live)
    before_sets = {m.identity: set(m.fields) for m in managers}
    acting = (manager, APPLY, "")
    try:
        applied = set(fields_of(config, shape, map_members=False))
    except ApiError as error:
        name = (config.get("metadata") or {}).get("name", "")
        group_version = api_version if "/" in api_version else f"/{api_version}"
        raise bad_request(
            f"failed to create typed patch object ({namespace}/{name}; {group_version}, "
            f"Kind={shape.kind}): {error}"
        ) from None
    previous = next((m for m in managers if m.identity == acting), None)
    last = previous.fields if previous else set()
    merged: Obj = merge(live, config, shape.kind, ())
    if previous is None:
        previous = Manager(manager, APPLY, api_version, now, set())
        managers.append(previous)
    previous.fields = applied
    others = set().union(*(m.fields for m in managers if m.identity != acting))
    _prune(merged, last - applied - others, applied | others, shape.kind)
    before = fields_of(live, shape, map_members=True)
    after = fields_of(merged, shape, map_members=True)
    _reassign(managers, acting, before, after, force=force)
    unchanged = {m.identity: m.fields for m in managers if m.fields} == before_sets
    if unchanged and _without_managers(merged) == _without_managers(live):
        return live
    previous.api_version, previous.time = api_version, now
    encode_into(merged, managers)
    meta = merged.get("metadata")
    for field in ("labels", "annotations"):
        if isinstance(meta, dict) and meta.get(field) == {}:
            del meta[field]
    return merged


def _without_managers(obj: Obj) -> Obj:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return {**obj, "metadata": meta}


def merge(live: Any, config: Any, kind: str, names: tuple[str, ...]) -> Any:
    """Merge an applied configuration into a live value (keyed lists item by item)."""
    if isinstance(live, dict) and isinstance(config, dict):
        if names in _ATOMIC_MAPS.get(kind, frozenset()):
            return copy.deepcopy(config)
        result = dict(live)
        for key, value in config.items():
            if value is None:
                result.pop(key, None)
            elif key in live:
                result[key] = merge(live[key], value, kind, (*names, key))
            else:
                result[key] = copy.deepcopy(value)
        return result
    if isinstance(live, list) and isinstance(config, list) and names:
        keys = list_keys(kind, names)
        if keys is not None:
            return _merge_keyed(live, config, keys, kind, names)
        if names[-2:] in _SETS:
            return [*live, *(copy.deepcopy(v) for v in config if v not in live)]
    return copy.deepcopy(config)


def _merge_keyed(
    live: list[Any], config: list[Any], keys: tuple[str, ...], kind: str, names: tuple[str, ...]
) -> list[Any]:
    """Items in the applied order; live-only items stay where they were among them."""
    applied = [key_element(keys, item, names, position) for position, item in enumerate(config)]
    wanted = set(applied)
    live_keys: list[str | None] = []
    for position, item in enumerate(live):
        try:
            live_keys.append(key_element(keys, item, names, position))
        except ApiError:
            live_keys.append(None)
    by_key = {key: item for key, item in zip(live_keys, live, strict=True) if key is not None}
    result: list[Any] = []
    at = 0
    for key, item in zip(applied, config, strict=True):
        while at < len(live) and live_keys[at] not in wanted:
            result.append(live[at])
            at += 1
        if at < len(live) and live_keys[at] == key:
            at += 1
        result.append(
            merge(by_key[key], item, kind, names) if key in by_key else copy.deepcopy(item)
        )
    result.extend(
        item for key, item in zip(live_keys[at:], live[at:], strict=True) if key not in wanted
    )
    return result


def _prune(obj: Obj, dropped: set[Path], kept: set[Path], kind: str) -> None:
    """Remove dropped paths unless a kept path lies below them (outermost ones only)."""
    removable = {
        path
        for path in dropped
        if not any(other[: len(path)] == path and other != path for other in kept)
    }
    for path in removable:
        if not any(path[:length] in removable for length in range(1, len(path))):
            _remove(obj, path, (), kind)


def _remove(node: Any, path: Path, names: tuple[str, ...], kind: str) -> None:
    element, rest = path[0], path[1:]
    prefix, text = element[:2], element[2:]
    if prefix == "f:" and isinstance(node, dict) and text in node:
        if not rest:
            del node[text]
        else:
            _remove(node[text], rest, (*names, text), kind)
        return
    if not isinstance(node, list):
        return
    for position, item in enumerate(node):
        if prefix == "v:" and item == json.loads(text):
            node.pop(position)
            return
        keys = list_keys(kind, names) if prefix == "k:" else None
        if keys is None:
            continue
        try:
            matches = key_element(keys, item, names, position) == element
        except ApiError:
            continue
        if matches:
            if rest:
                _remove(item, rest, names, kind)
            else:
                node.pop(position)
            return
