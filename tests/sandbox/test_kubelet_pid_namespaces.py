"""PID namespaces as in Kubernetes: per container, per pod when shared, the target's, the host's."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from tests.sandbox.apiclient import pod_body
from tests.sandbox.isolation_support import (
    PODS,
    netns_options,
    requires_isolation,
    run,
    start,
)
from tests.sandbox.kubelet_support import container_state, wait_pod

pytestmark = [pytest.mark.netns, requires_isolation]

LIST = "ps -e -o pid=,args="


@pytest.fixture
def sandbox_options() -> Any:
    return netns_options()


def sleeper(name: str, seconds: int, **spec: Any) -> dict[str, Any]:
    body = pod_body(name, **spec)
    body["spec"]["containers"][0]["command"] = ["sleep", str(seconds)]
    return body


def listing(out: bytes) -> list[tuple[int, str]]:
    rows = [line.split(None, 1) for line in out.decode().splitlines() if line.strip()]
    return [(int(pid), args) for pid, args in rows]


async def test_a_container_sees_only_its_own_processes(api_sandbox: Any, admin_api: Any) -> None:
    await start(api_sandbox, admin_api, sleeper("alone", 1001))
    result = await run(api_sandbox, "alone", LIST)
    rows = listing(result.stdout)
    assert rows[0][0] == 1 and rows[0][1].endswith("sleep 1001"), rows
    # Besides the container's command: only the exec'd shell and ps.
    assert all("ps -e" in args for _, args in rows[1:]) and len(rows) <= 3, rows


async def test_host_pid_sees_the_machine(api_sandbox: Any, admin_api: Any) -> None:
    await start(api_sandbox, admin_api, sleeper("hostpid", 1002, hostPID=True))
    result = await run(api_sandbox, "hostpid", "ps -e -o pid=")
    assert os.getpid() in [int(pid) for pid in result.stdout.split()]


async def test_a_shared_process_namespace_spans_the_pod(api_sandbox: Any, admin_api: Any) -> None:
    body = sleeper("shared", 1003, shareProcessNamespace=True)
    body["spec"]["containers"].append(
        {"name": "side", "image": "busybox:1.36", "command": ["sleep", "1004"]}
    )
    await start(api_sandbox, admin_api, body)
    await wait_pod(
        api_sandbox.store, "default", "shared", lambda p: container_state(p, "side") == "running"
    )
    result = await run(api_sandbox, "shared", LIST, container="side")
    rows = listing(result.stdout)
    commands = [args for _, args in rows]
    assert any(a.endswith("sleep 1003") for a in commands), rows
    assert any(a.endswith("sleep 1004") for a in commands), rows
    assert rows[0][0] == 1 and not rows[0][1].endswith(("sleep 1003", "sleep 1004")), rows


async def listed_log(admin_api: Any, pod: str, container: str) -> Any:
    """The container's log once its `ps` has printed (running comes before the output)."""
    for _ in range(200):
        answer = await admin_api.get(f"{PODS}/{pod}/log", params={"container": container})
        if listing(answer.text.encode()):
            return answer
        await asyncio.sleep(0.025)
    raise AssertionError(f"{pod}/{container} printed no process list: {answer.text!r}")


async def test_an_ephemeral_container_joins_its_target(api_sandbox: Any, admin_api: Any) -> None:
    await start(api_sandbox, admin_api, sleeper("targeted", 1005))
    lister = ["sh", "-c", LIST + "; sleep 1000"]
    debuggers = [
        {"name": "aimed", "image": "busybox:1.36", "command": lister},
        {"name": "loose", "image": "busybox:1.36", "command": lister},
    ]
    debuggers[0]["targetContainerName"] = "main"
    answer = await admin_api.request(
        "PATCH",
        f"{PODS}/targeted/ephemeralcontainers",
        body={"spec": {"ephemeralContainers": debuggers}},
        content_type="application/strategic-merge-patch+json",
    )
    assert answer.status == 200, answer.text
    for name in ("aimed", "loose"):
        await wait_pod(
            api_sandbox.store,
            "default",
            "targeted",
            lambda p, n=name: container_state(p, n, ephemeral=True) == "running",
        )
    aimed = await listed_log(admin_api, "targeted", "aimed")
    loose = await listed_log(admin_api, "targeted", "loose")
    first = listing(aimed.text.encode())[0]
    assert first[0] == 1 and first[1].endswith("sleep 1005"), aimed.text
    assert not any("sleep 1005" in args for _, args in listing(loose.text.encode())), loose.text
    assert listing(loose.text.encode())[0][0] == 1
