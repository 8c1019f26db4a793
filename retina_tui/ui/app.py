"""The retina-tui application: one cluster connection, the browser, the session tabs.

`make_app(settings, target=...)` is the one way to build it, shared by the CLI and the
tests. The app owns the app-lifetime work: the connection (and, for the demo, the
embedded sandbox), the cleanup supervisor, and the shutdown that closes every session
before the supervisor and the client go away, on every way out: the quit key, a signal
or a crash (see `ui/quitting.py`). Errors from any worker are turned into notifications
in exactly one place, `on_worker_state_changed`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from retina_tui.config import Settings
from retina_tui.errors import RetinaTuiError, SessionError
from retina_tui.ui.browser import ALL_NAMESPACES, Browser, PodRef
from retina_tui.ui.dialog import SessionChoice, SessionDialog
from retina_tui.ui.failures import WorkerFailed
from retina_tui.ui.forward_actions import ForwardActions
from retina_tui.ui.keybar import KeyBar
from retina_tui.ui.keys import APP_BINDINGS, help_sections, keymap_from_settings
from retina_tui.ui.opening import build_session
from retina_tui.ui.palette import ActionCommands
from retina_tui.ui.pane import Pane
from retina_tui.ui.quitting import Quitting
from retina_tui.ui.screens import HelpScreen, PickerScreen, PromptScreen, UnreachableScreen
from retina_tui.ui.session_pane import SessionPane
from retina_tui.ui.shutdown import EXIT_FAILED, EXIT_OK
from retina_tui.ui.workspace import Workspace

if TYPE_CHECKING:
    from pathlib import Path

    from textual.driver import Driver

    from retina_tui.kube.client import KubeClient
    from retina_tui.kube.overrides import ConnectionOverrides
    from retina_tui.sessions.session import Session
    from retina_tui.ui.log_pane import LogPane

CLUSTER_TASK = "retina-tui-cluster"
ALL_CONTAINERS = "*"
"""The picker's answer for every container of a pod (no container name is `*`)."""


def _import_engine() -> None:
    import retina_tui.kube.client
    import retina_tui.supervisor  # noqa: F401


@dataclass(frozen=True, slots=True)
class ClusterTarget:
    """A cluster from a kubeconfig (the default: the current context)."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    overrides: ConnectionOverrides | None = None
    """kubectl's connection flags (--server, --as, ...), kept across context switches."""


@dataclass(frozen=True, slots=True)
class DemoTarget:
    """The embedded sandbox, started in-process for `retina-tui demo`."""

    network: str = "auto"
    churn: float = 0.2


class RetinaApp(ForwardActions, App[None]):
    """Browse a cluster and debug it in tabs."""

    TITLE = "retina-tui"
    BINDINGS: ClassVar[list[BindingType]] = APP_BINDINGS
    COMMANDS = App.COMMANDS | {ActionCommands}

    def __init__(
        self,
        settings: Settings,
        target: ClusterTarget | DemoTarget,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.target = target
        self.clock = clock
        self.kubeconfig = target.kubeconfig if isinstance(target, ClusterTarget) else None
        self.context_name = target.context if isinstance(target, ClusterTarget) else None
        self.overrides = target.overrides if isinstance(target, ClusterTarget) else None
        self.namespace_choice = (
            target.namespace if isinstance(target, ClusterTarget) else None
        ) or ALL_NAMESPACES
        self.client: KubeClient | None = None
        self.instance_id: str | None = None
        self.ensure_lease: Callable[[str], Awaitable[None]] | None = None
        self.explain_deletion: Callable[[str], Awaitable[str | None]] | None = None
        self.browser = Browser(clock=clock, id="browser")
        if isinstance(target, ClusterTarget):
            from retina_tui.ui.splash import guess_context

            self.browser.connecting_to = guess_context(self.kubeconfig, self.context_name) or ""
        self.workspace = Workspace(self.browser)
        self.exit_report = ""
        self.connected = asyncio.Event()
        self._reconnect = asyncio.Event()
        self._painted = asyncio.Event()
        self.quitting = Quitting(self, embedded=isinstance(target, DemoTarget))
        self._unreachable: UnreachableScreen | None = None
        self._unreachable_code = EXIT_FAILED
        self.sandbox: Any = None
        # No eye candy: the tab underline's slide alone was a dozen repaints per switch.
        self.animation_level = "none"

    def get_driver_class(self) -> type[Driver]:
        driver = super().get_driver_class()
        if sys.platform == "win32":
            return driver
        from retina_tui.ui.driver import surviving_hangups

        return surviving_hangups(driver)

    def compose(self) -> ComposeResult:
        yield self.workspace
        yield KeyBar()

    def on_mount(self) -> None:
        self.theme = self.settings.ui.theme
        self.set_keymap(keymap_from_settings(self.settings.ui.keys))
        self.quitting.signals.install(asyncio.get_running_loop())
        self.quitting.cluster = asyncio.create_task(self._run_cluster(), name=CLUSTER_TASK)
        self.quitting.cluster.add_done_callback(self.quitting.cluster_ended)
        self.call_after_refresh(self._painted.set)

    async def on_unmount(self) -> None:
        """The last way out (a crash, or Textual closing the app): finish the cleanup."""
        try:
            await self.quitting.finish()
        finally:
            self.quitting.signals.remove()

    # ---- the cluster connection -------------------------------------------------------

    async def _run_cluster(self) -> None:
        """Connect (after starting the demo cluster), serve, reconnect, until quitting."""
        async with AsyncExitStack() as stack:
            if isinstance(self.target, DemoTarget):
                from retina_tui.sandbox import SandboxOptions, run_sandbox

                options = SandboxOptions(
                    demo=True, network=self.target.network, churn=self.target.churn
                )
                self.notify("Starting the embedded demo cluster…", timeout=3)
                self.sandbox = await stack.enter_async_context(run_sandbox(options))
                self.kubeconfig = str(self.sandbox.kubeconfig_path)
            while not self.quitting.started:
                self._reconnect.clear()
                await self._serve_once()

    async def _serve_once(self) -> None:
        # Imported after the first frame, off the event loop: the screen is up and takes
        # keys while the client (aiohttp, ssl) loads.
        await self._painted.wait()
        await asyncio.to_thread(_import_engine)
        from retina_tui.kube.client import connect
        from retina_tui.supervisor import Supervisor

        try:
            client = await connect(
                kubeconfig=self.kubeconfig,
                context=self.context_name,
                namespace=None,
                overrides=self.overrides,
            )
        except RetinaTuiError as error:
            self._show_unreachable(str(error), exit_code=error.exit_code)
            await self._reconnect.wait()
            return
        try:
            if self.quitting.started:
                return
            async with Supervisor(
                client, self.settings, on_problem=self._supervisor_problem
            ) as sup:

                async def ensure_lease(namespace: str) -> None:
                    await sup.ensure_lease(namespace)
                    self.quitting.lease_namespaces.add(namespace)

                self.client = client
                self.instance_id = sup.instance_id
                self.ensure_lease = ensure_lease
                self.explain_deletion = sup.explain_deletion
                self.context_name = client.context
                self.browser.start(client, self.namespace_choice)
                self.connected.set()
                self.set_timer(
                    self.settings.ui.connect_timeout_seconds,
                    lambda: self._check_answered(client),
                )
                try:
                    await self._reconnect.wait()
                finally:
                    self.browser.stop()
                    await self.close_all_sessions()
            self.quitting.lease_namespaces.clear()  # released (or kept on purpose for pods left)
        finally:
            self.connected.clear()
            self.client = None
            await client.close()

    def _check_answered(self, client: KubeClient) -> None:
        if self.client is client and not self.browser.answered:
            self._show_unreachable(
                f"The API server {client.server} (context {client.context}) did not answer "
                f"within {self.settings.ui.connect_timeout_seconds:g} seconds; still trying."
            )

    def _supervisor_problem(self, message: str) -> None:
        if self.is_running:
            self.notify(message, severity="warning", timeout=8)

    def reconnect(self, *, context: str | None = None) -> None:
        """Connect again (after a failure, or to another context)."""
        if context is not None:
            self.context_name = context
            self.namespace_choice = ALL_NAMESPACES
        self._reconnect.set()

    def on_browser_watch_retrying(self, event: Browser.WatchRetrying) -> None:
        if not event.connected:
            self._show_unreachable(event.reason)
        else:
            self.notify(f"{event.reason} Retrying.", severity="warning", timeout=4)

    def on_browser_snapshot_loaded(self, event: Browser.SnapshotLoaded) -> None:
        # Pods are what the app is for: nodes alone loading does not make the cluster usable.
        if self._unreachable is not None and event.resource == "pods":
            screen, self._unreachable = self._unreachable, None
            if screen.is_current:
                self.pop_screen()

    def _show_unreachable(self, reason: str, *, exit_code: int = EXIT_FAILED) -> None:
        """The error screen: the cluster cannot be used.

        Quitting from it exits `exit_code`: 2 for a kubeconfig to fix, as other commands do.
        """
        if self.quitting.started or not self.is_running:
            return
        self._unreachable_code = exit_code
        if self._unreachable is not None:
            self._unreachable.update_reason(reason)
            return
        screen = UnreachableScreen(reason)
        self._unreachable = screen

        def answered(retry: bool | None) -> None:
            if retry:
                self._unreachable = None
                self.reconnect()
            else:
                self.action_quit_all()

        self.push_screen(screen, answered)

    # ---- errors: the one place --------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.on_worker_failed(WorkerFailed(self, event.worker, event.worker.error))

    def on_worker_failed(self, event: WorkerFailed) -> None:
        """The one place where a failed worker becomes a notification (or a crash)."""
        error = event.error
        if not isinstance(error, RetinaTuiError):
            raise error  # a bug: fail loudly
        node = event.widget
        if isinstance(node, Pane):
            if not node.closing:
                node.show_error(str(error))
                self.notify(f"{node.title}: {error}", severity="error", timeout=10)
            return
        if isinstance(node, Browser):
            # The tables cannot follow the cluster any more (a refusal, or answers that are
            # not Kubernetes objects): say so where retry and the context switch are.
            self._show_unreachable(str(error), exit_code=error.exit_code)
            return
        self.notify(str(error), severity="error", timeout=10)

    # ---- sessions ---------------------------------------------------------------------

    def on_browser_session_requested(self, event: Browser.SessionRequested) -> None:
        debug = self.settings.debug
        if event.dialog:
            pod = event.pod
            dialog = SessionDialog(
                debug=debug,
                pod=pod.name if pod and event.kind == "pod" else None,
                node=event.node,
                containers=pod.containers if pod else (),
                windows=event.windows,
            )

            def chosen(choice: SessionChoice | None) -> None:
                if choice is not None:
                    self.open_session(choice, pod, event.node)

            self.push_screen(dialog, chosen)
            return
        choice = SessionChoice(kind=event.kind, image=debug.image, capabilities=debug.capabilities)
        self.open_session(choice, event.pod, event.node)

    def on_browser_capture_requested(self, event: Browser.CaptureRequested) -> None:
        from retina_tui.ui.ask_dialog import AskDialog

        pod, node = event.pod, event.node
        what = f"pod {pod.namespace}/{pod.name}" if pod is not None else f"node {node}"

        def chosen(bpf_filter: str | None) -> None:
            if bpf_filter is not None:
                self.open_capture(pod, node, bpf_filter=bpf_filter)

        question = f"Capture {what}: BPF filter (empty: every packet), enter starts:"
        self.push_screen(AskDialog(question, placeholder="icmp or port 53"), chosen)

    def open_capture(
        self, pod: PodRef | None, node: str | None, *, bpf_filter: str = ""
    ) -> Pane | None:
        """Open a capture tab on a pod (its eth0) or a node (every interface)."""
        from retina_tui.capture.run import CaptureTarget
        from retina_tui.capture.targets import HostSettings, capture_capabilities
        from retina_tui.ui.capture_pane import CapturePane

        if self.quitting.started:
            self.notify("Quitting: no new capture is started.", severity="warning")
            return None
        if self.client is None:
            self.notify("Not connected to a cluster yet; wait for the tables to load.")
            return None
        debug = self.settings.debug
        if pod is not None:
            where = f"on {pod.node}" if pod.node else "not on a node yet"
            target = CaptureTarget(
                "pod", pod.name, pod.namespace, "eth0", f"pod {pod.namespace}/{pod.name} {where}"
            )
        else:
            assert node is not None
            target = CaptureTarget("node", node, "", "any", f"node {node}")
        hosts = HostSettings(
            debug=debug,
            image=debug.image,
            profile=None,
            capabilities=capture_capabilities(False),
            timeout_seconds=debug.timeout_seconds,
            node_namespace=debug.namespace or self.client.namespace,
            instance_id=self.instance_id,
            before_create=self.ensure_lease,
            explain_deletion=self.explain_deletion,
        )
        pane = CapturePane(
            self.client, target, hosts, names=self.browser.names_by_ip, bpf_filter=bpf_filter
        )
        self.run_worker(self.workspace.add(pane), group="ui", exit_on_error=True)
        return pane

    def on_browser_check_requested(self, event: Browser.CheckRequested) -> None:
        """Open the check screen from the marked (or selected) pods."""
        from retina_tui.probes.matrix import PROBE_CAPABILITIES
        from retina_tui.sessions.hosts import HostSettings
        from retina_tui.ui.check_screen import CheckScreen

        if self.client is None:
            self.notify("Not connected to a cluster yet; wait for the tables to load.")
            return
        debug = self.settings.debug
        hosts = HostSettings(
            debug=debug,
            image=debug.image,
            profile=None,
            capabilities=PROBE_CAPABILITIES,
            timeout_seconds=debug.timeout_seconds,
            node_namespace=debug.namespace or self.client.namespace,
            instance_id=self.instance_id,
            before_create=self.ensure_lease,
            explain_deletion=self.explain_deletion,
        )
        self.push_screen(
            CheckScreen(
                self.client, event.sources, hosts, suggestions=self.browser.check_suggestions()
            )
        )

    def on_browser_logs_requested(self, event: Browser.LogsRequested) -> None:
        """One pod with several containers: ask which; otherwise follow them all."""
        pods = event.pods
        if len(pods) == 1 and len(pods[0].containers) > 1:
            pod = pods[0]

            def picked(choice: str | None) -> None:
                if choice is not None:
                    names = list(pod.containers) if choice == ALL_CONTAINERS else [choice]
                    self.open_logs([(pod, name) for name in names])

            choices = [(name, name) for name in pod.containers]
            choices.append((ALL_CONTAINERS, "all containers, interleaved"))
            title = f"Logs of pod {pod.namespace}/{pod.name}: which container?"
            self.push_screen(PickerScreen(title, choices), picked)
            return
        self.open_logs([(pod, name) for pod in pods for name in pod.containers[:1]])

    def open_logs(
        self, targets: list[tuple[PodRef, str]], *, previous: bool = False
    ) -> Pane | None:
        """A log tab following `targets` (pod, container), interleaved when several."""
        from retina_tui.kube.logs import LogSource
        from retina_tui.ui.log_pane import LogPane

        if self.client is None:
            self.notify("Not connected to a cluster yet; wait for the tables to load.")
            return None
        if not targets:
            self.notify("The pod has no container to read a log from.", severity="warning")
            return None
        logs = self.settings.logs
        sources = [
            LogSource(
                pod.namespace,
                pod.name,
                container,
                previous=previous,
                tail=logs.tail_lines,
                since_seconds=logs.since_seconds,
            )
            for pod, container in targets
        ]
        pane = LogPane(self.client, sources, follow=not previous)
        self.run_worker(self.workspace.add(pane), group="ui", exit_on_error=True)
        return pane

    def on_log_pane_previous_requested(self, event: LogPane.PreviousRequested) -> None:
        from dataclasses import replace

        from retina_tui.ui import log_pane

        sources = [
            replace(source, previous=True, tail=None, since_seconds=None)
            for source in event.sources
        ]
        if self.client is not None:
            pane = log_pane.LogPane(self.client, sources, follow=False)
            self.run_worker(self.workspace.add(pane), group="ui", exit_on_error=True)

    def on_browser_events_requested(self, event: Browser.EventsRequested) -> None:
        self.open_events(event.kind, event.name, event.in_namespace)

    def open_events(self, kind: str | None, name: str | None, namespace: str | None) -> Pane | None:
        """An events tab: of one object when `kind` and `name` are given, else of a namespace."""
        from retina_tui.ui.events_pane import EventsPane

        if self.client is None:
            self.notify("Not connected to a cluster yet; wait for the tables to load.")
            return None
        about = (kind, name) if kind and name else None
        pane = EventsPane(self.client, namespace=namespace, about=about)
        self.run_worker(self.workspace.add(pane), group="ui", exit_on_error=True)
        return pane

    def on_browser_reattach_requested(self, event: Browser.ReattachRequested) -> None:
        self._reattach(event.pod)

    @work(group="ui", exit_on_error=False)
    async def _reattach(self, pod: PodRef) -> None:
        """Open a tab attached to the pod's newest running retina-tui shell."""
        from retina_tui.sessions.pod import find_pod_shells

        if self.client is None:
            self.notify("Not connected to a cluster yet; wait for the tables to load.")
            return
        try:
            shells = await find_pod_shells(self.client, pod.namespace, pod.name)
        except RetinaTuiError as error:
            self.notify(str(error), severity="error", timeout=10)
            return
        if not shells:
            self.notify(
                f"Pod {pod.namespace}/{pod.name} has no running retina-tui shell to re-attach "
                "to; s opens a new one.",
                severity="warning",
            )
            return
        newest = max(shells, key=lambda shell: str(shell.record.get("created", "")))
        debug = self.settings.debug
        choice = SessionChoice(kind="pod", image=newest.image, capabilities=debug.capabilities)
        self.open_session(choice, pod, pod.node, attach_to=newest.container)

    def build_session(
        self,
        choice: SessionChoice,
        pod: PodRef | None,
        node: str | None,
        *,
        attach_to: str | None = None,
    ) -> Session:
        """A pod or node session for `choice` (not started)."""
        if self.client is None:
            raise SessionError("Not connected to a cluster yet; wait for the tables to load.")
        return build_session(
            self.client,
            self.settings.debug,
            choice,
            pod,
            node,
            instance_id=self.instance_id,
            before_create=self.ensure_lease,
            explain_deletion=self.explain_deletion,
            attach_to=attach_to,
        )

    def open_session(
        self,
        choice: SessionChoice,
        pod: PodRef | None,
        node: str | None,
        *,
        attach_to: str | None = None,
    ) -> SessionPane | None:
        """Open a session tab; errors become a notification."""
        if self.quitting.started:
            self.notify("Quitting: no new session is opened.", severity="warning")
            return None
        try:
            session = self.build_session(choice, pod, node, attach_to=attach_to)
        except RetinaTuiError as error:
            self.notify(str(error), severity="error")
            return None
        pane = SessionPane(session, recording=self.settings.recording)
        self.run_worker(self.workspace.add(pane), group="ui", exit_on_error=True)
        return pane

    async def close_session(self, pane: Pane) -> None:
        """Close one session: end the shell, delete its node pod, drop the tab."""
        try:
            await pane.close_session()
        except RetinaTuiError as error:
            self.notify(f"{pane.title}: {error}", severity="error", timeout=10)
        finally:
            await self.workspace.remove_pane(pane)

    async def close_all_sessions(self) -> list[str]:
        """Close every session and end running checks; returns (and reports) the failures."""
        from retina_tui.ui.check_screen import CheckScreen

        await self.stop_forwards()
        for screen in list(self.screen_stack):
            if isinstance(screen, CheckScreen):
                await screen.stop_checks()
        panes = list(self.workspace.panes)
        if not panes:
            return []
        results = await asyncio.gather(
            *(self.quitting.close(pane) for pane in panes), return_exceptions=True
        )
        failures = []
        for pane, result in zip(panes, results, strict=True):
            if isinstance(result, asyncio.CancelledError):
                raise result
            if isinstance(result, BaseException):
                failures.append(f"{pane.title}: {result}")
        if self.is_running and not self.quitting.started:  # leaving: the widgets go with it
            for pane in panes:
                await self.workspace.remove_pane(pane)
        if failures:
            self.exit_report = "Some debug pods may remain: " + " ".join(failures)
            if self.is_running:
                self.notify(self.exit_report, severity="error", timeout=15)
        return failures

    # ---- quitting (the sequence itself is in ui/quitting.py) -----------------------------

    def action_quit_all(self) -> None:
        """End every session (deleting node pods), then leave."""
        if self._unreachable is not None:
            reason = self._unreachable.reason
            self.quitting.quit(
                self._unreachable_code, f"Quit while the cluster could not be used: {reason}"
            )
        else:
            self.quitting.quit(EXIT_OK)

    async def action_quit(self) -> None:
        self.action_quit_all()

    def terminal_hung_up(self) -> None:
        """The terminal is gone: stop reading it (its end of file would spin)."""
        if self._driver is not None:
            self._driver.disable_input()

    def exit_lines(self) -> list[str]:
        """What to print on stderr once the screen is restored."""
        return ([self.exit_report] if self.exit_report else []) + self.quitting.lines

    # ---- actions ----------------------------------------------------------------------

    def palette_actions(self) -> Iterable[tuple[str, str, str]]:
        """(title, help, action) of every action, for the command palette."""
        for binding in APP_BINDINGS:
            if isinstance(binding, Binding) and binding.description:
                yield binding.description, binding.tooltip or binding.description, binding.action
        for binding in Browser.BINDINGS:
            if isinstance(binding, Binding) and binding.description:
                yield (
                    f"Browser: {binding.description}",
                    binding.tooltip or binding.description,
                    f"browser_action({binding.action!r})",
                )

    async def action_browser_action(self, action: str) -> None:
        self.workspace.show("browser")
        await self.run_action(action, self.browser)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(help_sections(self)))

    def action_recordings(self) -> None:
        """The Recordings screen; the one picked is replayed in a read-only tab."""
        from retina_tui.ui.recordings import RecordingsScreen
        from retina_tui.ui.replay_pane import ReplayPane

        def picked(path: Path | None) -> None:
            if path is not None:
                pane = ReplayPane(path)
                self.run_worker(self.workspace.add(pane), group="ui", exit_on_error=True)

        self.push_screen(RecordingsScreen(self.settings.recording.directory()), picked)

    def action_prompt(self) -> None:
        def answered(command: str | None) -> None:
            if command:
                self.run_command(command)

        self.push_screen(PromptScreen(), answered)

    def run_command(self, command: str) -> None:
        """Run a `:` command: pods, nodes, ns NAME, ctx NAME, help, quit."""
        verb, _, arg = command.lstrip(":").strip().partition(" ")
        arg = arg.strip()
        verb = verb.lower()
        if verb in ("pods", "pod", "po"):
            self.workspace.show("browser")
            self.browser.view = "pods"
        elif verb in ("nodes", "node", "no"):
            self.workspace.show("browser")
            self.browser.view = "nodes"
        elif verb in ("svc", "services", "service"):
            self.workspace.show("browser")
            self.browser.view = "services"
        elif verb in ("netpol", "netpols", "networkpolicies", "networkpolicy"):
            self.workspace.show("browser")
            self.browser.view = "netpols"
        elif verb == "check":
            self.workspace.show("browser")
            self.browser.action_check()
        elif verb in ("pf", "port-forward", "forward"):
            self.workspace.show("browser")
            self.forward_command(arg)
        elif verb in ("forwards", "pfs"):
            self.workspace.show("browser")
            self.browser.view = "forwards"
        elif verb in ("ns", "namespace"):
            if not arg:
                self.action_pick_namespace()
            else:
                self.set_namespace("" if arg in ("all", "-A", "*") else arg)
        elif verb in ("ctx", "context"):
            if not arg:
                self.action_pick_context()
            else:
                self.switch_context(arg)
        elif verb in ("logs", "log"):
            self.workspace.show("browser")
            self.browser.action_logs()
        elif verb in ("events", "event", "ev"):
            self.open_events(None, None, self.namespace_choice or None)
        elif verb in ("recordings", "recording", "rec"):
            self.action_recordings()
        elif verb in ("help", "h", "?"):
            self.action_help()
        elif verb in ("q", "quit", "exit"):
            self.action_quit_all()
        else:
            self.notify(
                f"Unknown command {verb!r}; try pods, nodes, svc, netpol, check, pf, forwards, "
                "logs, events, ns NAME, ctx NAME.",
                severity="warning",
            )

    def set_namespace(self, namespace: str) -> None:
        """Show one namespace ("" for all)."""
        self.namespace_choice = namespace
        self.workspace.show("browser")
        self.browser.view = "pods"
        self.browser.set_namespace(namespace)

    def switch_context(self, context: str) -> None:
        """Connect to another kubeconfig context (sessions of this one are closed)."""
        from retina_tui.kube.client import list_contexts

        try:
            names, _current = list_contexts(self.kubeconfig)
        except RetinaTuiError as error:
            self.notify(str(error), severity="error")
            return
        if context not in names:
            self.notify(
                f"There is no context {context!r} in the kubeconfig; "
                f"choose one of: {', '.join(names)}.",
                severity="error",
            )
            return
        if self._unreachable is not None and self._unreachable.is_current:
            self._unreachable = None
            self.pop_screen()
        self.reconnect(context=context)

    def action_pick_context(self) -> None:
        from retina_tui.kube.client import list_contexts

        try:
            names, current = list_contexts(self.kubeconfig)
        except RetinaTuiError as error:
            self.notify(str(error), severity="error")
            return

        def picked(name: str | None) -> None:
            if name and name != self.context_name:
                self.switch_context(name)

        choices = [(name, name) for name in names]
        self.push_screen(PickerScreen("Context", choices, self.context_name or current), picked)

    @work(exclusive=True, group="pick-namespace", exit_on_error=False)
    async def action_pick_namespace(self) -> None:
        names: list[str] = []
        if self.client is not None:
            try:
                listing = await self.client.request("GET", "/api/v1/namespaces")
                names = sorted(item["metadata"]["name"] for item in listing.get("items", []))
            except RetinaTuiError as error:
                self.notify(f"{error} Type :ns NAME instead.", severity="warning")
        choices = [(ALL_NAMESPACES, "all namespaces"), *((n, n) for n in names)]

        def picked(name: str | None) -> None:
            if name is not None:
                self.set_namespace(name)

        self.push_screen(PickerScreen("Namespace", choices, self.namespace_choice), picked)

    def action_next_tab(self) -> None:
        self.workspace.cycle(1)

    def action_previous_tab(self) -> None:
        self.workspace.cycle(-1)

    def action_tab(self, index: int) -> None:
        self.workspace.show_index(index)

    def action_close_session(self) -> None:
        pane = self.workspace.focused_pane
        if pane is None:
            self.notify("No session tab is active.", severity="warning")
            return
        self.run_worker(self.close_session(pane), group="close", exit_on_error=False)

    def action_split(self) -> None:
        workspace = self.workspace
        if workspace.split is not None:
            workspace.unsplit()
            return
        current = workspace.focused_pane
        others = [pane for pane in workspace.panes if pane is not current]
        if current is None or not others:
            self.notify("Open two sessions to split.", severity="warning")
            return
        if len(others) == 1:
            workspace.split_with(current, others[0])
            return

        def picked(pane_id: str | None) -> None:
            for pane in others:
                if pane.id == pane_id:
                    workspace.split_with(current, pane)

        choices = [(pane.id or "", pane.title) for pane in others]
        self.push_screen(PickerScreen("Split with", choices), picked)

    def action_split_orientation(self) -> None:
        self.workspace.toggle_orientation()

    def action_switch_pane(self) -> None:
        self.workspace.switch_pane()

    def action_mark(self) -> None:
        pane = self.workspace.focused_pane
        if not isinstance(pane, SessionPane):
            self.notify("Marks apply to shell tabs.", severity="warning")
            return
        pane.marked = not pane.marked
        self.workspace.refresh_broadcast()

    def action_broadcast(self) -> None:
        workspace = self.workspace
        if not workspace.broadcast and not workspace.marked:
            pane = workspace.focused_pane
            if pane is None:
                self.notify("Mark sessions first (the mark key on each tab).", severity="warning")
                return
            pane.marked = True
        workspace.broadcast = not workspace.broadcast


def make_app(
    settings: Settings,
    *,
    target: ClusterTarget | DemoTarget | None = None,
    clock: Callable[[], float] = time.time,
) -> RetinaApp:
    """Build the app; the CLI and the tests both go through here."""
    return RetinaApp(settings, target or ClusterTarget(), clock=clock)
