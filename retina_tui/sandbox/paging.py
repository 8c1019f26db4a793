"""List pages (`limit` / `continue`) keyed like the API server's, not by offset.

A continue token is the API server's: base64 of
`{"v":"meta.k8s.io/v1","rv":N,"start":"<key>\\u0000"}`, where the key is the last
returned object's storage key below the list's prefix (`ns/name` across namespaces,
`name` within one). The next page holds the objects whose key sorts after it, so an
object deleted between pages never makes another one skipped. Pages answer at the
first page's resourceVersion. The store does not keep old snapshots: objects created
or changed after the first page show up with their current content (the simple honest
version of the apiserver's consistent lists). A token older than the compacted history
is refused with 410 and a token to continue inconsistently, as the apiserver does.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from retina_tui.sandbox.errors import ApiError, bad_request
from retina_tui.sandbox.store import Obj

API_VERSION = "meta.k8s.io/v1"
LATEST = -1
"""The resourceVersion of a token that continues at the newest version."""
INCONSISTENT_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You "
    "can start a new list without the continue parameter, or use the continue token in "
    "this response to retrieve the remainder of the results. Continuing with the provided "
    "token results in an inconsistent list - objects that were created, modified, or "
    "deleted between the time the first chunk was returned and now may show up in the list."
)
INVALID_RV = (
    "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
)
EMPTY_KEY = "continue key is not valid: encoded start key empty (version meta.k8s.io/v1)"


class ContinueExpired(ApiError):
    """410 Expired whose Status carries a token to continue at the newest version."""

    def __init__(self, token: str) -> None:
        super().__init__(410, "Expired", INCONSISTENT_CONTINUE)
        self.token = token

    def status(self) -> dict[str, Any]:
        """The Status, with `metadata.continue` set."""
        result = super().status()
        result["metadata"] = {"continue": self.token}
        return result


@dataclass(frozen=True)
class Page:
    """The objects of one page and the list metadata to answer with."""

    items: list[Obj]
    metadata: dict[str, Any]


def storage_key(obj: Obj, across_namespaces: bool) -> str:
    """An object's key below the list's prefix, as etcd orders them."""
    meta = obj["metadata"]
    namespace = meta.get("namespace") or ""
    if across_namespaces and namespace:
        return f"{namespace}/{meta['name']}"
    return str(meta["name"])


def encode_token(start: str, rv: int) -> str:
    """A continue token starting strictly after the key `start`."""
    raw = json.dumps({"v": API_VERSION, "rv": rv, "start": start + "\0"}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str) -> tuple[str, int]:
    """(start key, resourceVersion) of a token; 400 in the apiserver's words if garbled."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error) as error:
        raise _invalid(f"{INVALID_RV}: {error}") from None
    if not isinstance(data, dict):
        raise _invalid(f"{INVALID_RV}: not a JSON object")
    if data.get("v") != API_VERSION:
        raise _invalid(
            "continue key is not valid: server does not recognize this encoded version "
            f"{data.get('v')}"
        )
    rv, start = data.get("rv"), data.get("start")
    if not isinstance(rv, int) or isinstance(rv, bool) or rv == 0 or rv < LATEST:
        raise _invalid(INVALID_RV)
    if not isinstance(start, str) or not start:
        raise _invalid(EMPTY_KEY)
    if start.startswith("/") or ".." in start.split("/"):
        raise _invalid(f"continue key is not valid: {start}")
    return start, rv


def _invalid(message: str) -> ApiError:
    return bad_request(f"invalid continue token: {message}")


def paginate(
    objects: list[Obj],
    *,
    across_namespaces: bool,
    limit: int | None,
    token: str | None,
    resource_version: str | None,
    current_rv: int,
    compacted_rv: int,
    count_remaining: bool,
) -> Page:
    """The page of `objects` (sorted by key) that `limit` and `token` select."""
    list_rv = current_rv
    if token:
        if resource_version not in (None, "", "0"):
            raise bad_request("specifying resource version is not allowed when using continue")
        start, token_rv = decode_token(token)
        if token_rv != LATEST and token_rv < compacted_rv:
            raise ContinueExpired(encode_token(start.removesuffix("\0"), LATEST))
        if token_rv != LATEST:
            list_rv = min(token_rv, current_rv)
        keyed = [(storage_key(obj, across_namespaces), obj) for obj in objects]
        keyed = sorted((pair for pair in keyed if pair[0] >= start), key=lambda pair: pair[0])
    elif limit is not None and limit > 0:
        keyed = sorted(
            ((storage_key(obj, across_namespaces), obj) for obj in objects),
            key=lambda pair: pair[0],
        )
    else:
        return Page(objects, {"resourceVersion": str(current_rv)})
    metadata: dict[str, Any] = {"resourceVersion": str(list_rv)}
    if limit is None or limit <= 0 or len(keyed) <= limit:
        return Page([obj for _, obj in keyed], metadata)
    page = keyed[:limit]
    metadata["continue"] = encode_token(page[-1][0], list_rv)
    if count_remaining:
        metadata["remainingItemCount"] = len(keyed) - limit
    return Page([obj for _, obj in page], metadata)
