"""Linux capability names, as a pod's securityContext names them.

A misspelt capability (`NET_RAWW`) is accepted by the API server and only fails when the
runtime starts the container, or is silently ignored; checking it where it is typed says
which name was meant.
"""

from __future__ import annotations

import difflib
from typing import Final

# include/uapi/linux/capability.h, in the order of their numbers (0 to 40).
LINUX_CAPABILITIES: Final = (
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
)
ALL: Final = "ALL"
"""Kubernetes passes `ALL` to the runtime, which adds (or drops) every capability."""

_KNOWN: Final = frozenset(LINUX_CAPABILITIES) | {ALL}


def normalize(name: str) -> str:
    """`cap_net_raw`, `Net_Raw`, `NET_RAW` -> `NET_RAW` (not checked)."""
    upper = name.strip().upper()
    return upper[4:] if upper.startswith("CAP_") else upper


def capability_problem(name: str) -> str | None:
    """Why `name` is not a capability (with the closest one, if any), or None."""
    normal = normalize(name)
    if normal in _KNOWN:
        return None
    if not normal:
        return "an empty capability name"
    close = difflib.get_close_matches(normal, sorted(_KNOWN), n=1, cutoff=0.5)
    hint = f"did you mean {close[0]}?" if close else "see `man 7 capabilities` for the names"
    return f"{name.strip()!r} is not a Linux capability ({hint})"


def check_capabilities(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Normalized names without duplicates; ValueError naming the first unknown one."""
    out: list[str] = []
    for name in names:
        problem = capability_problem(name)
        if problem is not None:
            raise ValueError(problem)
        normal = normalize(name)
        if normal not in out:
            out.append(normal)
    return tuple(out)
