"""The details panel: what a person wants to know about one pod or node at a glance.

Rendering is a pure function of the object's JSON so it can be tested directly; the
panel fetches the object (and a pod's last events) when the cursor settles on a row and
follows its changes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import RenderResult
from textual.reactive import reactive
from textual.widget import Widget

from retina_tui.ui.rows import (
    event_count,
    human_duration,
    involved_object,
    last_seen,
    node_row,
    pod_status,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from retina_tui.ui.network_rows import NetworkIndex


def _section(text: Text, title: str) -> None:
    text.append(f"\n{title}\n", style="bold underline")


def _pairs(text: Text, mapping: dict[str, Any] | None) -> None:
    if not mapping:
        text.append("  <none>\n", style="dim")
        return
    for key in sorted(mapping):
        text.append(f"  {key}", style="cyan")
        text.append(f"={mapping[key]}\n")


def _state(status: dict[str, Any] | None) -> str:
    state = (status or {}).get("state") or {}
    for kind in ("running", "waiting", "terminated"):
        if kind in state:
            reason = (state[kind] or {}).get("reason")
            return f"{kind} ({reason})" if reason else kind
    return "unknown"


def network_details(view: str, obj: dict[str, Any], network: NetworkIndex) -> Text:
    """A Service with its endpoints and problems, or a policy with its rules in words."""
    from retina_tui.netmodel.policy import summarize
    from retina_tui.netmodel.services import resolve_service, slices_of

    meta = obj.get("metadata") or {}
    text = Text()
    text.append(f"{meta.get('namespace')}/{meta.get('name')}\n", style="bold")
    if view == "netpols":
        for part in summarize(obj).split(", "):
            text.append(f"  {part}\n")
        return text
    spec = obj.get("spec") or {}
    text.append(f"type     {spec.get('type') or 'ClusterIP'}\n")
    text.append(f"cluster  {spec.get('clusterIP') or '<none>'}\n")
    selector = spec.get("selector") or {}
    text.append(f"selector {','.join(f'{k}={v}' for k, v in selector.items()) or '<none>'}\n")
    slices = slices_of(obj, network.slices.values())
    for port in spec.get("ports") or [{}]:
        resolution = resolve_service(obj, slices, [], port.get("port"))
        if resolution.port is None:
            continue
        _section(text, f"Port {resolution.port.show()} -> {resolution.port.target}")
        for backend in resolution.backends:
            style = "" if backend.ready else "red"
            state = "ready" if backend.ready else "not ready"
            text.append(
                f"  {backend.ip}:{backend.port}  {backend.pod or ''}  {state}\n", style=style
            )
        if not resolution.backends:
            text.append("  no endpoints\n", style="red")
    return text


def pod_details(pod: dict[str, Any]) -> Text:
    """Labels, IPs, containers and the debug (ephemeral) containers of a pod."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    text = Text()
    text.append(f"{meta.get('namespace')}/{meta.get('name')}\n", style="bold")
    text.append(f"status  {pod_status(pod)[0]}\n")
    text.append(f"node    {spec.get('nodeName') or '<none>'}\n")
    pod_ips = [entry.get("ip") for entry in status.get("podIPs") or () if entry.get("ip")]
    ips = ", ".join(pod_ips) or status.get("podIP") or "<none>"
    text.append(f"pod IP  {ips}\n")
    text.append(f"host IP {status.get('hostIP') or '<none>'}\n")
    if spec.get("hostNetwork"):
        text.append("host network\n", style="yellow")
    _section(text, "Labels")
    _pairs(text, meta.get("labels"))
    _section(text, "Containers")
    statuses = {s.get("name"): s for s in status.get("containerStatuses") or ()}
    for container in spec.get("containers") or ():
        name = container.get("name")
        text.append(f"  {name}", style="bold")
        text.append(f"  {container.get('image')}\n")
        ports = ", ".join(
            f"{p.get('containerPort')}/{p.get('protocol', 'TCP')}"
            for p in container.get("ports") or ()
        )
        if ports:
            text.append(f"    ports {ports}\n")
        text.append(f"    {_state(statuses.get(name))}\n", style="dim")
    _section(text, "Debug containers")
    ephemeral = spec.get("ephemeralContainers") or ()
    if not ephemeral:
        text.append("  <none>\n", style="dim")
    eph_statuses = {s.get("name"): s for s in status.get("ephemeralContainerStatuses") or ()}
    for container in ephemeral:
        name = container.get("name")
        text.append(f"  {name}", style="bold magenta")
        text.append(f"  {container.get('image')}\n")
        target = container.get("targetContainerName")
        if target:
            text.append(f"    target {target}\n")
        text.append(f"    {_state(eph_statuses.get(name))}\n", style="dim")
    _shells(text, pod)
    return text


def _shells(text: Text, pod: dict[str, Any]) -> None:
    """The pod's running retina-tui shells, which `a` re-attaches to (a restarted UI)."""
    from retina_tui.sessions.pod import pod_shells

    shells = [s for s in pod_shells(pod) if s.running and s.purpose == "shell"]
    if not shells:
        return
    _section(text, "Running retina-tui shells")
    for shell in sorted(shells, key=lambda s: str(s.record.get("created", "")), reverse=True):
        who = shell.record.get("user")
        since = shell.record.get("created")
        text.append(f"  {shell.container}", style="bold green")
        text.append(f"{f' of {who}' if who else ''}{f' since {since}' if since else ''}\n")
    text.append("  press a to re-attach to the newest\n", style="dim")


def node_details(node: dict[str, Any], pods_on_node: int) -> Text:
    """Addresses, labels, capacity and conditions of a node."""
    meta = node.get("metadata") or {}
    status = node.get("status") or {}
    row = node_row(node, pods_on_node)
    text = Text()
    text.append(f"{meta.get('name')}\n", style="bold")
    text.append(f"status   {row.cells[1]}\nroles    {row.cells[2]}\n")
    text.append(f"os/arch  {row.cells[4]}\nkubelet  {row.cells[5]}\npods     {pods_on_node}\n")
    _section(text, "Addresses")
    for address in status.get("addresses") or ():
        text.append(f"  {address.get('type')}", style="cyan")
        text.append(f"  {address.get('address')}\n")
    pod_cidrs = (node.get("spec") or {}).get("podCIDRs") or []
    cidr = (node.get("spec") or {}).get("podCIDR")
    if cidr or pod_cidrs:
        text.append("  PodCIDR", style="cyan")
        text.append(f"  {', '.join(pod_cidrs) or cidr}\n")
    _section(text, "Labels")
    _pairs(text, meta.get("labels"))
    _section(text, "Conditions")
    for condition in status.get("conditions") or ():
        text.append(f"  {condition.get('type')}={condition.get('status')}\n")
    return text


LAST_EVENTS = 5


def _last_events(text: Text, events: list[dict[str, Any]], now: float) -> None:
    """The pod's newest events, newest first, warnings in red (`e` shows them all)."""
    _section(text, "Last events")
    newest = sorted(events, key=last_seen, reverse=True)[:LAST_EVENTS]
    if not newest:
        text.append("  <none>\n", style="dim")
    for event in newest:
        ago = human_duration(now - last_seen(event)) if last_seen(event) else "?"
        count = event_count(event)
        times = f" x{count}" if count > 1 else ""
        style = "bold red" if event.get("type") == "Warning" else ""
        text.append(f"  {ago} {event.get('reason', '')}{times}", style=style)
        text.append(f" {' '.join(str(event.get('message') or '').split())}\n", style="dim")


class DetailsPanel(Widget):
    """Shows `pod_details` or `node_details` of the row under the cursor.

    Its size comes from CSS alone, so a new text only repaints the panel; a Static
    would lay out the whole screen again on every update, which a churning pod under
    the cursor makes frequent.
    """

    DEFAULT_CSS = """
    DetailsPanel {
        width: 36;
        max-width: 40%;
        height: 1fr;
        border-left: vkey $primary 50%;
        padding: 0 1;
    }
    """

    content: reactive[Text] = reactive(Text, layout=False)

    def __init__(self, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self._events: tuple[str, list[dict[str, Any]]] = ("", [])
        """The uid of the pod whose last events were fetched, and those events."""

    def render(self) -> RenderResult:
        return self.content

    def show_pod(
        self,
        pod: dict[str, Any],
        network: list[tuple[str, str]] | None = None,
        events: list[dict[str, Any]] | None = None,
    ) -> None:
        """Render one pod, with the Services and policies that select it, and its last
        events (`events`, or those last given for the same pod)."""
        uid = str((pod.get("metadata") or {}).get("uid", ""))
        if events is not None:
            mine = [e for e in events if involved_object(e).get("uid") in (uid, None)]
            self._events = (uid, mine)
        text = pod_details(pod)
        for heading in ("Services", "NetworkPolicies"):
            lines = [line for head, line in network or () if head == heading]
            _section(text, f"{heading} selecting it")
            if not lines:
                text.append("  <none>\n", style="dim")
            for line in lines:
                text.append(f"  {line}\n")
        if self._events[0] == uid:
            _last_events(text, self._events[1], self.clock())
        self.content = text

    def show_network(self, view: str, key: str | None, network: NetworkIndex) -> None:
        """Render the Service (resolved) or NetworkPolicy (summarized) under the cursor."""
        store = network.services if view == "services" else network.policies
        obj = store.get(key or "")
        if obj is None:
            self.show_nothing()
            return
        self.content = network_details(view, obj, network)

    def show_node(self, node: dict[str, Any], pods_on_node: int) -> None:
        """Render one node."""
        self.content = node_details(node, pods_on_node)

    def show_nothing(self, reason: str = "Nothing selected.") -> None:
        """Clear the panel."""
        self.content = Text(reason, style="dim")
