"""The app's side of port forwards: the dialog, `:pf`, stopping one, and the view's refresh.

A mixin of `RetinaApp`, so the browser's forward messages are handled next to the rest
of the app's actions without growing `app.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.timer import Timer

from retina_tui.errors import RetinaTuiError
from retina_tui.ui.browser import Browser
from retina_tui.ui.forwards import Forwards, suggested_ports

if TYPE_CHECKING:
    from retina_tui.kube.client import KubeClient

REFRESH_SECONDS = 0.5
"""The forwards view follows bytes and connections this often while it is shown."""


class ForwardActions(App[None]):
    """Forwards started from the browser, ended with the connection."""

    browser: Browser
    client: KubeClient | None
    _forwards: Forwards | None = None
    _forwards_timer: Timer | None = None

    @property
    def forwards(self) -> Forwards:
        if self._forwards is None:
            self._forwards = Forwards(self._forwards_changed)
        return self._forwards

    def _forwards_changed(self) -> None:
        if self._forwards_timer is None and self.is_running:
            self._forwards_timer = self.set_timer(REFRESH_SECONDS, self._show_forwards)

    def _show_forwards(self) -> None:
        self._forwards_timer = None
        self.browser.show_forwards(self.forwards.rows())
        if self.forwards.busy:
            # Bytes flow without events: follow them while forwards are listed.
            self._forwards_changed()

    def on_browser_forward_requested(self, event: Browser.ForwardRequested) -> None:
        self._ask_ports(event.kind, event.in_namespace, event.name, event.ports)

    @work(group="forwards", exit_on_error=False)
    async def _ask_ports(
        self, kind: str, namespace: str, name: str, ports: tuple[int, ...]
    ) -> None:
        from retina_tui.ui.ask_dialog import AskDialog

        if self.client is None:
            self.notify("Not connected to a cluster yet.", severity="warning")
            return
        if kind == "pod" and not ports:
            ports = await self._pod_ports(namespace, name)
        question = (
            f"Forward to {kind}/{name} in {namespace}: ports as LOCAL:REMOTE, REMOTE or "
            ":REMOTE (any free local port), several separated by spaces:"
        )
        answer = await self.push_screen_wait(AskDialog(question, value=suggested_ports(ports)))
        if answer:
            await self.start_forward(kind, namespace, name, answer.split())

    async def _pod_ports(self, namespace: str, name: str) -> tuple[int, ...]:
        assert self.client is not None
        try:
            pod: dict[str, Any] = await self.client.request(
                "GET", f"/api/v1/namespaces/{namespace}/pods/{name}"
            )
        except RetinaTuiError:
            return ()
        return tuple(
            int(port["containerPort"])
            for container in (pod.get("spec") or {}).get("containers") or ()
            for port in container.get("ports") or ()
            if str(port.get("containerPort", "")).isdigit()
        )

    async def start_forward(self, kind: str, namespace: str, name: str, ports: list[str]) -> None:
        """Start a forward and say where it listens, or why it cannot."""
        from retina_tui.sessions.forward import parse_ports, parse_target

        if self.client is None:
            self.notify("Not connected to a cluster yet.", severity="warning")
            return
        try:
            target = parse_target(f"{kind}/{name}", namespace)
            forward = await self.forwards.start(
                self.client, target, parse_ports(ports), self._forward_problem
            )
        except RetinaTuiError as error:
            self.notify(str(error), severity="error", timeout=10)
            return
        where = ", ".join(f"{lst.address}:{lst.local} → {lst.remote}" for lst in forward.listeners)
        self.notify(f"Forwarding {where} to {target} (f lists forwards).", timeout=6)

    def _forward_problem(self, text: str) -> None:
        if self.is_running:
            self.notify(text, severity="warning", timeout=8)

    def on_browser_forward_stop_requested(self, event: Browser.ForwardStopRequested) -> None:
        self._stop_forward(event.key)

    @work(group="forwards", exit_on_error=False)
    async def _stop_forward(self, key: str) -> None:
        forward = await self.forwards.stop(key)
        if forward is not None:
            self.notify(f"Stopped the forward to {forward.target}.", timeout=4)

    def forward_command(self, arg: str) -> None:
        """`:pf` forwards the selected pod or Service (asking the ports unless given)."""
        browser = self.browser
        if not arg:
            browser.action_forward()
            return
        if browser.view == "services" and browser.services.cursor_key:
            namespace, _, name = browser.services.cursor_key.partition("/")
            kind = "svc"
        else:
            key = browser.pods.cursor_key if browser.view == "pods" else None
            pod = browser.pod(key) if key else None
            if pod is None:
                self.notify(
                    "Select a pod (p) or a Service (v), then :pf PORTS.", severity="warning"
                )
                return
            kind, namespace, name = "pod", pod.namespace, pod.name
        self.run_worker(
            self.start_forward(kind, namespace, name, arg.split()),
            group="forwards",
            exit_on_error=False,
        )

    async def stop_forwards(self) -> None:
        """End every forward (the connection is going away)."""
        if self._forwards is not None and len(self._forwards):
            await self._forwards.stop_all()
