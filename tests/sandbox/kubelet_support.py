"""Helpers for the kubelet tests: wait on a pod through the store's watch, exec over WebSocket."""

from __future__ import annotations

import asyncio
import secrets
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from retina_tui.sessions import protocol

WAIT = 30.0


async def wait_pod(
    store: Any,
    namespace: str,
    name: str,
    predicate: Callable[[dict[str, Any] | None], bool],
    *,
    seen: list[dict[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """Wait (by watching, never polling) until `predicate(pod)` holds; pod None = gone."""
    async with asyncio.timeout(WAIT):
        async with store.watch("pods", namespace) as watcher:
            current = store.get("pods", namespace, name)
            if seen is not None and current is not None:
                seen.append(current)
            if predicate(current):
                return current  # type: ignore[no-any-return]
            async for kind, obj in watcher:
                if obj["metadata"]["name"] != name:
                    continue
                pod = None if kind == "DELETED" else obj
                if seen is not None and pod is not None:
                    seen.append(pod)
                if predicate(pod):
                    return pod
    raise AssertionError("the watch ended")


def container_state(pod: dict[str, Any] | None, name: str, *, ephemeral: bool = False) -> str:
    """'waiting:<reason>', 'running' or 'terminated:<reason>' for one container."""
    if pod is None:
        return "gone"
    key = "ephemeralContainerStatuses" if ephemeral else "containerStatuses"
    for status in (pod.get("status") or {}).get(key) or []:
        if status.get("name") == name:
            state = status.get("state") or {}
            if "running" in state:
                return "running"
            for kind in ("waiting", "terminated"):
                if kind in state:
                    return f"{kind}:{state[kind].get('reason', '')}"
    return "none"


@dataclass
class ExecResult:
    stdout: bytes
    stderr: bytes
    status: protocol.ExitStatus | None


def client_ssl(ca_pem: bytes | None) -> ssl.SSLContext | bool:
    if ca_pem is None:
        return False
    return ssl.create_default_context(cadata=ca_pem.decode())


async def open_stream(
    sandbox: Any,
    namespace: str,
    pod: str,
    kind: str,
    params: list[tuple[str, str]],
    session: aiohttp.ClientSession,
) -> aiohttp.ClientWebSocketResponse:
    """Open an exec or attach WebSocket as the admin user, offering v5 only like kubectl."""
    url = f"{sandbox.url}/api/v1/namespaces/{namespace}/pods/{pod}/{kind}"
    return await session.ws_connect(
        url,
        params=params,
        protocols=(protocol.PROTOCOL_V5,),
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        ssl=client_ssl(sandbox.ca_pem),
    )


async def read_until_end(ws: aiohttp.ClientWebSocketResponse) -> ExecResult:
    result = ExecResult(b"", b"", None)
    async with asyncio.timeout(WAIT):
        async for message in ws:
            if message.type != aiohttp.WSMsgType.BINARY:
                continue
            frame = protocol.decode(message.data)
            if frame.channel == protocol.STDOUT:
                result.stdout += frame.data
            elif frame.channel == protocol.STDERR:
                result.stderr += frame.data
            elif frame.channel == protocol.ERROR:
                result.status = protocol.parse_status(frame.data)
    return result


async def exec_in(
    sandbox: Any, namespace: str, pod: str, *command: str, container: str | None = None
) -> ExecResult:
    """Run a command in a pod (no stdin, no tty) and collect everything it says."""
    params = [("command", part) for part in command]
    params += [("stdout", "true"), ("stderr", "true")]
    if container:
        params.append(("container", container))
    async with aiohttp.ClientSession() as session:
        ws = await open_stream(sandbox, namespace, pod, "exec", params, session)
        try:
            return await read_until_end(ws)
        finally:
            await ws.close()


@contextmanager
def serving_pod(
    cluster: Any, prefix: str, command: list[str], listening: str, wait: float = 30.0
) -> Iterator[str]:
    """A pod of the caller's own (`kubectl run` of `command`), yielded once the Python
    snippet `listening` succeeds inside it; force-deleted afterwards."""
    name = f"{prefix}-{secrets.token_hex(3)}"
    made = cluster.kubectl(
        "run", name, "--image=python:3.12-slim", "--restart=Never", "--", *command
    )
    assert made.returncode == 0, made.stderr
    try:
        ready = cluster.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
        assert ready.returncode == 0, ready.stderr
        deadline = time.monotonic() + wait
        while cluster.kubectl("exec", name, "--", "python3", "-c", listening).returncode:
            assert time.monotonic() < deadline, f"{name}'s servers never listened"
            time.sleep(0.1)
        yield name
    finally:
        cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")


HTTP_8080 = ["python3", "-m", "http.server", "8080"]
LISTENING_8080 = "import socket; socket.create_connection(('127.0.0.1', 8080)).close()"
