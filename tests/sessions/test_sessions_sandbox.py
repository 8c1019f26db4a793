"""Pod and node sessions against the sandbox: shells, exit codes, re-attach, cleanup."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from retina_tui.errors import NotFoundError
from retina_tui.kube.client import KubeClient
from retina_tui.kube.watch import Change, watch_objects
from retina_tui.sessions.node import NodeSession, find_node_shells
from retina_tui.sessions.pod import PodSession, find_pod_shells, pod_shells
from retina_tui.sessions.session import CLOSED, Session
from retina_tui.sessions.specs import MANAGED_BY_LABEL, NodeSessionSpec, PodSessionSpec
from retina_tui.sessions.wait import container_state
from tests.sessions.conftest import Screen, prompt, run_line

POD_NS = "default"


async def running_pod(kube: KubeClient) -> str:
    pods = await kube.request("GET", f"/api/v1/namespaces/{POD_NS}/pods")
    for pod in pods["items"]:
        if (pod.get("status") or {}).get("phase") == "Running":
            return str(pod["metadata"]["name"])
    raise AssertionError("the sandbox has no running pod in default")


async def linux_node(kube: KubeClient) -> str:
    nodes = await kube.request("GET", "/api/v1/nodes")
    for node in nodes["items"]:
        if node["metadata"]["labels"].get("kubernetes.io/os") == "linux":
            return str(node["metadata"]["name"])
    raise AssertionError("the sandbox has no linux node")


async def debug_pods(kube: KubeClient) -> list[str]:
    pods = await kube.request(
        "GET", "/api/v1/pods", params={"labelSelector": f"{MANAGED_BY_LABEL}=retina-tui"}
    )
    return [p["metadata"]["name"] for p in pods["items"]]


def pod_session(kube: KubeClient, screen: Screen, pod: str, **spec: Any) -> PodSession:
    return PodSession(
        kube,
        PodSessionSpec(namespace=POD_NS, pod=pod, **spec),
        on_phase=screen.on_phase,
        on_output=screen.on_output,
    )


def node_session(kube: KubeClient, screen: Screen, node: str, **spec: Any) -> NodeSession:
    return NodeSession(
        kube,
        NodeSessionSpec(node=node, namespace=POD_NS, **spec),
        on_phase=screen.on_phase,
        on_output=screen.on_output,
    )


async def exit_with(session: Session, code: int) -> int:
    await session.write(f"exit {code}\r".encode())
    return await asyncio.wait_for(session.wait(), 30)


async def test_pod_session_runs_a_shell_and_reports_its_exit_code(kube: KubeClient) -> None:
    screen = Screen()
    session = pod_session(kube, screen, await running_pod(kube))
    await session.resize(100, 30)
    await session.start()
    try:
        mark = await prompt(session, screen)
        out, mark = await run_line(session, screen, "echo hel''lo", mark)
        assert b"hello" in out
        out, mark = await run_line(session, screen, "stty size", mark)
        assert b"30 100" in out
        assert await exit_with(session, 7) == 7
    finally:
        await session.close()
    kinds = [phase.kind for phase in screen.phases]
    assert kinds[0] == "creating" and "running" in kinds and kinds[-1] == "exited"
    assert screen.phases[-1].exit_code == 7
    assert session.container.startswith("rtui-")


async def test_node_session_runs_and_its_pod_is_deleted(kube: KubeClient) -> None:
    screen = Screen()
    session = node_session(kube, screen, await linux_node(kube))
    await session.start()
    try:
        assert session.pod in await debug_pods(kube)
        mark = await prompt(session, screen)
        out, _ = await run_line(session, screen, "echo hel''lo", mark)
        assert b"hello" in out
        assert await exit_with(session, 3) == 3
    finally:
        await session.close()
    assert await debug_pods(kube) == []


async def test_a_dropped_stream_is_reattached_and_the_shell_state_survives(
    kube: KubeClient, api_sandbox: Any
) -> None:
    screen = Screen()
    session = pod_session(kube, screen, await running_pod(kube))
    await session.start()
    try:
        mark = await prompt(session, screen)
        _, mark = await run_line(session, screen, "KEEP=sur''vived", mark)
        screen.phases.clear()
        await api_sandbox.kubelet.drop_streams()
        await screen.expect_phase("reconnecting")
        await screen.expect_phase("running")
        mark = len(screen.data)
        await session.write(b"echo $KEEP\r")
        await screen.expect(b"survived", since=mark)
        assert await exit_with(session, 0) == 0
    finally:
        await session.close()


async def test_a_restarted_ui_finds_and_reattaches_to_a_running_shell(kube: KubeClient) -> None:
    pod = await running_pod(kube)
    screen = Screen()
    first = pod_session(kube, screen, pod)
    await first.start()
    second: PodSession | None = None
    try:
        mark = await prompt(first, screen)
        await run_line(first, screen, "MARK=fo''und", mark)
        shells = await find_pod_shells(kube, POD_NS, pod)
        assert first.container in [shell.container for shell in shells]
        record = next(s.record for s in shells if s.container == first.container)
        assert record["session"] == first.session_id
        again = Screen()
        second = pod_session(kube, again, pod, attach_to=first.container)
        await second.start()
        # Both are attached to one shell now, and resizes make it redraw: look for the
        # value itself, which the typed line does not contain.
        mark = len(again.data)
        await second.write(b"echo $MARK\r")
        await again.expect(b"found", since=mark)
    finally:
        if second is not None:
            await second.close()
        await first.close()


async def test_cancelling_a_node_session_while_waiting_leaves_no_pod(kube: KubeClient) -> None:
    screen = Screen()
    session = node_session(kube, screen, await linux_node(kube))
    task = asyncio.create_task(session.start(), name="node session start")
    await screen.expect_phase("waiting")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await debug_pods(kube) == []
    assert screen.phases[-1].kind == "failed"


async def test_cancelling_wait_ends_a_node_session_and_deletes_its_pod(kube: KubeClient) -> None:
    screen = Screen()
    session = node_session(kube, screen, await linux_node(kube))
    await session.start()
    waiter = asyncio.create_task(session.wait(), name="node session wait")
    await prompt(session, screen)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert await debug_pods(kube) == []


async def test_closing_a_node_session_deletes_its_pod(kube: KubeClient) -> None:
    screen = Screen()
    session = node_session(kube, screen, await linux_node(kube))
    await session.start()
    name = session.pod
    await session.close()
    with pytest.raises(NotFoundError):
        await kube.request("GET", f"/api/v1/namespaces/{POD_NS}/pods/{name}")
    assert screen.phases[-1].kind == "exited"


async def test_output_is_also_an_async_iterator(kube: KubeClient) -> None:
    session = PodSession(kube, PodSessionSpec(namespace=POD_NS, pod=await running_pod(kube)))
    await session.start()
    seen = bytearray()

    async def read() -> None:
        async for chunk in session.output():
            seen.extend(chunk)

    reader = asyncio.create_task(read(), name="output reader")
    try:
        await session.write(b"echo it''erated; exit 4\r")
        assert await asyncio.wait_for(session.wait(), 30) == 4
        await asyncio.wait_for(reader, 10)
    finally:
        await session.close()
        reader.cancel()
    assert b"iterated" in seen


async def test_the_shell_gets_the_idle_logout_and_node_pods_wait_for_the_lease_hook(
    kube: KubeClient,
) -> None:
    calls: list[tuple[str, list[str]]] = []

    async def before_create(namespace: str) -> None:
        calls.append((namespace, await debug_pods(kube)))

    screen = Screen()
    session = NodeSession(
        kube,
        NodeSessionSpec(node=await linux_node(kube), namespace=POD_NS, idle_logout_seconds=123),
        on_phase=screen.on_phase,
        on_output=screen.on_output,
        before_create=before_create,
    )
    await session.start()
    try:
        mark = await prompt(session, screen)
        out, _ = await run_line(session, screen, "echo tmout=$TMOUT", mark)
        assert b"tmout=123" in out
    finally:
        await session.close()
    assert calls == [(POD_NS, [])]


async def test_cancelling_a_pod_session_while_waiting_ends_its_shell(kube: KubeClient) -> None:
    pod = await running_pod(kube)
    screen = Screen()
    session = pod_session(kube, screen, pod)
    task = asyncio.create_task(session.start(), name="pod session start")
    await screen.expect_phase("waiting")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    shells = {
        shell.container: shell
        for shell in pod_shells(
            await kube.request("GET", f"/api/v1/namespaces/{POD_NS}/pods/{pod}")
        )
    }
    assert session.container in shells
    await wait_terminated(kube, pod, session.container)


async def wait_terminated(kube: KubeClient, pod: str, container: str) -> None:
    events = watch_objects(
        kube, f"/api/v1/namespaces/{POD_NS}/pods", field_selector=f"metadata.name={pod}"
    )
    try:
        async with asyncio.timeout(30):
            async for event in events:
                obj = event.obj if isinstance(event, Change) else event.items[0]
                if container_state(obj, container, ephemeral=True).kind == "terminated":
                    return
    finally:
        await events.aclose()


async def test_a_restarted_ui_takes_over_its_node_pod(kube: KubeClient) -> None:
    screen = Screen()
    first = node_session(kube, screen, await linux_node(kube))
    await first.start()
    try:
        mark = await prompt(first, screen)
        await run_line(first, screen, "MARK=no''de", mark)
        shells = [s for s in await find_node_shells(kube) if s.pod == first.pod]
        assert shells and shells[0].running and shells[0].session == first.session_id
        again = Screen()
        second = NodeSession(
            kube,
            NodeSessionSpec(node=shells[0].node, namespace=POD_NS, attach_to=first.pod),
            instance_id="newinstance",
            on_output=again.on_output,
        )
        await second.start()
        mark = len(again.data)
        await second.write(b"echo $MARK\r")
        await again.expect(b"node", since=mark)
        pod = await kube.request("GET", f"/api/v1/namespaces/{POD_NS}/pods/{first.pod}")
        assert pod["metadata"]["labels"]["retina-tui.io/instance"] == "newinstance"
        await second.close()
    finally:
        await first.close()
    assert await debug_pods(kube) == []


async def test_close_ends_a_waiting_wait_with_closed(kube: KubeClient) -> None:
    screen = Screen()
    session = node_session(kube, screen, await linux_node(kube))
    await session.start()
    waiter = asyncio.create_task(session.wait(), name="node session wait")
    await prompt(session, screen)
    await session.close()
    assert await asyncio.wait_for(waiter, 30) == CLOSED
    assert await debug_pods(kube) == []
