"""Wait for a debug container to run, by watching its pod (never by polling).

The kubelet reports progress in the pod's container statuses; this module reads them,
reports each new state as a session phase, returns as soon as the container runs, and
fails with the kubelet's own reason and message when the container cannot start. A first
failed pull (ErrImagePull) is waited through, as the kubelet retries it; the back-off
that follows is the end. Beside the statuses, `follow_events` reports the kubelet's events
about the container (Pulling, Pulled, Failed, BackOff...), which say more while waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from retina_tui.errors import RetinaTuiError, SessionError
from retina_tui.kube.client import KubeClient
from retina_tui.kube.shapes import POD_FIELDS, expect_object, origin_of
from retina_tui.kube.watch import Change, watch_objects

FATAL_WAITING_REASONS = frozenset(
    {
        "ImagePullBackOff",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerError",
        "CreateContainerConfigError",
        "RunContainerError",
        "StartError",
        "CrashLoopBackOff",
    }
)


@dataclass(frozen=True, slots=True)
class ContainerState:
    """A container's state as the kubelet last reported it."""

    kind: Literal["absent", "waiting", "running", "terminated"]
    reason: str = ""
    message: str = ""
    exit_code: int | None = None

    def describe(self) -> str:
        if self.kind == "absent":
            return "not reported by the kubelet yet"
        if self.kind == "terminated":
            text = f"terminated with exit code {self.exit_code}"
            return f"{text} ({self.reason})" if self.reason else text
        return f"{self.kind}: {self.reason}" if self.reason else self.kind


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def container_state(pod: dict[str, Any], container: str, *, ephemeral: bool) -> ContainerState:
    """The state of `container` in `pod` (an ephemeral one when `ephemeral`).

    Fields of the wrong type read as absent, so a garbled status never raises here.
    """
    key = "ephemeralContainerStatuses" if ephemeral else "containerStatuses"
    statuses = _mapping(pod.get("status")).get(key)
    for status in statuses if isinstance(statuses, list) else []:
        if not isinstance(status, dict) or status.get("name") != container:
            continue
        state = _mapping(status.get("state"))
        if "running" in state:
            return ContainerState("running")
        if "terminated" in state:
            term = _mapping(state["terminated"])
            code = term.get("exitCode", 0)
            return ContainerState(
                "terminated",
                str(term.get("reason", "")),
                str(term.get("message", "")),
                code if isinstance(code, int) else None,
            )
        waiting = _mapping(state.get("waiting"))
        return ContainerState(
            "waiting", str(waiting.get("reason", "")), str(waiting.get("message", ""))
        )
    return ContainerState("absent")


def _check(pod: dict[str, Any], container: str, ephemeral: bool, where: str) -> ContainerState:
    """The container's state; raises SessionError when it can never run."""
    state = container_state(pod, container, ephemeral=ephemeral)
    phase = (pod.get("status") or {}).get("phase")
    if state.kind == "waiting" and state.reason in FATAL_WAITING_REASONS:
        detail = f": {state.message}" if state.message else ""
        raise SessionError(
            f"The debug container in {where} could not start: {state.reason}{detail}; check "
            "the image name and that the node can pull it (--image)."
        )
    if state.kind == "terminated":
        detail = f": {state.message}" if state.message else ""
        raise SessionError(
            f"The debug container in {where} ended before the shell could attach "
            f"({state.describe()}{detail}); check that the image has a shell."
        )
    if not ephemeral and phase in ("Failed", "Succeeded") and state.kind != "running":
        status = pod.get("status") or {}
        reason = status.get("reason") or phase
        message = f": {status['message']}" if status.get("message") else ""
        raise SessionError(f"The debug pod {where} ended ({reason}{message}).")
    return state


async def wait_running(
    client: KubeClient,
    namespace: str,
    pod: str,
    container: str,
    *,
    ephemeral: bool,
    timeout: float,  # noqa: ASYNC109 - the timeout is part of what is reported
    on_state: Callable[[ContainerState], None],
    initial: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Watch `pod` until `container` runs; the pod as last seen.

    `initial` is the pod as the caller last received it (the answer to its create or
    patch): it is checked first and the watch starts from its resourceVersion.
    Raises SessionError on a fatal state, on deletion, or after `timeout` seconds,
    naming the last state seen.
    """
    where = f"pod {namespace}/{pod}"
    call = f"GET /api/v1/namespaces/{namespace}/pods?watch (the {where})"
    origin = origin_of(client)
    last = ContainerState("absent")
    seen: ContainerState | None = None
    since = None
    if initial is not None:
        last = seen = _check(initial, container, ephemeral, where)
        on_state(last)
        if last.kind == "running":
            return initial
        since = (initial.get("metadata") or {}).get("resourceVersion")
    try:
        async with asyncio.timeout(timeout):
            events = watch_objects(
                client,
                f"/api/v1/namespaces/{namespace}/pods",
                field_selector=f"metadata.name={pod}",
                since=str(since) if since else None,
            )
            try:
                async for event in events:
                    if isinstance(event, Change):
                        if event.type == "DELETED":
                            raise SessionError(
                                f"The {where} was deleted while waiting for its debug shell."
                            )
                        objects = [event.obj]
                    else:
                        objects = event.items
                        if not objects:
                            raise SessionError(
                                f"The {where} disappeared while waiting for its debug shell."
                            )
                    found = expect_object(objects[0], "pod", POD_FIELDS, origin=origin, call=call)
                    state = container_state(found, container, ephemeral=ephemeral)
                    last = state
                    if state != seen:  # reported before a fatal state ends the wait
                        seen = state
                        on_state(state)
                    _check(found, container, ephemeral, where)
                    if state.kind == "running":
                        return objects[0]
            finally:
                await events.aclose()
    except TimeoutError:
        raise SessionError(
            f"The debug shell in {where} did not start within {timeout:g} s; the last state "
            f"seen was {last.describe()}; try again or raise --timeout."
        ) from None
    raise SessionError(f"The watch of {where} ended unexpectedly.")


def _field_path(container: str, *, ephemeral: bool) -> str:
    kind = "ephemeralContainers" if ephemeral else "containers"
    return f"spec.{kind}{{{container}}}"


async def follow_events(
    client: KubeClient,
    namespace: str,
    pod: str,
    container: str,
    *,
    ephemeral: bool,
    on_event: Callable[[str, str, bool], None],
) -> None:
    """Report (reason, message, warning) of each new event about the container, forever.

    Events from before the watch started are reported only if they are about this
    container (an ephemeral container's pod has older events of its own).
    """
    path = f"/api/v1/namespaces/{namespace}/events"
    selector = f"involvedObject.kind=Pod,involvedObject.name={pod}"
    wanted = _field_path(container, ephemeral=ephemeral)
    seen: dict[str, object] = {}
    events = watch_objects(client, path, field_selector=selector)
    try:
        async for event in events:
            items = event.items if not isinstance(event, Change) else [event.obj]
            if isinstance(event, Change) and event.type == "DELETED":
                continue
            ordered = sorted(items, key=lambda e: str(e.get("lastTimestamp") or ""))
            for item in ordered:
                involved = _mapping(item.get("involvedObject"))
                field = involved.get("fieldPath") or ""
                if field != wanted and (ephemeral or field):
                    continue
                name = str((item.get("metadata") or {}).get("name", ""))
                count = item.get("count")
                if seen.get(name) == count:
                    continue
                seen[name] = count
                on_event(
                    str(item.get("reason") or ""),
                    str(item.get("message") or ""),
                    item.get("type") == "Warning",
                )
    except RetinaTuiError:
        return  # events are extra detail: a refused or failed watch takes nothing away
    finally:
        await events.aclose()
