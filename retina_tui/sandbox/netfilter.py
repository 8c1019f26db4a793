"""Packet filtering and NAT inside the sandbox's namespaces: nftables, else iptables.

kube-proxy and the NetworkPolicy enforcer each own one table (nftables) or a set of chains
(iptables) in every node namespace and replace it whole on each change, atomically: an
`nft -f` script or an `iptables-restore --noflush` batch is applied by the kernel as one
transaction, so a packet never meets half a rule set. Which of the two the machine has is
found once; when it has neither (or the sandbox is not root) each feature says so once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
from collections.abc import Sequence
from typing import Final, Literal

from retina_tui.errors import RetinaTuiError
from retina_tui.sandbox import uncancelled

log = logging.getLogger("retina_tui.sandbox")

Backend = Literal["nftables", "iptables"]
NFT: Final = "nft"
IPTABLES_RESTORE: Final = "iptables-restore"
_SBIN: Final = "/usr/sbin:/sbin"
_reported: set[str] = set()


class NetfilterError(RetinaTuiError):
    """A rule set could not be applied in a namespace."""


def _which(program: str) -> str | None:
    return shutil.which(program) or shutil.which(program, path=_SBIN)


def available_backend(preferred: Backend | None = None) -> Backend | None:
    """The backend this machine can use (nftables first), None without root or either tool.

    `preferred` (or RETINA_TUI_SANDBOX_NETFILTER=nftables|iptables) picks one when both exist.
    """
    if os.geteuid() != 0:
        return None
    wanted = preferred or os.environ.get("RETINA_TUI_SANDBOX_NETFILTER") or None
    candidates: tuple[tuple[Backend, str], ...] = (
        ("nftables", NFT),
        ("iptables", IPTABLES_RESTORE),
    )
    have = [name for name, program in candidates if _which(program) is not None]
    for name in have:
        if name == wanted:
            return name
    return have[0] if have else None


def report_once(feature: str, why: str) -> None:
    """Log, once per process, that the sandbox cannot enforce `feature` and why."""
    if feature in _reported:
        return
    _reported.add(feature)
    log.warning(
        "the sandbox does not enforce %s: %s; the API objects are served anyway", feature, why
    )


async def _run(argv: Sequence[str], script: str) -> None:
    # A batch is atomic and quick: it ends even when its controller is being stopped.
    await uncancelled.finish(_run_batch(argv, script), "sandbox-netfilter-batch")


async def _run_batch(argv: Sequence[str], script: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, err = await proc.communicate(script.encode())
    if proc.returncode != 0:
        raise NetfilterError(f"`{' '.join(argv)}` failed: {err.decode(errors='replace').strip()}")


async def apply(netns: str, backend: Backend, script: str) -> None:
    """Apply `script` (nft syntax, or iptables-restore syntax) inside namespace `netns`."""
    program = _which(NFT if backend == "nftables" else IPTABLES_RESTORE)
    if program is None:
        raise NetfilterError(f"{backend} is not installed")
    argv = ["ip", "netns", "exec", netns, program]
    argv += ["-f", "-"] if backend == "nftables" else ["--noflush"]
    await _run(argv, script)


class NodeRules:
    """One controller's rules in each node namespace, re-applied only where their text changed.

    Its iptables batches begin by unhooking their chains (`-D`), which fails on the first batch
    in a namespace, where nothing is hooked yet: that batch goes without its `-D` lines.
    """

    def __init__(self, feature: str, mode: str, backend: Backend | None = None) -> None:
        self.backend = backend or available_backend()
        self.enforcing = mode == "netns" and self.backend is not None
        self._applied: dict[str, str] = {}
        if mode != "netns":
            report_once(feature, "the sandbox network runs in the host namespace")
        elif self.backend is None:
            report_once(feature, "neither nft nor iptables-restore is usable (root?)")

    async def apply(self, netns: str, text: str) -> None:
        previous = self._applied.get(netns)
        if previous == text or self.backend is None:
            return
        script = text
        if self.backend == "iptables" and previous is None:
            script = "\n".join(x for x in text.split("\n") if not x.startswith("-D ")) + "\n"
        await apply(netns, self.backend, script)
        self._applied[netns] = text
