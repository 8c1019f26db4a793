"""Settings: one validated tree, built once by the CLI and passed down explicitly.

Defaults live here; a configuration file (TOML in the platform's config directory)
and command-line flags override them. There is no global settings object.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from retina_tui.errors import ConfigError
from retina_tui.validation.capabilities import check_capabilities
from retina_tui.validation.image import image_problem
from retina_tui.validation.names import label_problem, windows_user_problem

DEFAULT_IMAGE = "docker.io/nicolaka/netshoot:v0.13"
DEFAULT_WINDOWS_IMAGE = "ghcr.io/retina-tui/debug-windows:0.1.0-{ltsc}"
"""`{ltsc}` becomes the node's Windows Server release (ltsc2019, ltsc2022, ltsc2025)."""
LTSC_PLACEHOLDER = "{ltsc}"
DEFAULT_WINDOWS_USER = "NT AUTHORITY\\SYSTEM"
WINDOWS_SHELLS = ("powershell", "pwsh", "cmd")
DEFAULT_CAPABILITIES = ("NET_ADMIN", "NET_RAW")
PROFILES = ("netadmin", "general", "baseline", "restricted", "sysadmin", "auto")
Profile = Literal["netadmin", "general", "baseline", "restricted", "sysadmin", "auto"]
DEFAULT_PROFILE: Profile = "netadmin"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DebugSettings(_Section):
    """What a debug container or node pod looks like."""

    image: str = Field(DEFAULT_IMAGE, description="Image with the network tools.")
    capabilities: tuple[str, ...] = Field(
        DEFAULT_CAPABILITIES, description="Capabilities added after dropping ALL."
    )
    windows_image: str = Field(
        DEFAULT_WINDOWS_IMAGE,
        description="Image for Windows nodes and pods; {ltsc} is replaced with the node's "
        "Windows Server release (ltsc2019, ltsc2022 or ltsc2025).",
    )
    windows_user: str = Field(
        DEFAULT_WINDOWS_USER,
        description="The account a Windows node shell (a HostProcess container) runs as, "
        "such as NT AUTHORITY\\SYSTEM or NT AUTHORITY\\Local service.",
    )
    windows_shell: Literal["powershell", "pwsh", "cmd"] = Field(
        "powershell", description="The shell of Windows sessions: powershell, pwsh or cmd."
    )
    profile: Profile = Field(
        DEFAULT_PROFILE,
        description="Security profile of debug containers and node pods, as in kubectl debug: "
        "netadmin (drop ALL, add the capabilities above), general, baseline, restricted, "
        "sysadmin, or auto (the strongest one the namespace's Pod Security level admits).",
    )
    namespace: str | None = Field(
        None, description="Namespace for node debug pods; the context's namespace if unset."
    )
    timeout_seconds: float = Field(60.0, gt=0, description="How long to wait for the shell.")
    active_deadline_seconds: int = Field(
        12 * 3600, ge=0, description="Server-side lifetime limit of node debug pods."
    )
    idle_logout_seconds: int = Field(
        3600, ge=0, description="TMOUT for debug shells; 0 disables the idle logout."
    )
    detach_timeout_seconds: int = Field(
        900,
        ge=0,
        description="A pod debug shell ends by itself once no retina-tui client has kept it "
        "alive for this long (its client was killed or cut off); 0 disables it.",
    )

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        problem = image_problem(value)
        if problem is not None:
            raise ValueError(f"{value!r} is not an image reference: {problem}")
        return value

    @field_validator("windows_image")
    @classmethod
    def _windows_image(cls, value: str) -> str:
        problem = image_problem(value.replace(LTSC_PLACEHOLDER, "ltsc2022"))
        if problem is not None:
            raise ValueError(f"{value!r} is not an image reference: {problem}")
        return value

    @field_validator("windows_user")
    @classmethod
    def _windows_user(cls, value: str) -> str:
        problem = windows_user_problem(value)
        if problem is not None:
            raise ValueError(f"{value!r} is not a Windows account name: {problem}")
        return value

    @field_validator("capabilities")
    @classmethod
    def _capabilities(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_capabilities(value)

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        problem = None if value is None else label_problem(value)
        if problem is not None:
            raise ValueError(f"{value!r} is not a namespace name: {problem}")
        return value


class SupervisorSettings(_Section):
    """How often ownership is renewed and orphans are reaped."""

    renew_interval_seconds: float = Field(10.0, gt=0)
    reap_interval_seconds: float = Field(30.0, gt=0)


class KeySettings(_Section):
    """Keys of the app's actions (Textual key names; several keys comma-separated).

    Inside a terminal every key goes to the remote shell: press the prefix key
    (ctrl+b) first, then one of these.
    """

    pod_session: str = Field("s", description="Open a session on the selected pod or node.")
    node_session: str = Field("S", description="Open a node session on the selected pod's node.")
    session_dialog: str = Field("o", description="Set session options, then open a session.")
    capture: str = Field("c", description="Capture the selected pod's or node's packets.")
    reattach: str = Field("a", description="Re-attach to the pod's running retina-tui shell.")
    capture_stop: str = Field("z", description="Stop the capture in this tab.")
    capture_save: str = Field("e", description="Save the capture in this tab to a pcapng file.")
    mark_source: str = Field("m", description="Mark or unmark the selected pod as a check source.")
    check: str = Field("r", description="Check connectivity from the marked (or selected) pods.")
    logs: str = Field("l", description="Follow the logs of the marked (or selected) pods.")
    events: str = Field("e", description="Show the events of the selected pod or node.")
    log_search: str = Field("slash", description="Search the log in this tab as you type.")
    log_pause: str = Field("p", description="Pause or resume the log in this tab.")
    log_wrap: str = Field("W", description="Wrap long log lines, or not.")
    log_timestamps: str = Field("t", description="Show or hide the log's timestamps.")
    log_previous: str = Field("v", description="Open the previous run's log of these containers.")
    log_save: str = Field("e", description="Save the log in this tab to a file.")
    services: str = Field("v", description="Show the Services view.")
    netpols: str = Field("t", description="Show the NetworkPolicies view.")
    filter: str = Field("slash", description="Filter the table as you type.")
    pods: str = Field("p", description="Show the pods view.")
    nodes: str = Field("n", description="Show the nodes view.")
    details: str = Field("d", description="Show or hide the details panel.")
    prompt: str = Field("colon", description="The `:` command prompt.")
    namespace: str = Field("N", description="Pick a namespace.")
    context: str = Field("C", description="Pick a kubeconfig context.")
    help: str = Field("question_mark,f1", description="Show every binding.")
    quit: str = Field("q", description="Quit, ending every session.")
    next_tab: str = Field("ctrl+right,right_square_bracket", description="Next tab.")
    previous_tab: str = Field("ctrl+left,left_square_bracket", description="Previous tab.")
    split: str = Field("percent_sign", description="Split two sessions, or unsplit.")
    split_orientation: str = Field("quotation_mark", description="Side by side or stacked.")
    switch_pane: str = Field("w", description="Move focus to the other pane of the split.")
    mark: str = Field("m", description="Mark or unmark a session for broadcast.")
    broadcast: str = Field("y", description="Turn broadcast input on or off.")
    close_session: str = Field("x", description="Close the session (deletes a node pod).")
    record: str = Field("R", description="Start or stop recording the session in this tab.")
    forward: str = Field("F", description="Forward a local port to the selected pod or Service.")
    forwards: str = Field("f", description="Show the port forwards view.")
    forward_stop: str = Field("z", description="Stop the selected port forward.")


class UiSettings(_Section):
    """How the interface looks and which keys it answers to."""

    theme: str = Field("textual-dark", description="Textual theme name.")
    connect_timeout_seconds: float = Field(
        10.0, gt=0, description="How long to wait for the cluster before showing an error."
    )
    shutdown_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="How long quitting may take to end sessions and delete debug pods and "
        "the lease before the app leaves anyway and says what is left.",
    )
    keys: KeySettings = Field(default_factory=KeySettings)


class RecordingSettings(_Section):
    """Session recordings: asciicast v2 files that `asciinema play` plays.

    With `dir` set every session is recorded there (the interface's tabs and `retina-tui
    shell`); without it a tab records when asked (the record key) into the user data
    directory, and `shell` when given --record DIR.
    """

    dir: Path | None = Field(
        None,
        description="Record every session into this directory (created if missing); "
        "unset: record only when asked.",
    )
    input: bool = Field(
        False,
        description="Also record what is typed. Off by default: typed input holds "
        "passwords and tokens, which the output does not show.",
    )

    @field_validator("dir", mode="before")
    @classmethod
    def _dir_given(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("the directory name is empty")
        return value

    @field_validator("dir")
    @classmethod
    def _dir(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser()

    def directory(self) -> Path:
        """Where recordings go: `dir`, else `recordings` in the user data directory."""
        if self.dir is not None:
            return self.dir
        import platformdirs

        return Path(platformdirs.user_data_dir("retina-tui")) / "recordings"


class LogSettings(_Section):
    """Where a log tab starts reading a container's log (it then follows it)."""

    tail_lines: int | None = Field(
        1000, ge=0, description="Start with the last this many lines; unset: the whole log."
    )
    since_seconds: int | None = Field(
        None, gt=0, description="Start with the lines of the last this many seconds."
    )


class Settings(_Section):
    """The whole settings tree."""

    debug: DebugSettings = Field(default_factory=DebugSettings)
    supervisor: SupervisorSettings = Field(default_factory=SupervisorSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    recording: RecordingSettings = Field(default_factory=RecordingSettings)
    logs: LogSettings = Field(default_factory=LogSettings)


CONFIG_ENV = "RETINA_TUI_CONFIG"


def resolve_config_path(explicit: Path | None = None) -> Path:
    """The configuration file to read: `explicit`, else $RETINA_TUI_CONFIG, else the default.

    The default is `config.toml` in the platform's user config directory; an explicitly
    named file that does not exist is an error, the default one may be absent.
    """
    if explicit is None and os.environ.get(CONFIG_ENV):
        explicit = Path(os.environ[CONFIG_ENV])
    if explicit is not None:
        if not explicit.exists():
            raise ConfigError(
                f"The configuration file {explicit} does not exist; create it or omit the option."
            )
        return explicit
    import platformdirs

    return Path(platformdirs.user_config_dir("retina-tui")) / "config.toml"


def load_settings(path: Path | None) -> Settings:
    """Read settings from a TOML file; defaults when `path` is None or does not exist."""
    if path is None or not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"Could not read the configuration file {path}: {exc}; fix or remove it."
        ) from exc
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(
            f"The configuration file {path} is invalid at {where}: {message}; "
            "fix that value or remove it to use the default."
        ) from exc
