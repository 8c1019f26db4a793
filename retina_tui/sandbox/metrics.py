"""The API server's request counter, served at /metrics as a real API server serves it.

`apiserver_request_total{verb,group,resource,subresource,code}` in the Prometheus text
format: what `kubectl get --raw /metrics` shows, and how a benchmark counts the API calls a
client made. Verbs are the API server's: list, watch, get, create, update, patch, delete,
and CONNECT for exec, attach and port-forward.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

from aiohttp import web

Key = tuple[str, str, str, str, str]
CONNECT_SUBRESOURCES: Final = frozenset({"exec", "attach", "portforward", "proxy"})
METHOD_VERBS: Final = {
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
    "HEAD": "get",
}


def verb_of(method: str, named: bool, subresource: str, watching: bool) -> str:
    if subresource in CONNECT_SUBRESOURCES:
        return "CONNECT"
    if method == "GET":
        return "watch" if watching else ("get" if named else "list")
    if method == "DELETE" and not named:
        return "deletecollection"
    return METHOD_VERBS.get(method, method.lower())


class RequestCounter:
    def __init__(self) -> None:
        self.counts: Counter[Key] = Counter()

    def count(self, verb: str, group: str, resource: str, subresource: str, code: int) -> None:
        self.counts[(verb, group, resource, subresource, str(code))] += 1

    def text(self) -> str:
        lines = [
            "# HELP apiserver_request_total Counter of apiserver requests broken out for each "
            "verb, group, resource, subresource and HTTP response code.",
            "# TYPE apiserver_request_total counter",
        ]
        for (verb, group, resource, sub, code), n in sorted(self.counts.items()):
            lines.append(
                f'apiserver_request_total{{code="{code}",group="{group}",resource="{resource}",'
                f'subresource="{sub}",verb="{verb}"}} {n}'
            )
        return "\n".join(lines) + "\n"

    def response(self) -> web.Response:
        return web.Response(text=self.text(), content_type="text/plain")
