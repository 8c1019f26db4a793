"""The cluster browser: live pods and nodes tables, a filter and a details panel.

The browser owns its watches (workers in the `watch` group), so replacing the client
or the namespace cancels them. It keeps only the rows and a few fields per pod, not
the pods' JSON: 10,000 full pod objects would cost far more memory than the UI may.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult, RenderResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input

from retina_tui.errors import RetinaTuiError
from retina_tui.ui.details import DetailsPanel
from retina_tui.ui.failures import ReportsWorkerFailures
from retina_tui.ui.forwards import FORWARD_COLUMNS, STATE_COLUMN
from retina_tui.ui.network_rows import NETPOL_COLUMNS, SERVICE_COLUMNS, NetworkIndex
from retina_tui.ui.network_views import NetworkViews
from retina_tui.ui.rows import (
    NODE_COLUMNS,
    POD_COLUMNS,
    Row,
    node_row,
    object_selector,
    pod_row,
)
from retina_tui.ui.table import VirtualTable, forward_if_unfocused

if TYPE_CHECKING:
    from retina_tui.kube.client import KubeClient

ALL_NAMESPACES = ""
VIEWS = ("pods", "nodes", "services", "netpols", "forwards")
NETWORK_GROUPS = ("watch-services", "watch-slices", "watch-netpols")


@dataclass(frozen=True, slots=True)
class PodRef:
    """What a session needs to know about a pod: where it is and what it runs."""

    namespace: str
    name: str
    node: str | None
    containers: tuple[str, ...]
    ips: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()


CHURN_STATUS_SECONDS = 1.0
"""A pod change rewrites the status line's counts at most this often."""


def pod_ref(pod: dict[str, Any]) -> PodRef:
    """The few fields the browser keeps per pod."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    return PodRef(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        node=spec.get("nodeName") or None,
        containers=tuple(str(c.get("name")) for c in spec.get("containers") or ()),
        ips=tuple(
            str(entry.get("ip"))
            for entry in (pod.get("status") or {}).get("podIPs") or ()
            if entry.get("ip") and not spec.get("hostNetwork")
        ),
        labels=tuple(sorted((str(k), str(v)) for k, v in (meta.get("labels") or {}).items())),
    )


class FilterInput(Input):
    """The filter; Enter and Escape hand the focus back at once, so the keys typed right
    after them go to the table (a binding would act only once the key bubbled up)."""

    def __init__(self, leave: Callable[[bool], None], **kwargs: Any) -> None:
        """`leave(keep)` gives the focus back: Enter keeps the filter, Escape clears it."""
        super().__init__(**kwargs)
        self._leave = leave

    async def _on_key(self, event: events.Key) -> None:
        if forward_if_unfocused(self, event):
            return
        if event.key in ("enter", "escape"):
            event.stop()
            event.prevent_default()
            self._leave(event.key == "enter")
            return
        await super()._on_key(event)


class StatusLine(Widget):
    """One line of markup that repaints without a layout pass (it changes often)."""

    DEFAULT_CSS = "StatusLine { height: 1; }"

    text: reactive[str] = reactive("")

    def render(self) -> RenderResult:
        return Text.from_markup(self.text)


class Browser(NetworkViews, ReportsWorkerFailures, Vertical):
    """Pods and nodes of one cluster context, live."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # A priority binding acts when the key arrives, so the keys typed after it
        # already go to the filter.
        Binding("slash", "filter", "Filter", id="filter", priority=True),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("p", "show('pods')", "Pods", id="pods"),
        Binding("n", "show('nodes')", "Nodes", id="nodes"),
        Binding("v", "show('services')", "Services", id="services"),
        Binding("t", "show('netpols')", "Policies", id="netpols"),
        Binding("d", "toggle_details", "Details", id="details"),
        Binding("s", "open_session", "Shell", id="pod_session"),
        Binding("S", "open_node_session", "Node shell", id="node_session"),
        Binding("o", "session_dialog", "Shell…", id="session_dialog"),
        Binding("c", "capture", "Capture", id="capture"),
        Binding("a", "reattach", "Re-attach", id="reattach"),
        Binding("m", "mark_source", "Mark source", id="mark_source"),
        Binding("r", "check", "Check", id="check"),
        Binding("l", "logs", "Logs", id="logs"),
        Binding("e", "events", "Events", id="events"),
        Binding("F", "forward", "Forward", id="forward"),
        Binding("f", "show('forwards')", "Forwards", id="forwards"),
        Binding("z", "stop_forward", "Stop forward", id="forward_stop"),
    ]

    DEFAULT_CSS = """
    Browser { height: 1fr; }
    Browser #browser-status { height: 1; background: $boost; padding: 0 1; }
    Browser #filter { height: 1; border: none; padding: 0 1; background: $boost; }
    Browser #filter:focus { background: $accent 30%; }
    Browser #tables { height: 1fr; }
    Browser VirtualTable { width: 1fr; height: 1fr; display: none; }
    Browser.-pods #pods, Browser.-nodes #nodes { display: block; }
    Browser.-services #services, Browser.-netpols #netpols { display: block; }
    Browser.-forwards #forwards { display: block; }
    Browser.-no-details DetailsPanel { display: none; }
    """

    view: reactive[str] = reactive("pods")
    namespace: reactive[str] = reactive(ALL_NAMESPACES)

    class SessionRequested(Message):
        """The user asked for a session: `kind` is "pod" or "node"."""

        def __init__(
            self,
            kind: str,
            pod: PodRef | None,
            node: str | None,
            dialog: bool,
            *,
            windows: bool = False,
        ) -> None:
            super().__init__()
            self.kind = kind
            self.pod = pod
            self.node = node
            self.dialog = dialog
            self.windows = windows
            """The node runs Windows (the dialog then offers no Linux settings)."""

    class CaptureRequested(Message):
        """The user asked to capture a pod's packets (`pod`) or a node's (`node` only)."""

        def __init__(self, pod: PodRef | None, node: str | None) -> None:
            super().__init__()
            self.pod = pod
            self.node = node

    class LogsRequested(Message):
        """The user asked for the logs of `pods` (the marked ones, else the selected one)."""

        def __init__(self, pods: list[PodRef]) -> None:
            super().__init__()
            self.pods = pods

    class EventsRequested(Message):
        """The user asked for the events of one object (`kind`, `name`, `namespace`)."""

        def __init__(self, kind: str, name: str, namespace: str | None) -> None:
            super().__init__()
            self.kind = kind
            self.name = name
            self.in_namespace = namespace

    class ReattachRequested(Message):
        """The user asked to re-attach to a running retina-tui shell of `pod`."""

        def __init__(self, pod: PodRef) -> None:
            super().__init__()
            self.pod = pod

    class CheckRequested(Message):
        """The user asked for a connectivity check from `sources`: pods, and node names."""

        def __init__(self, sources: list[PodRef | str]) -> None:
            super().__init__()
            self.sources = sources

    class ForwardRequested(Message):
        """The user asked to forward local ports to a pod or a Service (`kind` pod or svc);
        `ports` are the ones it declares, to propose."""

        def __init__(self, kind: str, namespace: str, name: str, ports: tuple[int, ...]) -> None:
            super().__init__()
            self.kind = kind
            self.in_namespace = namespace
            self.name = name
            self.ports = ports

    class ForwardStopRequested(Message):
        """The user asked to stop the forward of this row key."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    class SnapshotLoaded(Message):
        """The first full list of pods (or a relist) is in the table."""

        def __init__(self, resource: str, count: int) -> None:
            super().__init__()
            self.resource = resource
            self.count = count

    class WatchRetrying(Message):
        """A watch failed transiently and will retry; `reason` is one sentence."""

        def __init__(self, reason: str, delay: float, connected: bool) -> None:
            super().__init__()
            self.reason = reason
            self.delay = delay
            self.connected = connected

    def __init__(self, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id, classes="-pods")
        self.clock = clock
        self.client: KubeClient | None = None
        self.pods = VirtualTable(POD_COLUMNS, status_column=3, clock=clock, id="pods")
        self.nodes = VirtualTable(NODE_COLUMNS, status_column=1, clock=clock, id="nodes")
        self.services = VirtualTable(SERVICE_COLUMNS, status_column=5, clock=clock, id="services")
        self.netpols = VirtualTable(NETPOL_COLUMNS, status_column=5, clock=clock, id="netpols")
        self.forwards = VirtualTable(
            FORWARD_COLUMNS, status_column=STATE_COLUMN, clock=clock, id="forwards"
        )
        self.details = DetailsPanel(clock=clock, id="details")
        self.network = NetworkIndex()
        self.marked: dict[str, PodRef | str] = {}
        """Check sources: `pod/NS/NAME` -> the pod, `node/NAME` -> the node's name."""
        self._network_dirty: Timer | None = None
        self._policy_counts_stale = False
        self.network_refused: dict[str, str] = {}
        """View -> why its objects cannot be watched (RBAC), shown in the status line."""
        self._refs: dict[str, PodRef] = {}
        self._pod_node: dict[str, str] = {}
        self._node_pods: Counter[str] = Counter()
        self._node_objs: dict[str, dict[str, Any]] = {}
        self._nodes_dirty: Timer | None = None
        self._details_timer: Timer | None = None
        self._status_timer: Timer | None = None
        self._pods_loaded = False
        self._nodes_loaded = False
        self.context_name = ""
        self.connecting_to = ""
        """The context being connected to, shown until the first connection."""

    def compose(self) -> ComposeResult:
        yield StatusLine(id="browser-status")
        yield FilterInput(
            self._leave_filter,
            placeholder="/ to filter: type to narrow, Enter to keep, Esc to clear",
            id="filter",
        )
        with Horizontal(id="tables"):
            yield self.pods
            yield self.nodes
            yield self.services
            yield self.netpols
            yield self.forwards
            yield self.details

    def on_mount(self) -> None:
        self.details.show_nothing("Waiting for the cluster…")
        self._write_status()

    # Watches ------------------------------------------------------------------------

    def start(self, client: KubeClient, namespace: str = ALL_NAMESPACES) -> None:
        """Watch pods (in `namespace`, or everywhere) and nodes through `client`."""
        self.client = client
        self.context_name = client.context
        self._pods_loaded = False
        self._nodes_loaded = False
        self.set_reactive(Browser.namespace, namespace)
        self._watch_pods()
        self._watch_nodes()
        self.network_refused = {}
        self._watch_services()
        self._watch_slices()
        self._watch_policies()
        self._update_status()

    def stop(self) -> None:
        """Cancel the watches (the client is about to go away)."""
        for group in ("watch-pods", "watch-nodes", "details", *NETWORK_GROUPS):
            self.workers.cancel_group(self, group)
        self.client = None

    @property
    def answered(self) -> bool:
        """Whether the API server has answered a list since `start`."""
        return self._pods_loaded or self._nodes_loaded

    @property
    def pods_loaded(self) -> bool:
        """Whether the pods table holds a full list from the API."""
        return self._pods_loaded

    def set_namespace(self, namespace: str) -> None:
        """Show pods of one namespace ("" for all namespaces)."""
        self.namespace = namespace
        if self.client is not None:
            self._pods_loaded = False
            self._watch_pods()
        self._update_status()

    def _retry(self, error: RetinaTuiError, delay: float) -> None:
        self.post_message(self.WatchRetrying(str(error), delay, self._pods_loaded))

    @work(exclusive=True, group="watch-pods", exit_on_error=False)
    async def _watch_pods(self) -> None:
        from retina_tui.kube.watch import Page, Snapshot, watch_objects

        assert self.client is not None
        ns = self.namespace
        path = f"/api/v1/namespaces/{ns}/pods" if ns else "/api/v1/pods"
        async for event in watch_objects(self.client, path, on_retry=self._retry, pages=True):
            now = self.clock()
            if isinstance(event, Page):
                if event.first:
                    self._refs = {}
                    self._pod_node = {}
                    self._node_pods = Counter()
                rows = []
                for pod in event.items:
                    row = pod_row(pod, now)
                    self._remember(row.key, pod)
                    rows.append(row)
                if event.first:
                    self.pods.replace_all(rows)
                else:
                    self.pods.add_rows(rows)
                self._write_status()
                continue
            if isinstance(event, Snapshot):
                # Tens of thousands of rows live as long as the app: keep the cyclic
                # collector from walking them again on every full collection.
                gc.freeze()
                self._pods_loaded = True
                self._nodes_changed()
                self.pods_changed()
                self.post_message(self.SnapshotLoaded("pods", len(event.items)))
                self._write_status()
                continue
            row = pod_row(event.obj, now)
            if event.type == "DELETED":
                self._forget(row.key)
                self.pods.remove_row(row.key)
            else:
                self._remember(row.key, event.obj)
                self.pods.upsert(row)
            if row.key == self.pods.cursor_key and self.view == "pods":
                if event.type == "DELETED":
                    self.details.show_nothing("The pod is gone.")
                else:
                    self.details.show_pod(event.obj, self.network.pod_lines(event.obj))
            self.pods_changed()
            self._update_status(CHURN_STATUS_SECONDS)

    def _remember(self, key: str, pod: dict[str, Any]) -> None:
        ref = pod_ref(pod)
        self._refs[key] = ref
        old = self._pod_node.get(key)
        if old != ref.node:
            if old:
                self._node_pods[old] -= 1
            if ref.node:
                self._node_pods[ref.node] += 1
                self._pod_node[key] = ref.node
            else:
                self._pod_node.pop(key, None)
            self._nodes_changed()

    def _forget(self, key: str) -> None:
        self._refs.pop(key, None)
        node = self._pod_node.pop(key, None)
        if node:
            self._node_pods[node] -= 1
            self._nodes_changed()

    def _nodes_changed(self) -> None:
        if self._nodes_dirty is None:
            self._nodes_dirty = self.set_timer(0.25, self._refresh_node_rows)

    def _refresh_node_rows(self) -> None:
        self._nodes_dirty = None
        for name, node in self._node_objs.items():
            row = node_row(node, self._node_pods[name])
            if self.nodes.get_row(name) != row:
                self.nodes.upsert(row)

    @work(exclusive=True, group="watch-nodes", exit_on_error=False)
    async def _watch_nodes(self) -> None:
        from retina_tui.kube.watch import Snapshot, watch_objects

        assert self.client is not None
        async for event in watch_objects(self.client, "/api/v1/nodes", on_retry=self._retry):
            if isinstance(event, Snapshot):
                self._nodes_loaded = True
                self._node_objs = {n["metadata"]["name"]: n for n in event.items}
                self.nodes.replace_all(
                    node_row(n, self._node_pods[name]) for name, n in self._node_objs.items()
                )
                self.post_message(self.SnapshotLoaded("nodes", len(event.items)))
            else:
                name = event.obj["metadata"]["name"]
                if event.type == "DELETED":
                    self._node_objs.pop(name, None)
                    self.nodes.remove_row(name)
                else:
                    self._node_objs[name] = event.obj
                    self.nodes.upsert(node_row(event.obj, self._node_pods[name]))
                if name == self.nodes.cursor_key and self.view == "nodes":
                    self._show_details()
            self._update_status()

    # Queries used by the app and tests ------------------------------------------------

    def node_runs_windows(self, node: str | None) -> bool:
        """Whether the watched node says it runs Windows (its OS label)."""
        obj = self._node_objs.get(node or "") or {}
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return labels.get("kubernetes.io/os") == "windows"

    @property
    def table(self) -> VirtualTable:
        """The table currently shown."""
        return {
            "pods": self.pods,
            "nodes": self.nodes,
            "services": self.services,
            "netpols": self.netpols,
            "forwards": self.forwards,
        }.get(self.view, self.pods)

    def pod(self, key: str) -> PodRef | None:
        """The pod behind a row key."""
        return self._refs.get(key)

    def find_pod(self, namespace: str, name: str) -> str | None:
        """The row key of a pod, if the browser has it."""
        for key, ref in self._refs.items():
            if ref.namespace == namespace and ref.name == name:
                return key
        return None

    def pods_on(self, node: str) -> int:
        """How many watched pods run on `node`."""
        return self._node_pods[node]

    @property
    def node_names(self) -> list[str]:
        """Names of the nodes, sorted."""
        return sorted(self._node_objs)

    # Actions ------------------------------------------------------------------------

    def watch_view(self, view: str) -> None:
        for name in VIEWS:
            self.set_class(view == name, f"-{name}")
        if self.is_mounted:
            filter_input = self.query_one("#filter", Input)
            filter_input.value = self.table.filter_text
            self.table.focus()
            self._show_details()
            self._update_status()
            if view == "netpols" and self._policy_counts_stale:
                self._network_changed()

    def action_show(self, view: str) -> None:
        self.view = view

    def action_filter(self) -> None:
        # Focus now, not after the queued keys (`focus()` waits its turn): what is typed
        # right after `/` belongs to the filter.
        self.screen.set_focus(self.query_one("#filter", Input))

    def action_clear_filter(self) -> None:
        filter_input = self.query_one("#filter", Input)
        filter_input.value = ""
        self.table.set_filter("")
        self.screen.set_focus(self.table)
        self._update_status()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.set_filter(event.value)
        self._update_status()

    def _leave_filter(self, keep: bool) -> None:
        if keep:
            self.screen.set_focus(self.table)
        else:
            self.action_clear_filter()

    def action_toggle_details(self) -> None:
        self.toggle_class("-no-details")

    def _selected_pod(self) -> PodRef | None:
        key = self.pods.cursor_key
        return self._refs.get(key) if key else None

    def _request(self, *, node_of_pod: bool, dialog: bool) -> None:
        if self.view not in ("pods", "nodes"):
            self.notify("Shells open from the pods (p) or nodes (n) view.", severity="warning")
            return
        if self.view == "nodes":
            node = self.nodes.cursor_key
            if node is None:
                self.notify("No node is selected.", severity="warning")
                return
            self.post_message(
                self.SessionRequested(
                    "node", None, node, dialog, windows=self.node_runs_windows(node)
                )
            )
            return
        pod = self._selected_pod()
        if pod is None:
            self.notify("No pod is selected.", severity="warning")
            return
        if node_of_pod and pod.node is None:
            self.notify(f"The pod {pod.name} is not on a node yet.", severity="warning")
            return
        kind = "node" if node_of_pod else "pod"
        windows = self.node_runs_windows(pod.node)
        self.post_message(self.SessionRequested(kind, pod, pod.node, dialog, windows=windows))

    def _selected_source(self) -> tuple[str, PodRef | str] | None:
        """("pod/NS/NAME", pod) or ("node/NAME", name) under the cursor."""
        if self.view == "nodes" and self.nodes.cursor_key is not None:
            return f"node/{self.nodes.cursor_key}", self.nodes.cursor_key
        pod = self._selected_pod() if self.view == "pods" else None
        if pod is None:
            return None
        return f"pod/{pod.namespace}/{pod.name}", pod

    def action_mark_source(self) -> None:
        selected = self._selected_source()
        if selected is None:
            self.notify("Mark a pod (p) or a node (n) as a check source.", severity="warning")
            return
        key, source = selected
        if self.marked.pop(key, None) is None:
            self.marked[key] = source
        self._update_status()

    def action_check(self) -> None:
        sources = list(self.marked.values())
        if not sources:
            selected = self._selected_source()
            if selected is None:
                self.notify(
                    "Mark sources with m (pods or nodes), or select one, then r.",
                    severity="warning",
                )
                return
            sources = [selected[1]]
        self.post_message(self.CheckRequested(sources))

    def action_capture(self) -> None:
        if self.view not in ("pods", "nodes"):
            self.notify("Captures start from the pods (p) or nodes (n) view.", severity="warning")
            return
        if self.view == "nodes":
            node = self.nodes.cursor_key
            if node is None:
                self.notify("No node is selected.", severity="warning")
                return
            self.post_message(self.CaptureRequested(None, node))
            return
        pod = self._selected_pod()
        if pod is None:
            self.notify("No pod is selected.", severity="warning")
            return
        self.post_message(self.CaptureRequested(pod, pod.node))

    def action_logs(self) -> None:
        pods = [ref for ref in self.marked.values() if isinstance(ref, PodRef)]
        selected = self._selected_pod() if self.view == "pods" else None
        if not pods and selected is not None:
            pods = [selected]
        if not pods:
            self.notify(
                "Logs open on a pod of the pods view (m marks several).", severity="warning"
            )
            return
        self.post_message(self.LogsRequested(pods))

    def action_events(self) -> None:
        if self.view == "nodes" and self.nodes.cursor_key is not None:
            self.post_message(self.EventsRequested("Node", self.nodes.cursor_key, None))
            return
        pod = self._selected_pod() if self.view == "pods" else None
        if pod is None:
            self.notify(
                "Events open on a pod or a node; :events shows them all.", severity="warning"
            )
            return
        self.post_message(self.EventsRequested("Pod", pod.name, pod.namespace))

    def action_forward(self) -> None:
        if self.view == "services" and self.services.cursor_key is not None:
            namespace, _, name = self.services.cursor_key.partition("/")
            service = self.network.services.get(self.services.cursor_key) or {}
            ports = tuple(
                int(p["port"])
                for p in (service.get("spec") or {}).get("ports") or ()
                if str(p.get("port", "")).isdigit()
            )
            self.post_message(self.ForwardRequested("svc", namespace, name, ports))
            return
        pod = self._selected_pod() if self.view == "pods" else None
        if pod is None:
            self.notify(
                "Forwards start from a pod (p) or a Service (v); f lists them.",
                severity="warning",
            )
            return
        self.post_message(self.ForwardRequested("pod", pod.namespace, pod.name, ()))

    def action_stop_forward(self) -> None:
        key = self.forwards.cursor_key if self.view == "forwards" else None
        if key is None:
            self.notify("Select a forward in the forwards view (f) to stop it.", severity="warning")
            return
        self.post_message(self.ForwardStopRequested(key))

    def show_forwards(self, rows: list[Row]) -> None:
        """The forwards view's rows (few: replaced whole)."""
        self.forwards.sync(rows)
        if self.view == "forwards":
            self._update_status()

    def action_reattach(self) -> None:
        pod = self._selected_pod() if self.view == "pods" else None
        if pod is None:
            self.notify("Re-attaching needs a pod selected in the pods view.", severity="warning")
            return
        self.post_message(self.ReattachRequested(pod))

    def names_by_ip(self) -> dict[str, str]:
        """Pod IPs to `ns/name` and node addresses to node names, for packet lists."""
        names: dict[str, str] = {}
        for name, node in self._node_objs.items():
            for address in (node.get("status") or {}).get("addresses") or ():
                if address.get("address"):
                    names[str(address["address"])] = name
        for ref in self._refs.values():
            for ip in ref.ips:
                names[ip] = f"{ref.namespace}/{ref.name}"
        return names

    def action_open_session(self) -> None:
        self._request(node_of_pod=False, dialog=False)

    def action_open_node_session(self) -> None:
        self._request(node_of_pod=True, dialog=False)

    def action_session_dialog(self) -> None:
        self._request(node_of_pod=False, dialog=True)

    @on(VirtualTable.Selected)
    def _row_selected(self, event: VirtualTable.Selected) -> None:
        event.stop()
        self._request(node_of_pod=False, dialog=False)

    @on(VirtualTable.Highlighted)
    def _row_highlighted(self, event: VirtualTable.Highlighted) -> None:
        event.stop()
        if event.table is self.table:
            if self._details_timer is not None:
                self._details_timer.stop()
            self._details_timer = self.set_timer(0.12, self._show_details)

    def _show_details(self) -> None:
        self._details_timer = None
        if self.view == "forwards":
            self.details.show_nothing("Port forwards: z stops the selected one.")
            return
        if self.view in ("services", "netpols"):
            self.details.show_network(self.view, self.table.cursor_key, self.network)
            return
        if self.view == "nodes":
            name = self.nodes.cursor_key
            if name and name in self._node_objs:
                self.details.show_node(self._node_objs[name], self._node_pods[name])
            else:
                self.details.show_nothing()
            return
        key = self.pods.cursor_key
        if key is None or key not in self._refs:
            self.details.show_nothing()
            return
        self._fetch_pod(self._refs[key])

    @work(exclusive=True, group="details", exit_on_error=False)
    async def _fetch_pod(self, ref: PodRef) -> None:
        if self.client is None:
            return
        path = f"/api/v1/namespaces/{ref.namespace}/pods/{ref.name}"
        try:
            pod, events = await asyncio.gather(
                self.client.request("GET", path), pod_events(self.client, ref)
            )
        except RetinaTuiError as error:
            self.details.show_nothing(str(error))
            return
        self.details.show_pod(pod, self.network.pod_lines(pod), events)

    def _update_status(self, delay: float = 0.3) -> None:
        """Write the status line soon; watch events pass a longer `delay` (counts churn)."""
        if self._status_timer is None and self.is_mounted:
            self._status_timer = self.set_timer(delay, self._write_status)

    def _write_status(self) -> None:
        if self._status_timer is not None:
            self._status_timer.stop()
        self._status_timer = None
        table = self.table
        ns = self.namespace or "all namespaces"
        shown = f"{table.row_count}/{table.total_count}" if table.filter_text else table.row_count
        context = self.context_name or self.connecting_to or "-"
        parts = [f"[b]{self.view}[/b] {shown}", f"context [b]{context}[/b]"]
        if self.view == "pods":
            parts.append(f"namespace [b]{ns}[/b]")
        if table.filter_text:
            parts.append(f"filter [b]/{table.filter_text}[/b]")
        parts.extend(self.network_status())
        if self.marked:
            parts.append(f"sources [b]{', '.join(self.marked)}[/b] (r checks)")
        if self.client is not None and self.view == "pods" and not self._pods_loaded:
            parts.append("loading…")
        if self.client is None and not self.answered:
            where = f" to [b]{self.connecting_to}[/b]" if self.connecting_to else ""
            parts.append(f"connecting{where}…")
        self.query_one("#browser-status", StatusLine).text = "  ·  ".join(parts)


async def pod_events(client: KubeClient, ref: PodRef) -> list[dict[str, Any]]:
    """The pod's events; none when they cannot be listed (they are extra detail)."""
    selector = object_selector("Pod", ref.name, ref.namespace)
    path = f"/api/v1/namespaces/{ref.namespace}/events"
    try:
        answer = await client.request("GET", path, params={"fieldSelector": selector})
    except RetinaTuiError:
        return []
    return [item for item in answer.get("items") or [] if isinstance(item, dict)]
