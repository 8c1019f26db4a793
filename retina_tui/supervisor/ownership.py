"""Who owns a debug pod: labels, instance ids, Lease names and Kubernetes time stamps.

Everything here is pure so that the reaper's decisions can be tested without a cluster.
"""

from __future__ import annotations

import os
import re
import secrets
import string
from datetime import UTC, datetime
from typing import Any

from retina_tui.errors import ConfigError

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "retina-tui"
INSTANCE_LABEL = "retina-tui.io/instance"
SESSION_LABEL = "retina-tui.io/session"
MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"
LEASE_PREFIX = "retina-tui-"
INSTANCE_ENV = "RETINA_TUI_INSTANCE"
STALE_INTERVALS = 3
"""A Lease not renewed for this many of its own durations is dead."""

_ID_ALPHABET = string.ascii_lowercase + string.digits
_ID_LENGTH = 8
_INSTANCE_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
FINISHED_PHASES = frozenset({"Succeeded", "Failed"})


def new_instance_id() -> str:
    """A fresh random instance id: 8 lowercase letters and digits."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


def is_instance_id(value: str) -> bool:
    """Whether `value` can be an instance id (a label value that fits a Lease name)."""
    return bool(_INSTANCE_RE.match(value))


def instance_id_from_env(environ: dict[str, str] | None = None) -> str:
    """$RETINA_TUI_INSTANCE when set (processes that share one identity), else a new id."""
    env = os.environ if environ is None else environ
    value = env.get(INSTANCE_ENV, "")
    if not value:
        return new_instance_id()
    if not is_instance_id(value):
        raise ConfigError(
            f"{INSTANCE_ENV}={value!r} is not a valid instance id; use 1 to 32 lowercase "
            "letters, digits or dashes, or unset it."
        )
    return value


def lease_name(instance_id: str) -> str:
    """The name of the Lease that proves `instance_id` is alive."""
    return f"{LEASE_PREFIX}{instance_id}"


def instance_of_lease(lease: dict[str, Any]) -> str | None:
    """The instance a Lease belongs to, or None if it is not one of ours."""
    meta = lease.get("metadata") or {}
    labels = meta.get("labels") or {}
    name = str(meta.get("name", ""))
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE or not name.startswith(LEASE_PREFIX):
        return None
    instance = name.removeprefix(LEASE_PREFIX)
    if labels.get(INSTANCE_LABEL) != instance or not is_instance_id(instance):
        return None
    return instance


def is_managed_pod(pod: dict[str, Any]) -> bool:
    """Whether a pod carries exactly our managed-by label value."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE


def instance_of_pod(pod: dict[str, Any]) -> str | None:
    """The instance id on one of our pods, or None when absent or malformed."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    value = labels.get(INSTANCE_LABEL)
    if isinstance(value, str) and is_instance_id(value):
        return value
    return None


def format_micro_time(moment: datetime) -> str:
    """Kubernetes MicroTime: `2026-11-26T17:00:00.000000Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: object) -> datetime | None:
    """Parse a Kubernetes Time or MicroTime; None when missing or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment
