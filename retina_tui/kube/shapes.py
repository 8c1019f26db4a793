"""Shape checks of what the API server answered, before any field of it is read.

A proxy, a wrong server or a broken one can answer with JSON of the wrong shape: `items`
a string, `metadata` a list, `status.phase` a number. Reading such an answer must not end
in a TypeError far away; each check here turns it into one UnexpectedReplyError that
names the server, the call and the field. The checks are isinstance tests of the few
fields retina-tui reads, so a list of ten thousand pods costs little more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from retina_tui.errors import UnexpectedReplyError

OBJECTS: Final = "a list of objects"
"""Expected type of a field that is a list whose every element is an object."""

Expected = type | tuple[type, ...] | str
Fields = Mapping[str, Expected]

POD_FIELDS: Final[Fields] = {
    "metadata.name": str,
    "metadata.namespace": str,
    "metadata.labels": dict,
    "metadata.annotations": dict,
    "metadata.deletionTimestamp": str,
    "metadata.creationTimestamp": str,
    "metadata.resourceVersion": str,
    "spec": dict,
    "spec.nodeName": str,
    "spec.containers": OBJECTS,
    "spec.ephemeralContainers": OBJECTS,
    "spec.os": dict,
    "spec.nodeSelector": dict,
    "status": dict,
    "status.phase": str,
    "status.reason": str,
    "status.message": str,
    "status.containerStatuses": OBJECTS,
    "status.ephemeralContainerStatuses": OBJECTS,
}
NODE_FIELDS: Final[Fields] = {
    "metadata.name": str,
    "metadata.labels": dict,
    "status": dict,
    "status.nodeInfo": dict,
}
LEASE_FIELDS: Final[Fields] = {
    "metadata.name": str,
    "metadata.namespace": str,
    "metadata.labels": dict,
    "metadata.resourceVersion": str,
    "spec": dict,
    "spec.holderIdentity": str,
    "spec.renewTime": str,
    "spec.acquireTime": str,
    "spec.leaseDurationSeconds": int,
}
REVIEW_FIELDS: Final[Fields] = {"status": dict, "status.allowed": bool}
LIST_FIELDS: Final[Fields] = {
    "metadata": dict,
    "metadata.continue": str,
    "metadata.resourceVersion": str,
}

_NAMES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number"}


def kind_of(value: object) -> str:
    """`a string`, `a list`, `null`...: how a JSON value is named in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return _NAMES.get(type(value), f"a {type(value).__name__}")


def _expected(expected: Expected) -> str:
    if isinstance(expected, str):
        return expected
    if isinstance(expected, tuple):
        return " or ".join(_NAMES.get(one, one.__name__) for one in expected)
    return _NAMES.get(expected, expected.__name__)


def _matches(value: object, expected: Expected) -> bool:
    if expected is OBJECTS:
        return isinstance(value, list) and all(isinstance(item, dict) for item in value)
    if expected is int or expected == (int,):
        return isinstance(value, int) and not isinstance(value, bool)
    assert not isinstance(expected, str)
    return isinstance(value, expected)


def field_problem(obj: Mapping[str, Any], fields: Fields) -> str | None:
    """The first field of `obj` of the wrong type, described; None when all fit.

    A field that is absent or null is fine (Kubernetes omits empty fields).
    """
    for path, expected in fields.items():
        value: Any = obj
        for part in path.split("."):
            if not isinstance(value, dict):
                value = None
                break
            value = value.get(part)
        if value is not None and not _matches(value, expected):
            return f"{path} is {kind_of(value)}, not {_expected(expected)}"
    return None


def reply_error(origin: str, call: str, problem: str) -> UnexpectedReplyError:
    """One sentence for an answer that is JSON but not shaped as Kubernetes answers."""
    return UnexpectedReplyError(
        f"The API server at {origin} answered {call} with something that is not a "
        f"Kubernetes object ({problem}): is this the right server or a login proxy?",
        status=200,
        reason="UnexpectedReply",
    )


def origin_of(client: object) -> str:
    """`https://x (context 'c')` for a client, as much of it as it has."""
    server = getattr(client, "server", None)
    context = getattr(client, "context", None)
    where = f" (context {context!r})" if context else ""
    return f"{server}{where}" if server else f"the server{where}"


def expect_object(
    answer: object, kind: str, fields: Fields, *, origin: str, call: str, metadata: bool = True
) -> dict[str, Any]:
    """`answer` as an object whose `fields` have the right types; else UnexpectedReplyError.

    With `metadata`, the object must have metadata (every stored object has).
    """
    if not isinstance(answer, dict):
        raise reply_error(origin, call, f"{kind_of(answer)} where a {kind} belongs")
    if metadata and not isinstance(answer.get("metadata"), dict):
        problem: str | None = f"metadata is {kind_of(answer.get('metadata'))}, not an object"
    else:
        problem = field_problem(answer, fields)
    if problem is not None:
        raise reply_error(origin, call, f"a {kind} whose {problem}")
    return answer


def expect_items(
    answer: object, kind: str, *, origin: str, call: str, fields: Fields | None = None
) -> list[dict[str, Any]]:
    """The items of a list answer, each an object with metadata (and `fields`, if given).

    Every item is an object with a named metadata object, and its spec and status (when
    present) are objects: a handful of isinstance tests, cheap enough for 10,000 pods.
    """
    if not isinstance(answer, dict):
        raise reply_error(origin, call, f"{kind_of(answer)} where a {kind} list belongs")
    if "items" not in answer:
        raise reply_error(origin, call, f"an object without items where a {kind} list belongs")
    items = answer["items"]
    if items is None:
        return []
    if not isinstance(items, list):
        raise reply_error(origin, call, f"a {kind} list whose items is {kind_of(items)}")
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise reply_error(origin, call, f"a {kind} list whose item {number} is {kind_of(item)}")
        metadata = item.get("metadata")
        if not isinstance(metadata, dict):
            raise reply_error(
                origin,
                call,
                f"a {kind} list whose item {number} has {kind_of(metadata)} as metadata",
            )
        if not isinstance(metadata.get("name"), str):
            what = kind_of(metadata.get("name"))
            raise reply_error(origin, call, f"a {kind} list whose item {number} has {what} as name")
        for part in ("spec", "status"):
            value = item.get(part)
            if value is not None and not isinstance(value, dict):
                raise reply_error(
                    origin,
                    call,
                    f"a {kind} list whose item {number} has {kind_of(value)} as {part}",
                )
        if fields is not None:
            problem = field_problem(item, fields)
            if problem is not None:
                raise reply_error(origin, call, f"a {kind} list whose item {number}'s {problem}")
    return items
