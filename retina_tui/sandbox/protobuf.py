"""Just enough Kubernetes protobuf to read what kubectl posts in it.

`kubectl auth can-i` posts SelfSubjectAccessReviews and `kubectl debug node/...` (or
`--copy-to`) posts Pods as `application/vnd.kubernetes.protobuf`, without falling back
to JSON. The server decodes those (a `runtime.Unknown` envelope after the `k8s\\0`
magic) and answers in JSON, which client-go accepts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from retina_tui.sandbox import protoschema
from retina_tui.sandbox.errors import bad_request

MAGIC = b"k8s\x00"
RESOURCE_FIELDS = {
    1: "namespace",
    2: "verb",
    3: "group",
    4: "version",
    5: "resource",
    6: "subresource",
    7: "name",
}
NON_RESOURCE_FIELDS = {1: "path", 2: "verb"}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise bad_request("protobuf: truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> dict[int, list[bytes | int]]:
    """Top-level fields of one message: number -> values (bytes or ints)."""
    found: dict[int, list[bytes | int]] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: bytes | int
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise bad_request("protobuf: truncated field")
            value, pos = data[pos : pos + length], pos + length
        elif wire == 1:
            value, pos = int.from_bytes(data[pos : pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(data[pos : pos + 4], "little"), pos + 4
        else:
            raise bad_request(f"protobuf: unsupported wire type {wire}")
        found.setdefault(number, []).append(value)
    return found


def _message(parent: dict[int, list[bytes | int]], number: int) -> dict[int, list[bytes | int]]:
    values = parent.get(number) or []
    raw = values[-1] if values else b""
    return fields(raw) if isinstance(raw, bytes) else {}


def _strings(message: dict[int, list[bytes | int]], names: dict[int, str]) -> dict[str, str]:
    result = {}
    for number, name in names.items():
        values = message.get(number) or []
        if values and isinstance(values[-1], bytes):
            result[name] = values[-1].decode("utf-8", "replace")
    return result


def decode_access_review(body: bytes) -> dict[str, Any]:
    """A protobuf SelfSubjectAccessReview as the equivalent JSON object."""
    if not body.startswith(MAGIC):
        raise bad_request("protobuf: missing k8s envelope")
    envelope = fields(body[len(MAGIC) :])
    raw = (envelope.get(2) or [b""])[-1]
    review = fields(raw if isinstance(raw, bytes) else b"")
    spec = _message(review, 2)
    result: dict[str, Any] = {}
    if 1 in spec:
        result["resourceAttributes"] = _strings(_message(spec, 1), RESOURCE_FIELDS)
    if 2 in spec:
        result["nonResourceAttributes"] = _strings(_message(spec, 2), NON_RESOURCE_FIELDS)
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": result,
    }


def _zero(value: object) -> bool:
    return value in ("", 0, False, None) or value == [] or value == {}


def _scalar(kind: str, raw: bytes | int) -> object:
    if kind == "string":
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if kind == "bool":
        return bool(raw)
    if kind == "int":
        if isinstance(raw, bytes):
            raise bad_request("protobuf: expected a number")
        return raw - (1 << 64) if raw >= 1 << 63 else raw
    if kind == "quantity":
        return _scalar("string", (fields(_bytes(raw)).get(1) or [b""])[-1])
    if kind == "intstr":
        parts = fields(_bytes(raw))
        if (parts.get(1) or [0])[-1] == 1:
            return _scalar("string", (parts.get(3) or [b""])[-1])
        return _scalar("int", (parts.get(2) or [0])[-1])
    if kind == "time":
        seconds = (fields(_bytes(raw)).get(1) or [0])[-1]
        if not isinstance(seconds, int) or seconds == 0:
            return None
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise bad_request(f"protobuf: unknown kind {kind}")


def _bytes(raw: bytes | int) -> bytes:
    if not isinstance(raw, bytes):
        raise bad_request("protobuf: expected an embedded message")
    return raw


def decode_message(name: str, data: bytes) -> dict[str, Any]:
    """Decode one message of `protoschema.MESSAGES` into its JSON form."""
    schema = protoschema.MESSAGES[name]
    result: dict[str, Any] = {}
    for number, values in fields(data).items():
        if number not in schema:
            continue
        key, kind = schema[number]
        if kind == "skip":
            continue
        if kind.startswith("inline:"):
            for raw in values:
                result.update(decode_message(kind[len("inline:") :], _bytes(raw)))
            continue
        repeated = kind.endswith("[]")
        pointer = kind.endswith("?")
        base = kind.removesuffix("[]").removesuffix("?")
        decoded: list[Any] = []
        for raw in values:
            if base.startswith("map:"):
                entry = fields(_bytes(raw))
                map_key = _scalar("string", (entry.get(1) or [b""])[-1])
                map_value = _scalar(base[4:], (entry.get(2) or [b""])[-1])
                result.setdefault(key, {})[map_key] = map_value
                continue
            if base in protoschema.MESSAGES:
                decoded.append(decode_message(base, _bytes(raw)))
            elif base == "int" and repeated and isinstance(raw, bytes):
                pos = 0
                while pos < len(raw):
                    number_value, pos = _varint(raw, pos)
                    decoded.append(number_value)
            else:
                decoded.append(_scalar(base, raw))
        if base.startswith("map:"):
            continue
        if repeated:
            if decoded:
                result[key] = decoded
        elif decoded:
            value = decoded[-1]
            keep = pointer or base in protoschema.MESSAGES or not _zero(value)
            if keep and value is not None:
                result[key] = value
    return result


DECODABLE = ("Pod", "Namespace", "Service", "DeleteOptions")


def decode_object(kind: str, body: bytes) -> dict[str, Any]:
    """A protobuf Pod, Namespace or Service (in its `k8s\\0` envelope) as JSON."""
    if kind not in DECODABLE:
        raise bad_request(f"protobuf: {kind} objects are only accepted as JSON")
    if not body.startswith(MAGIC):
        raise bad_request("protobuf: missing k8s envelope")
    envelope = fields(body[len(MAGIC) :])
    sent_kind = _strings(_message(envelope, 1), {2: "kind"}).get("kind", kind)
    if sent_kind != kind:
        raise bad_request(
            f"the kind in the data ({sent_kind}) does not match the expected kind ({kind})"
        )
    raw = (envelope.get(2) or [b""])[-1]
    obj = decode_message(kind, _bytes(raw))
    obj["apiVersion"] = "v1"
    obj["kind"] = kind
    return obj
