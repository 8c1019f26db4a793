"""SelfSubjectRulesReview and SelfSubjectReview: what `kubectl auth can-i --list` and
`kubectl auth whoami` ask.

Both answer from `auth`: the rules listed are the very rules requests are authorized
with, and the user is the one the request was authenticated (and impersonated) as.
kubectl posts these in protobuf; only the rules review's namespace matters in the body.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from retina_tui.sandbox import auth, protobuf
from retina_tui.sandbox.errors import bad_request
from retina_tui.sandbox.httputil import read_json


async def _body(request: web.Request) -> dict[str, Any]:
    """The posted review as JSON (protobuf bodies reduced to the spec's namespace)."""
    if "protobuf" in request.headers.get("Content-Type", ""):
        raw = await request.read()
        if not raw.startswith(protobuf.MAGIC):
            raise bad_request("protobuf: missing k8s envelope")
        envelope = protobuf.fields(raw[len(protobuf.MAGIC) :])
        obj = (envelope.get(2) or [b""])[-1]
        review = protobuf.fields(obj if isinstance(obj, bytes) else b"")
        spec_raw = (review.get(2) or [b""])[-1]
        spec = protobuf.fields(spec_raw if isinstance(spec_raw, bytes) else b"")
        namespace = (spec.get(1) or [b""])[-1]
        if isinstance(namespace, bytes):
            return {"spec": {"namespace": namespace.decode("utf-8", "replace")}}
        return {"spec": {}}
    body = await read_json(request)
    if not isinstance(body, dict):
        raise bad_request("the review must be a JSON object")
    return body


async def rules_review(request: web.Request, user: auth.User) -> dict[str, Any]:
    """Answer a SelfSubjectRulesReview (namespace in spec.namespace)."""
    body = await _body(request)
    spec = body.get("spec", {})
    if not isinstance(spec, dict) or not isinstance(spec.get("namespace", ""), str):
        raise bad_request("spec.namespace must be a string")
    rules, _ = auth.rules_of(user)
    every = (*rules, *auth.RULES_FOR_ALL)
    return {
        "kind": "SelfSubjectRulesReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": {"namespace": spec.get("namespace", "")} if spec.get("namespace") else {},
        "status": {
            "resourceRules": [rule.review_entry() for rule in every if not rule.urls],
            "nonResourceRules": [rule.review_entry() for rule in every if rule.urls],
            "incomplete": False,
        },
    }


async def subject_review(request: web.Request, user: auth.User) -> dict[str, Any]:
    """Answer a SelfSubjectReview with the requesting (or impersonated) user."""
    await _body(request)
    info: dict[str, Any] = {"username": user.name, "groups": list(user.groups)}
    if user.uid:
        info["uid"] = user.uid
    if user.extra:
        info["extra"] = {key: list(values) for key, values in user.extra}
    return {
        "kind": "SelfSubjectReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "status": {"userInfo": info},
    }
