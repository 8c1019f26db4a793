"""A tiny HTTP client for the sandbox API tests: raw requests, raw answers.

Deliberately not our own kube client: these tests check the wire format itself.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass
class Answer:
    """Status code, headers and decoded JSON (or None) of one response."""

    status: int
    headers: dict[str, str]
    body: Any
    text: str


class Api:
    """Requests against a running sandbox with a given token."""

    def __init__(self, url: str, token: str | None, ca_pem: bytes | None) -> None:
        self.url = url
        self.token = token
        context: ssl.SSLContext | bool = False
        if ca_pem is not None:
            context = ssl.create_default_context(cadata=ca_pem.decode())
        self._ssl = context
        self.session = aiohttp.ClientSession()

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        hdrs = self.headers(headers)
        if data is not None:
            hdrs["Content-Type"] = content_type
        async with self.session.request(
            method, self.url + path, data=data, params=params, headers=hdrs, ssl=self._ssl
        ) as response:
            text = await response.text()
            try:
                decoded = json.loads(text) if text else None
            except ValueError:
                decoded = None
            return Answer(response.status, dict(response.headers), decoded, text)

    async def get(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, body: Any, **kwargs: Any) -> Answer:
        return await self.request("POST", path, body=body, **kwargs)

    async def watch_lines(
        self,
        path: str,
        params: dict[str, str],
        *,
        count: int,
        headers: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Open a watch and read `count` events (or until the server ends the stream)."""
        events: list[dict[str, Any]] = []
        async with self.session.get(
            self.url + path, params=params, headers=self.headers(headers), ssl=self._ssl
        ) as response:
            assert response.status == 200, await response.text()
            while len(events) < count:
                line = await response.content.readline()
                if not line:
                    break
                events.append(json.loads(line))
        return events

    async def close(self) -> None:
        await self.session.close()


def pod_body(name: str, *containers: str, **spec: Any) -> dict[str, Any]:
    """A minimal pod manifest."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "containers": [{"name": c, "image": "busybox:1.36"} for c in containers or ("main",)],
            **spec,
        },
    }


def api_only_options() -> Any:
    """Sandbox options for API tests: no kubelet, so pods stay exactly as created."""
    from retina_tui.sandbox import SandboxOptions

    return SandboxOptions(nodes=3, pods=5, network="host", kubelet=False)
