"""Session tests run against an in-process sandbox with its kubelet, and a connected client."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from retina_tui.kube.client import KubeClient, connect
from retina_tui.sessions.session import Session
from retina_tui.sessions.specs import Phase

WAIT = 30.0
PROMPT = "rtui-prompt# "
PROMPT_RE = re.compile(rb"rtui-prompt# ")


@pytest.fixture
def sandbox_options() -> Any:
    from retina_tui.sandbox import SandboxOptions

    return SandboxOptions(
        nodes=3,
        pods=4,
        windows_nodes=1,
        network=os.environ.get("RETINA_TUI_SANDBOX_NETWORK", "auto"),
        kubelet=True,
    )


@pytest.fixture
async def kube(api_sandbox: Any) -> AsyncIterator[KubeClient]:
    client = await connect(kubeconfig=str(api_sandbox.kubeconfig_path), context="admin")
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def restricted(api_sandbox: Any) -> AsyncIterator[KubeClient]:
    client = await connect(kubeconfig=str(api_sandbox.kubeconfig_path), context="restricted")
    try:
        yield client
    finally:
        await client.close()


@dataclass
class Screen:
    """Collects a session's output and phases; waits for text to appear."""

    data: bytearray = field(default_factory=bytearray)
    phases: list[Phase] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def on_output(self, chunk: bytes) -> None:
        self.data += chunk
        self.changed.set()

    def on_phase(self, phase: Phase) -> None:
        self.phases.append(phase)
        self.changed.set()

    async def expect(self, pattern: bytes | re.Pattern[bytes], *, since: int = 0) -> int:
        """Wait until `pattern` appears after offset `since`; the offset after the match."""
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        async with asyncio.timeout(WAIT):
            while True:
                match = regex.search(self.data, since)
                if match:
                    return match.end()
                self.changed.clear()
                await self.changed.wait()

    async def expect_phase(self, kind: str) -> None:
        async with asyncio.timeout(WAIT):
            while not any(phase.kind == kind for phase in self.phases):
                self.changed.clear()
                await self.changed.wait()


async def prompt(session: Session, screen: Screen) -> int:
    """Give the shell a known prompt and wait for it; the offset after it."""
    await screen.expect(re.compile(rb"\S"))
    mark = len(screen.data)
    # Quoted in two halves so that the echo of this line does not match the prompt.
    await session.write(b"PS1='rtui''-prompt# '\r")
    return await screen.expect(PROMPT_RE, since=mark)


async def run_line(session: Session, screen: Screen, line: str, since: int) -> tuple[bytes, int]:
    """Type a command, wait for the next prompt; (what it printed, offset after the prompt)."""
    await session.write(line.encode() + b"\r")
    echoed = await screen.expect(line.encode(), since=since)
    end = await screen.expect(PROMPT_RE, since=echoed)
    return bytes(screen.data[echoed:end]), end
