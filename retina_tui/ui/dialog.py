"""The session dialog: image, capabilities, target container, host filesystem, host PID.

Defaults come from the settings; the dialog returns a `SessionChoice` and the app
turns it into a session spec, so the dialog knows nothing of the engine. On a Windows
node it offers the Windows image and shell instead of the Linux-only settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select

from retina_tui.config import LTSC_PLACEHOLDER, WINDOWS_SHELLS, DebugSettings
from retina_tui.errors import ConfigError
from retina_tui.sessions.specs import parse_capabilities
from retina_tui.validation.image import image_problem


@dataclass(frozen=True, slots=True)
class SessionChoice:
    """What the user chose: where, and how the debug container looks."""

    kind: str  # "pod" or "node"
    image: str
    capabilities: tuple[str, ...]
    target: str | None = None
    mount_host_fs: bool = False
    host_fs_write: bool = False
    host_pid: bool = False
    windows_image: str | None = None
    """Set when the target runs Windows: the image to use there."""
    shell: str | None = None


class SessionDialog(ModalScreen[SessionChoice | None]):
    """Set the options of a pod or node session before opening it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+enter,ctrl+j", "open", "Open", priority=True),
    ]

    DEFAULT_CSS = """
    SessionDialog { align: center middle; }
    SessionDialog > Vertical {
        width: 76; max-width: 95%; height: auto; border: thick $primary; background: $surface;
        padding: 0 1;
    }
    SessionDialog Label { margin-top: 1; }
    SessionDialog .title { text-style: bold; margin: 0; }
    SessionDialog Horizontal { height: auto; margin-top: 1; }
    SessionDialog Checkbox { width: auto; }
    SessionDialog.-pod .node-only, SessionDialog.-node .pod-only { display: none; }
    SessionDialog.-windows .linux-only { display: none; }
    """

    def __init__(
        self,
        *,
        debug: DebugSettings,
        pod: str | None,
        node: str | None,
        containers: tuple[str, ...] = (),
        windows: bool = False,
    ) -> None:
        kind = "-pod" if pod else "-node"
        super().__init__(classes=f"{kind} -windows" if windows else kind)
        self.debug = debug
        self.pod = pod
        self.node = node
        self.containers = containers
        self.windows = windows

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                f"Debug session on pod {self.pod}" if self.pod else f"Node session on {self.node}",
                classes="title",
            )
            if self.pod and self.node:
                yield Select(
                    [("pod (ephemeral container)", "pod"), (f"its node {self.node}", "node")],
                    value="pod",
                    allow_blank=False,
                    id="kind",
                )
            if self.windows:
                yield Label("Windows image ({ltsc}: the node's Windows Server release)")
                yield Input(self.debug.windows_image, id="image")
                yield Label("Shell")
                yield Select(
                    [(name, name) for name in WINDOWS_SHELLS],
                    value=self.debug.windows_shell,
                    allow_blank=False,
                    id="shell",
                )
            else:
                yield Label("Image")
                yield Input(self.debug.image, id="image")
            yield Label(
                "Capabilities (added after dropping ALL; comma-separated, or none)",
                classes="linux-only",
            )
            yield Input(",".join(self.debug.capabilities), id="capabilities", classes="linux-only")
            yield Label(
                "Target container (shares its process namespace)", classes="pod-only linux-only"
            )
            yield Select(
                [(name, name) for name in self.containers],
                prompt="none",
                id="target",
                classes="pod-only linux-only",
            )
            with Horizontal(classes="node-only linux-only"):
                yield Checkbox("Host filesystem at /host", id="host-fs")
                yield Checkbox("writable", id="host-fs-write")
                yield Checkbox("Host PID", id="host-pid")
            with Horizontal():
                yield Button("Open", variant="primary", id="open")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#image", Input).focus()

    @on(Select.Changed, "#kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        node = event.value == "node"
        self.set_class(node, "-node")
        self.set_class(not node, "-pod")

    @on(Button.Pressed, "#open")
    @on(Input.Submitted)
    def action_open(self) -> None:
        kind = "pod" if self.pod else "node"
        if self.pod and self.node:
            value = self.query_one("#kind", Select).value
            kind = str(value)
        if self.windows:
            self._open_windows(kind)
            return
        target = self.query_one("#target", Select).value
        image = self.query_one("#image", Input).value.strip() or self.debug.image
        problem = image_problem(image)
        try:
            if problem is not None:
                raise ConfigError(f"{image!r} is not an image reference: {problem}.")
            capabilities = parse_capabilities(self.query_one("#capabilities", Input).value)
        except ConfigError as error:
            self.notify(str(error), severity="error")
            return
        self.dismiss(
            SessionChoice(
                kind=kind,
                image=image,
                capabilities=capabilities,
                target=target if isinstance(target, str) and kind == "pod" else None,
                mount_host_fs=self.query_one("#host-fs", Checkbox).value,
                host_fs_write=self.query_one("#host-fs-write", Checkbox).value,
                host_pid=self.query_one("#host-pid", Checkbox).value,
            )
        )

    def _open_windows(self, kind: str) -> None:
        image = self.query_one("#image", Input).value.strip() or self.debug.windows_image
        problem = image_problem(image.replace(LTSC_PLACEHOLDER, "ltsc2022"))
        if problem is not None:
            self.notify(f"{image!r} is not an image reference: {problem}.", severity="error")
            return
        shell = self.query_one("#shell", Select).value
        self.dismiss(
            SessionChoice(
                kind=kind,
                image=self.debug.image,
                capabilities=(),
                windows_image=image,
                shell=shell if isinstance(shell, str) else None,
            )
        )

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
