"""The browser's Services and NetworkPolicies views: their watches and their rows.

A mixin of `Browser`, so the views share its client, tables and details panel. A refused
watch (RBAC) leaves its view empty with the reason in the status line; the pods and nodes
views go on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual import work
from textual.timer import Timer
from textual.widget import Widget

from retina_tui.errors import ForbiddenError, NotFoundError, RetinaTuiError
from retina_tui.ui.network_rows import NetworkIndex, apply_event

if TYPE_CHECKING:
    from retina_tui.kube.client import KubeClient
    from retina_tui.ui.browser import PodRef
    from retina_tui.ui.table import VirtualTable


class NetworkViews(Widget):
    """Watches Services, EndpointSlices and NetworkPolicies into two tables."""

    client: KubeClient | None
    services: VirtualTable
    netpols: VirtualTable
    network: NetworkIndex
    network_refused: dict[str, str]
    _network_dirty: Timer | None
    _policy_counts_stale: bool
    _refs: dict[str, PodRef]
    view: Any

    def _retry(self, error: RetinaTuiError, delay: float) -> None: ...  # Browser's

    def _show_details(self) -> None: ...  # Browser's

    def _update_status(self) -> None: ...  # Browser's

    def network_status(self) -> list[str]:
        """Status-line parts: why the current view's objects cannot be watched."""
        if self.view in self.network_refused:
            return [f"[red]{escape(self.network_refused[self.view])}[/red]"]
        return []

    async def _follow(self, view: str, path: str, store: dict[str, dict[str, Any]]) -> None:
        """Follow one kind; a refusal (RBAC) leaves that view empty and says why, instead
        of taking the pods and nodes away."""
        from retina_tui.kube.watch import Snapshot, watch_objects

        assert self.client is not None
        try:
            async for event in watch_objects(self.client, path, on_retry=self._retry):
                if isinstance(event, Snapshot):
                    store.clear()
                    for obj in event.items:
                        apply_event(store, "ADDED", obj)
                else:
                    apply_event(store, event.type, event.obj)
                self._network_changed()
        except (ForbiddenError, NotFoundError) as error:
            self.network_refused[view] = str(error)
            self._update_status()

    @work(exclusive=True, group="watch-services", exit_on_error=False)
    async def _watch_services(self) -> None:
        await self._follow("services", "/api/v1/services", self.network.services)

    @work(exclusive=True, group="watch-slices", exit_on_error=False)
    async def _watch_slices(self) -> None:
        path = "/apis/discovery.k8s.io/v1/endpointslices"
        await self._follow("services", path, self.network.slices)

    @work(exclusive=True, group="watch-netpols", exit_on_error=False)
    async def _watch_policies(self) -> None:
        path = "/apis/networking.k8s.io/v1/networkpolicies"
        await self._follow("netpols", path, self.network.policies)

    def _network_changed(self) -> None:
        if self._network_dirty is None and self.is_mounted:
            self._network_dirty = self.set_timer(0.2, self._refresh_network_rows)

    def pods_changed(self) -> None:
        """A pod came, went or changed labels: the policies' pod counts are stale.

        They are recounted only while the policies view is shown (and when it is shown
        again), so that pod churn costs nothing elsewhere.
        """
        if not self.network.policies:
            return
        self._policy_counts_stale = True
        if self.view == "netpols":
            self._network_changed()

    def _refresh_network_rows(self) -> None:
        self._network_dirty = None
        self.services.sync(self.network.service_rows())
        if self.view == "netpols" or not self._policy_counts_stale:
            pods = [(ref.namespace, dict(ref.labels)) for ref in self._refs.values()]
            self.netpols.sync(self.network.policy_rows(pods))
            self._policy_counts_stale = False
        if self.view in ("services", "netpols"):
            self._show_details()
        self._update_status()

    def check_suggestions(self, limit: int = 5000) -> list[str]:
        """Targets to complete in the check screen: Services and pods, namespaced."""
        names = [f"svc/{key}" for key in self.network.services]
        names += [f"pod/{ref.namespace}/{ref.name}" for ref in self._refs.values()]
        return names[:limit]
