"""Running a check: every probe of every cell, concurrently with a bound, from one debug
container per source.

The `Prober` opens each source's command-mode host once (a pod's ephemeral container, re-used
as shells and captures re-use it; a node's debug pod) and execs every probe of that source
into it. Each probe has its own time limit and an outer one here; a probe that cannot run
becomes an "error" observation, so one broken source never stops the others.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from retina_tui.errors import RetinaTuiError
from retina_tui.probes.kinds import Observation, Probe, argv, parse
from retina_tui.probes.plan import Cell, ProbeCheck
from retina_tui.probes.targets import Source
from retina_tui.sessions.command import CommandHost, close_all
from retina_tui.sessions.hosts import HostKind, OpenHost

DEFAULT_CONCURRENCY = 16
OUTER_GRACE = 10.0
PROBE_CAPABILITIES = ("NET_RAW",)
"""ping and the MTU probe need raw ICMP sockets; TCP, HTTP and DNS need nothing."""


@dataclass(frozen=True, slots=True)
class ProbeRun:
    """A finished probe: what it saw and how long the exec took end to end."""

    observation: Observation
    seconds: float


class Prober:
    """Runs probes from sources, one host per source, at most `concurrency` at a time."""

    def __init__(self, open_host: OpenHost, *, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        self._open_host = open_host
        self._limit = asyncio.Semaphore(concurrency)
        self._hosts: dict[Source, asyncio.Task[CommandHost]] = {}

    @property
    def hosts(self) -> list[CommandHost]:
        """The hosts opened so far."""
        return [
            t.result()
            for t in self._hosts.values()
            if t.done() and not t.cancelled() and t.exception() is None
        ]

    async def host(self, source: Source) -> CommandHost:
        """The source's host, opened by the first probe that needs it."""
        task = self._hosts.get(source)
        if task is None:
            kind = source.kind
            task = asyncio.create_task(
                self._opened(kind, source.name, source.namespace),
                name=f"probe host {source.label}",
            )
            self._hosts[source] = task
        return await asyncio.shield(task)

    async def _opened(self, kind: HostKind, name: str, namespace: str) -> CommandHost:
        return await self._open_host(kind, name, namespace)

    async def run(self, source: Source, probe: Probe) -> ProbeRun:
        """One probe from `source`; its failures are an "error" observation, never raised."""
        began = time.monotonic()
        try:
            host = await self.host(source)
            async with self._limit:
                observation = await self._exec(host, probe)
        except RetinaTuiError as error:
            observation = Observation("error", str(error))
        return ProbeRun(observation, time.monotonic() - began)

    async def _exec(self, host: CommandHost, probe: Probe) -> Observation:
        limit = probe.timeout * (6 if probe.kind in ("dns", "mtu") else 1) + OUTER_GRACE
        command = await host.exec(argv(probe), stdin=False)
        out: list[bytes] = []
        err: list[bytes] = []
        try:
            async with asyncio.timeout(limit):
                async for chunk in command.output():
                    (err if chunk.channel == 2 else out).append(chunk.data)
        except TimeoutError:
            return Observation("error", f"{probe.label} did not finish within {limit:g} s")
        finally:
            await command.close()
        code = command.exit_code()
        return parse(probe, _text(out), _text(err), code)

    async def close(self) -> list[RetinaTuiError]:
        """Stop opening hosts, and close the opened ones (node pods are deleted)."""
        pending = [t for t in self._hosts.values() if not t.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return await close_all(self.hosts)


def _text(chunks: list[bytes]) -> str:
    return b"".join(chunks).decode("utf-8", "replace")


async def run_cells(
    prober: Prober,
    cells: list[Cell],
    on_done: Callable[[Cell, ProbeCheck], None] | None = None,
) -> None:
    """Fill in every check's observation, calling `on_done` as each one returns."""

    async def one(cell: Cell, check: ProbeCheck) -> None:
        result = await prober.run(cell.source, check.probe)
        check.observation = result.observation
        check.observation.figures.setdefault("exec_ms", round(result.seconds * 1000, 1))
        if on_done is not None:
            on_done(cell, check)

    async with asyncio.TaskGroup() as group:
        for number, cell in enumerate(cells):
            for check in cell.checks:
                group.create_task(
                    one(cell, check), name=f"probe {number} {cell.source.label} {check.probe.label}"
                )
