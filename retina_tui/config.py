"""Settings: one validated tree, built once by the CLI and passed down explicitly.

Defaults live here; a configuration file (TOML in the platform's config directory)
and command-line flags override them. There is no global settings object.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from retina_tui.errors import ConfigError

DEFAULT_IMAGE = "docker.io/nicolaka/netshoot:v0.13"
DEFAULT_CAPABILITIES = ("NET_ADMIN", "NET_RAW")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DebugSettings(_Section):
    """What a debug container or node pod looks like."""

    image: str = Field(DEFAULT_IMAGE, description="Image with the network tools.")
    capabilities: tuple[str, ...] = Field(
        DEFAULT_CAPABILITIES, description="Capabilities added after dropping ALL."
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


class SupervisorSettings(_Section):
    """How often ownership is renewed and orphans are reaped."""

    renew_interval_seconds: float = Field(10.0, gt=0)
    reap_interval_seconds: float = Field(30.0, gt=0)


class Settings(_Section):
    """The whole settings tree."""

    debug: DebugSettings = Field(default_factory=DebugSettings)
    supervisor: SupervisorSettings = Field(default_factory=SupervisorSettings)


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
        raise ConfigError(
            f"The configuration file {path} is invalid at {where}: {first['msg']}; "
            "fix that value or remove it to use the default."
        ) from exc
