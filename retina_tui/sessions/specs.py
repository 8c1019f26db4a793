"""What a debug session is asked to be, and the phase it reports while it lives.

Specs are plain frozen dataclasses built by the CLI or the UI from settings and flags;
`Phase` is what a UI shows in a tab title. Naming and labelling rules live here too so
the cleanup supervisor and the sessions agree on them.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from typing import Final, Literal

from retina_tui.config import (
    DEFAULT_CAPABILITIES,
    DEFAULT_IMAGE,
    DEFAULT_PROFILE,
    DEFAULT_WINDOWS_IMAGE,
    DEFAULT_WINDOWS_USER,
    DebugSettings,
    Profile,
)
from retina_tui.errors import ConfigError
from retina_tui.validation.capabilities import check_capabilities

PhaseKind = Literal["creating", "waiting", "running", "reconnecting", "exited", "failed"]

MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE: Final = "retina-tui"
INSTANCE_LABEL: Final = "retina-tui.io/instance"
SESSION_LABEL: Final = "retina-tui.io/session"
CREATED_BY_ANNOTATION: Final = "retina-tui.io/created-by"
CREATED_ON_ANNOTATION: Final = "retina-tui.io/created-on-host"
CREATED_AT_ANNOTATION: Final = "retina-tui.io/created-at"
EPHEMERAL_ANNOTATION_PREFIX: Final = "retina-tui.io/shell."
"""Pod annotation `retina-tui.io/shell.<container>` records an ephemeral debug container."""

CONTAINER_PREFIX: Final = "rtui-"
NODE_POD_PREFIX: Final = "rtui-node-"
NODE_CONTAINER: Final = "shell"
HOST_MOUNT: Final = "/host"
MAX_NAME: Final = 63

_ALPHABET: Final = string.ascii_lowercase + string.digits


def random_suffix(length: int = 5) -> str:
    """Lowercase letters and digits, as Kubernetes generated names use."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_session_id() -> str:
    """A fresh session id (a valid label value)."""
    return random_suffix(10)


def ephemeral_container_name() -> str:
    """`rtui-` and five random characters."""
    return f"{CONTAINER_PREFIX}{random_suffix()}"


def node_pod_name(node: str) -> str:
    """`rtui-node-<node>-<5 random>`, with the node part cut so the name fits 63 characters."""
    suffix = random_suffix()
    room = MAX_NAME - len(NODE_POD_PREFIX) - len(suffix) - 1
    node_part = node[:room].rstrip("-.")
    return f"{NODE_POD_PREFIX}{node_part}-{suffix}"


def parse_capabilities(text: str) -> tuple[str, ...]:
    """`NET_ADMIN,cap_net_raw` -> ("NET_ADMIN", "NET_RAW"); '' or 'none' -> ().

    ConfigError names a part that is not a Linux capability, with the closest name.
    """
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        return check_capabilities([part for part in text.split(",") if part.strip()])
    except ValueError as error:
        raise ConfigError(
            f"{error}; name capabilities such as NET_ADMIN,NET_RAW, or '' to add none."
        ) from None


@dataclass(frozen=True, slots=True)
class Phase:
    """Where a session is: `kind`, a human `detail`, and the exit code once exited."""

    kind: PhaseKind
    detail: str = ""
    exit_code: int | None = None

    def __str__(self) -> str:
        if self.kind == "exited":
            return f"exited: {self.exit_code}"
        return f"{self.kind}: {self.detail}" if self.detail else self.kind


@dataclass(frozen=True, slots=True)
class PodSessionSpec:
    """An ephemeral debug container in a running pod, sharing its network namespace.

    `attach_to` names an existing retina-tui ephemeral container to re-attach to instead
    of adding a new one.
    """

    namespace: str
    pod: str
    target: str | None = None
    image: str = DEFAULT_IMAGE
    capabilities: tuple[str, ...] = DEFAULT_CAPABILITIES
    profile: Profile = DEFAULT_PROFILE
    idle_logout_seconds: int = 3600
    detach_timeout_seconds: int = 900
    timeout_seconds: float = 60.0
    attach_to: str | None = None
    keeper: bool = False
    """Command mode: the container idles (no shell, no tty) and commands are exec'd into it."""
    windows_image: str = DEFAULT_WINDOWS_IMAGE
    """The image when the pod runs Windows (`{ltsc}`: the node's release)."""
    shell: str | None = None
    """The shell to run; None: the image's (Linux), `windows_shell` (Windows)."""
    windows_shell: str = "powershell"
    linux_flags: tuple[str, ...] = ()
    """The Linux-only settings the user asked for by name, refused on a Windows target."""

    @classmethod
    def from_settings(
        cls,
        debug: DebugSettings,
        *,
        namespace: str,
        pod: str,
        target: str | None = None,
        image: str | None = None,
        capabilities: tuple[str, ...] | None = None,
        profile: Profile | None = None,
        timeout_seconds: float | None = None,
        shell: str | None = None,
        linux_flags: tuple[str, ...] = (),
        windows_image: str | None = None,
    ) -> PodSessionSpec:
        """The spec with the settings' images, capabilities and limits, unless chosen here."""
        return cls(
            namespace=namespace,
            pod=pod,
            target=target,
            image=image or debug.image,
            capabilities=tuple(debug.capabilities) if capabilities is None else capabilities,
            profile=profile or debug.profile,
            idle_logout_seconds=debug.idle_logout_seconds,
            detach_timeout_seconds=debug.detach_timeout_seconds,
            timeout_seconds=timeout_seconds or debug.timeout_seconds,
            windows_image=windows_image or debug.windows_image,
            shell=shell,
            windows_shell=debug.windows_shell,
            linux_flags=linux_flags,
        )

    @property
    def title(self) -> str:
        return f"pod {self.namespace}/{self.pod}"


@dataclass(frozen=True, slots=True)
class NodeSessionSpec:
    """A host-network debug pod pinned to a node, in the debug namespace.

    `attach_to` names an existing node pod of retina-tui to re-attach to; the session
    then owns it and deletes it when it ends.
    """

    node: str
    namespace: str
    image: str = DEFAULT_IMAGE
    capabilities: tuple[str, ...] = DEFAULT_CAPABILITIES
    profile: Profile = DEFAULT_PROFILE
    mount_host_fs: bool = False
    host_fs_write: bool = False
    host_pid: bool = False
    apparmor_unconfined: bool = False
    seccomp_unconfined: bool = False
    idle_logout_seconds: int = 3600
    timeout_seconds: float = 60.0
    active_deadline_seconds: int = 12 * 3600
    extra_labels: dict[str, str] = field(default_factory=dict)
    attach_to: str | None = None
    """A running retina-tui node pod (in `namespace`) to take over instead of creating one."""
    keeper: bool = False
    """Command mode: the pod idles (no shell, no tty) and commands are exec'd into it."""
    windows_image: str = DEFAULT_WINDOWS_IMAGE
    windows_user: str = DEFAULT_WINDOWS_USER
    """The account of a Windows node shell (its HostProcess container's runAsUserName)."""
    shell: str | None = None
    windows_shell: str = "powershell"
    linux_flags: tuple[str, ...] = ()

    @classmethod
    def from_settings(
        cls,
        debug: DebugSettings,
        *,
        node: str,
        namespace: str,
        image: str | None = None,
        capabilities: tuple[str, ...] | None = None,
        profile: Profile | None = None,
        mount_host_fs: bool = False,
        host_fs_write: bool = False,
        host_pid: bool = False,
        apparmor_unconfined: bool = False,
        seccomp_unconfined: bool = False,
        timeout_seconds: float | None = None,
        shell: str | None = None,
        windows_user: str | None = None,
        linux_flags: tuple[str, ...] = (),
        windows_image: str | None = None,
    ) -> NodeSessionSpec:
        """The spec with the settings' image, capabilities and limits, unless chosen here."""
        return cls(
            node=node,
            namespace=namespace,
            image=image or debug.image,
            capabilities=tuple(debug.capabilities) if capabilities is None else capabilities,
            profile=profile or debug.profile,
            mount_host_fs=mount_host_fs or host_fs_write,
            host_fs_write=host_fs_write,
            host_pid=host_pid,
            apparmor_unconfined=apparmor_unconfined,
            seccomp_unconfined=seccomp_unconfined,
            idle_logout_seconds=debug.idle_logout_seconds,
            timeout_seconds=timeout_seconds or debug.timeout_seconds,
            active_deadline_seconds=debug.active_deadline_seconds,
            windows_image=windows_image or debug.windows_image,
            windows_user=windows_user or debug.windows_user,
            shell=shell,
            windows_shell=debug.windows_shell,
            linux_flags=linux_flags,
        )

    @property
    def title(self) -> str:
        return f"node {self.node}"


def shell_env(idle_logout_seconds: int) -> list[dict[str, str]]:
    """TMOUT makes an idle shell log out by itself; 0 disables it."""
    if idle_logout_seconds <= 0:
        return []
    return [{"name": "TMOUT", "value": str(idle_logout_seconds)}]


def linux_shell_argv(shell: str) -> list[str]:
    """A shell chosen with --shell on Linux: bash as a login shell, others as they are."""
    return [shell, "-l"] if shell == "bash" else [shell]
