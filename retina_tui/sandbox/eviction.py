"""The `pods/eviction` subresource: what `kubectl drain` and eviction clients post.

An Eviction (policy/v1, or the older policy/v1beta1) names the pod and may carry
DeleteOptions. As in the API server, the pod first gets a `DisruptionTarget` condition,
then is deleted gracefully with those options, and the answer is a 201 Status Success.
Pending, finished or already terminating pods go without consulting budgets; the others
only if the PodDisruptionBudget selecting them allows it (`budgets`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from retina_tui.sandbox import budgets, protobuf
from retina_tui.sandbox.errors import ApiError, bad_request, not_found
from retina_tui.sandbox.httputil import json_response
from retina_tui.sandbox.store import Obj, Store, now_iso

API_VERSIONS = ("policy/v1", "policy/v1beta1")
DeletePod = Callable[[Obj, int | None], Obj]


async def read_eviction(request: web.Request) -> dict[str, Any]:
    """The posted Eviction as JSON (kubectl sends it in protobuf)."""
    raw = await request.read()
    if "protobuf" in request.headers.get("Content-Type", ""):
        if not raw.startswith(protobuf.MAGIC):
            raise bad_request("protobuf: missing k8s envelope")
        envelope = protobuf.fields(raw[len(protobuf.MAGIC) :])
        body = (envelope.get(2) or [b""])[-1]
        message = protobuf.fields(body if isinstance(body, bytes) else b"")
        result: dict[str, Any] = {"kind": "Eviction", "apiVersion": "policy/v1"}
        for number, key, name in (
            (1, "metadata", "ObjectMeta"),
            (2, "deleteOptions", "DeleteOptions"),
        ):
            value = (message.get(number) or [b""])[-1]
            if isinstance(value, bytes) and number in message:
                result[key] = protobuf.decode_message(name, value)
        return result
    try:
        decoded = json.loads(raw or b"{}")
    except ValueError as error:
        raise bad_request(f"couldn't get version/kind; json parse error: {error}") from None
    if not isinstance(decoded, dict):
        raise bad_request("the Eviction must be a JSON object")
    return decoded


def _conflict(name: str, detail: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on Pod "{name}": {detail}',
        name=name,
        kind="Pod",
    )


def _check_preconditions(pod: Obj, options: dict[str, Any]) -> None:
    preconditions = options.get("preconditions") or {}
    if not isinstance(preconditions, dict):
        raise bad_request("deleteOptions.preconditions must be an object")
    meta = pod["metadata"]
    uid, rv = preconditions.get("uid"), preconditions.get("resourceVersion")
    if uid and uid != meta["uid"]:
        raise _conflict(
            meta["name"],
            f"the UID in the precondition ({uid}) does not match the UID in record "
            f"({meta['uid']}). The object might have been deleted and then recreated",
        )
    if rv and rv != meta["resourceVersion"]:
        raise _conflict(
            meta["name"],
            f"the ResourceVersion in the precondition ({rv}) does not match the "
            f"ResourceVersion in record ({meta['resourceVersion']}). The object might have "
            "been modified",
        )


def _options(body: dict[str, Any], request: web.Request) -> tuple[dict[str, Any], bool]:
    """The DeleteOptions of an Eviction and whether it is a dry run."""
    options = body.get("deleteOptions") or {}
    if not isinstance(options, dict):
        raise bad_request("deleteOptions must be an object")
    grace = options.get("gracePeriodSeconds")
    if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool)):
        raise bad_request("deleteOptions.gracePeriodSeconds must be an integer")
    in_body = options.get("dryRun") or []
    in_query = request.query.getall("dryRun", [])
    if in_body and in_query and list(in_body) != list(in_query):
        raise ApiError(
            500,
            "InternalError",
            f"Internal error occurred: Non-matching dry-run options in request and content: "
            f"[{' '.join(in_query)}] and [{' '.join(in_body)}]",
        )
    for value in [*in_body, *in_query]:
        if value != "All":
            raise bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return options, bool(in_body or in_query)


def _budget_exempt(pod: Obj) -> bool:
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(
        pod["metadata"].get("deletionTimestamp")
    )


def _disruption_target(pod: Obj) -> None:
    conditions = pod.setdefault("status", {}).setdefault("conditions", [])
    conditions[:] = [c for c in conditions if c.get("type") != "DisruptionTarget"]
    conditions.append(
        {
            "type": "DisruptionTarget",
            "status": "True",
            "lastProbeTime": None,
            "lastTransitionTime": now_iso(),
            "reason": "EvictionByEvictionAPI",
            "message": "Eviction API: evicting",
        }
    )


async def evict(
    request: web.Request, store: Store, namespace: str, name: str, delete_pod: DeletePod
) -> web.Response:
    """POST pods/NAME/eviction: unless its budget forbids it, mark the pod as disrupted,
    then delete it gracefully."""
    body = await read_eviction(request)
    api_version = body.get("apiVersion")
    if api_version is not None and api_version not in API_VERSIONS:
        raise bad_request(f"the API version in the data ({api_version}) is not an Eviction one")
    meta = body.get("metadata") or {}
    if not isinstance(meta, dict) or meta.get("name", "") != name:
        raise bad_request("name in URL does not match name in Eviction object")
    options, dry_run = _options(body, request)
    pod = store.get("pods", namespace, name)
    if pod is None:
        raise not_found("pods", name)
    _check_preconditions(pod, options)
    if not _budget_exempt(pod):
        budgets.admit_eviction(store, pod)
    if not dry_run:
        if not pod["metadata"].get("deletionTimestamp"):
            pod = store.mutate("pods", namespace, name, _disruption_target)
        delete_pod(pod, options.get("gracePeriodSeconds"))
    status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    return json_response({**status, "code": 201}, status=201)
