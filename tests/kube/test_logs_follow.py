"""Following container logs against the sandbox: drops, restarts, several pods at once."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from retina_tui.errors import ClusterUnreachableError, KubeApiError
from retina_tui.kube.client import KubeClient, connect
from retina_tui.kube.logs import LogLine, LogSource, follow_log, follow_many, parse_stamp
from tests.sandbox.apiclient import pod_body

COUNTER = "i=0; while true; do i=$((i+1)); echo n-$i; sleep 0.1; done"


@pytest.fixture
def sandbox_options() -> Any:
    from retina_tui.sandbox import SandboxOptions

    return SandboxOptions(nodes=1, pods=0, network="host", start_delay=0.05, restart_backoff=0.3)


@pytest.fixture
async def client(api_sandbox: Any) -> AsyncIterator[KubeClient]:
    kube = await connect(kubeconfig=str(api_sandbox.kubeconfig_path))
    try:
        yield kube
    finally:
        await kube.close()


async def start_pod(client: KubeClient, name: str, script: str, **spec: Any) -> None:
    body = pod_body(name, **spec)
    body["spec"]["containers"][0].update(command=["sh", "-c", script])
    await client.request("POST", "/api/v1/namespaces/default/pods", body=body)


async def take(lines: AsyncIterator[LogLine], count: int) -> list[LogLine]:
    taken: list[LogLine] = []
    async with asyncio.timeout(20):
        async for line in lines:
            taken.append(line)
            if len(taken) == count:
                break
    return taken


def numbers(lines: list[LogLine]) -> list[int]:
    return [int(line.text.removeprefix("n-")) for line in lines]


def test_timestamps_keep_nanoseconds() -> None:
    assert (
        parse_stamp("2026-12-03T10:00:01.000000123Z") - parse_stamp("2026-12-03T10:00:01Z") == 123
    )


async def test_a_dropped_follow_resumes_without_a_gap_or_a_repeat(
    api_sandbox: Any, client: KubeClient
) -> None:
    await start_pod(client, "counter", COUNTER)
    statuses: list[str] = []
    lines = follow_log(client, LogSource("default", "counter", "main"), on_status=statuses.append)
    async with asyncio.timeout(30):
        seen = await take(lines, 5)
        for _ in range(3):
            await api_sandbox.kubelet.drop_streams()
            seen += await take(lines, 8)
        await lines.aclose()
    assert numbers(seen) == list(range(1, len(seen) + 1))
    assert any("dropped" in text for text in statuses), statuses


async def test_an_unreachable_api_while_resuming_is_waited_out(
    api_sandbox: Any, client: KubeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await start_pod(client, "outage", COUNTER)
    statuses: list[str] = []
    lines = follow_log(client, LogSource("default", "outage", "main"), on_status=statuses.append)
    real = client.request
    failures = 0

    async def flaky(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        nonlocal failures
        if path.endswith("/pods/outage") and failures < 2 and seen:
            failures += 1
            raise ClusterUnreachableError("The API server cannot be reached.")
        return await real(method, path, **kwargs)

    seen: list[LogLine] = []
    monkeypatch.setattr(client, "request", flaky)
    async with asyncio.timeout(30):
        seen += await take(lines, 3)
        await api_sandbox.kubelet.drop_streams()
        seen += await take(lines, 10)
        await lines.aclose()
    assert failures == 2
    assert numbers(seen) == list(range(1, len(seen) + 1))
    assert sum("dropped" in text for text in statuses) >= 2, statuses


async def test_follow_goes_on_into_the_next_run_and_previous_reads_the_last(
    client: KubeClient,
) -> None:
    script = "echo run-$(cat /proc/sys/kernel/random/uuid); sleep 0.3; exit 1"
    await start_pod(client, "restarts", script)
    source = LogSource("default", "restarts", "main")
    lines = follow_log(client, source)
    async with asyncio.timeout(30):
        runs = await take(lines, 2)
        await lines.aclose()
    assert all(line.text.startswith("run-") for line in runs)
    assert runs[0].text != runs[1].text
    previous = [
        line async for line in follow_log(client, dataclasses.replace(source, previous=True))
    ]
    assert len(previous) == 1 and previous[0].text.startswith("run-")


async def test_a_container_that_has_not_started_is_waited_for(client: KubeClient) -> None:
    await start_pod(client, "late", "echo late-line; sleep 3600")
    source = LogSource("default", "late", "main")
    # asked at once, while the container is still being created
    lines = follow_log(client, source)
    async with asyncio.timeout(20):
        first = await take(lines, 1)
        await lines.aclose()
    assert first[0].text == "late-line"


async def test_an_unknown_container_is_an_error_with_the_api_message(
    client: KubeClient,
) -> None:
    await start_pod(client, "one", "sleep 3600")
    with pytest.raises(KubeApiError, match="container nope is not valid for pod one"):
        async for _line in follow_log(client, LogSource("default", "one", "nope")):
            pass


async def test_two_pods_interleave_and_a_restart_policy_never_log_ends(
    client: KubeClient,
) -> None:
    await start_pod(client, "left", COUNTER)
    await start_pod(client, "right", "echo only-once", restartPolicy="Never")
    sources = [LogSource("default", "left", "main"), LogSource("default", "right", "main")]
    merged = follow_many(client, sources)
    async with asyncio.timeout(20):
        seen: list[LogLine] = []
        async for line in merged:
            seen.append(line)
            if len([x for x in seen if x.source.pod == "left"]) >= 20:
                break
        await merged.aclose()
    right = [line.text for line in seen if line.source.pod == "right"]
    assert right == ["only-once"]
    assert numbers([line for line in seen if line.source.pod == "left"]) == list(range(1, 21))
