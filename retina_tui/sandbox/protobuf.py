"""Just enough Kubernetes protobuf to read a SelfSubjectAccessReview.

`kubectl auth can-i` posts its review as `application/vnd.kubernetes.protobuf` and does
not fall back to JSON, so the server decodes that one message (a `runtime.Unknown`
envelope after the `k8s\\0` magic) and answers in JSON, which client-go accepts.
"""

from __future__ import annotations

from typing import Any

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
