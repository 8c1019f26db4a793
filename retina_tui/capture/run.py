"""A capture run: one remote capture per target, merged live into one pcapng file.

Each target's debug container streams a pcap over exec (`remote`); records are parsed as
they arrive (`pcap`), merged in timestamp order (`merge`) and written (`pcapng`). Limits are
kept here too (duration, size, packets), so the file never grows past them whatever a remote
does. Stopping, for any reason, closes every remote stdin so each capture flushes and prints
its statistics, waits a little for the last bytes, then closes whatever is still open.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from retina_tui.capture.merge import Merger, Queued
from retina_tui.capture.pcap import PcapStream, PcapStreamError
from retina_tui.capture.pcapng import Interface, PacketLike, PcapngWriter
from retina_tui.capture.remote import CaptureCommand, capture_argv, parse_statistics
from retina_tui.errors import RetinaTuiError
from retina_tui.sessions import protocol
from retina_tui.sessions.command import Command, CommandHost
from retina_tui.sessions.session import cancel_and_wait

__all__ = ["CaptureLimits", "CaptureRun", "CaptureTarget", "TargetResult"]

STOP_GRACE_SECONDS = 5.0
TICK_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class CaptureTarget:
    kind: str
    """"pod" or "node"."""
    name: str
    namespace: str = ""
    interface: str = ""
    description: str = ""

    @property
    def label(self) -> str:
        """The interface name in the file: `ns/pod:eth0` or `node:iface`."""
        where = f"{self.namespace}/{self.name}" if self.kind == "pod" else self.name
        return f"{where}:{self.interface}"


@dataclass(frozen=True, slots=True)
class CaptureLimits:
    duration_seconds: float = 0
    max_bytes: int = 0
    packets: int = 0


@dataclass(slots=True)
class TargetResult:
    target: CaptureTarget
    packets: int = 0
    dropped: int | None = None
    exit_code: int | None = None
    error: str = ""
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Seen:
    """One packet as it is written, for a live view."""

    interface: int
    linktype: int
    ts_ns: int
    orig_len: int
    data: bytes


HostOpener = Callable[[CaptureTarget], Awaitable[CommandHost]]


class CaptureRun:
    """Runs one capture; `run()` returns once every target ended or the run was stopped."""

    def __init__(
        self,
        writer: PcapngWriter,
        targets: list[CaptureTarget],
        open_host: HostOpener,
        *,
        bpf_filter: str = "",
        snaplen: int = 0,
        promiscuous: bool = False,
        limits: CaptureLimits | None = None,
        on_packet: Callable[[Seen], None] | None = None,
        on_started: Callable[[CaptureTarget], None] | None = None,
        hold_ns: int = 500_000_000,
    ) -> None:
        self._writer = writer
        self.targets = targets
        self._open_host = open_host
        self._filter = bpf_filter
        self._snaplen = snaplen
        self._promiscuous = promiscuous
        self.limits = limits or CaptureLimits()
        self._on_packet = on_packet
        self._on_started = on_started
        self._merger = Merger(hold_ns)
        self._stop = asyncio.Event()
        self.stop_reason = ""
        self.results = [TargetResult(target) for target in targets]
        self._interfaces: dict[int, int] = {}
        self._linktypes: dict[int, int] = {}
        self._commands: dict[int, Command] = {}
        self.host_of: dict[int, CommandHost] = {}
        """The debug container of each target (by index) opened so far."""
        self._full = False

    @property
    def hosts(self) -> list[CommandHost]:
        """Every debug container opened; the caller closes them (`close_all`)."""
        return list(self.host_of.values())

    @property
    def packets_written(self) -> int:
        return self._writer.packets_written

    @property
    def bytes_written(self) -> int:
        return self._writer.bytes_written

    def flush(self) -> None:
        """Push what is written so far to the file (packets held for merging stay held)."""
        self._writer.flush()

    def stop(self, reason: str = "stopped") -> None:
        if not self._stop.is_set():
            self.stop_reason = reason
            self._stop.set()

    async def run(self) -> None:
        """Open every target, capture until the end, write the last packets and statistics."""
        pumps = [
            asyncio.create_task(self._target(index), name=f"capture {target.label}")
            for index, target in enumerate(self.targets)
        ]
        ticker = asyncio.create_task(self._tick(), name="capture merge ticker")
        stopper = asyncio.create_task(self._stop_when_asked(), name="capture stopper")
        try:
            outcomes = await asyncio.gather(*pumps, return_exceptions=True)
            if not self.stop_reason:
                self.stop_reason = "ended"
        finally:
            for task in (stopper, ticker, *pumps):
                await cancel_and_wait(task)
            self._flush_all()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _stop_when_asked(self) -> None:
        duration = self.limits.duration_seconds
        try:
            if duration > 0:
                await asyncio.wait_for(self._stop.wait(), duration)
            else:
                await self._stop.wait()
        except TimeoutError:
            self.stop("duration")
        commands = list(self._commands.values())
        await asyncio.gather(*(c.close_stdin() for c in commands), return_exceptions=True)
        # A capture that does not end by itself once told is cut off.
        await asyncio.sleep(STOP_GRACE_SECONDS)
        for command in list(self._commands.values()):
            await command.close()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            self._write(self._merger.ready(time.monotonic_ns()))
            self._writer.flush()

    async def _target(self, index: int) -> None:
        target = self.targets[index]
        result = self.results[index]
        self._merger.add_source(index)
        try:
            host = await self._open_host(target)
            self.host_of[index] = host
            if self._stop.is_set():
                return
            command = await host.exec(capture_argv(self._command_for(target)), stdin=True)
            self._commands[index] = command
            if self._stop.is_set():
                await command.close_stdin()
            if self._on_started is not None:
                self._on_started(target)
            try:
                await self._pump(index, command)
            finally:
                self._commands.pop(index, None)
                await command.close()
        except RetinaTuiError as exc:
            result.error = str(exc)
        finally:
            self._merger.end_source(index)

    def _command_for(self, target: CaptureTarget) -> CaptureCommand:
        duration = self.limits.duration_seconds
        return CaptureCommand(
            interface=target.interface,
            bpf_filter=self._filter,
            snaplen=self._snaplen,
            packets=self.limits.packets,
            duration_seconds=int(duration) + (1 if duration % 1 else 0),
            promiscuous=self._promiscuous,
        )

    async def _pump(self, index: int, command: Command) -> None:
        result = self.results[index]
        parser = PcapStream()
        stderr = bytearray()
        broken = False
        async for chunk in command.output():
            if chunk.channel == protocol.STDERR:
                stderr += chunk.data
                continue
            if broken:
                continue
            try:
                records = parser.feed(chunk.data)
            except PcapStreamError as exc:
                result.error = f"the capture in {self._where(index)} failed: {exc}"
                broken = True
                await command.close_stdin()
                continue
            if index not in self._interfaces and parser.header is not None:
                self._add_interface(index, parser.header.linktype, parser.header.snaplen)
            if self._merger.alone(index):
                self._write_run(index, records)
                continue
            now = time.monotonic_ns()
            push = self._merger.push
            for record in records:
                push(index, record.ts_ns, record.orig_len, record.data, now)
            self._write(self._merger.ready(now))
        text = stderr.decode("utf-8", errors="replace")
        statistics = parse_statistics(text)
        result.dropped = statistics.dropped
        result.messages = statistics.messages
        try:
            result.exit_code = command.exit_code()
        except RetinaTuiError as exc:
            if not result.error:
                result.error = str(exc)
            return
        # SIGINT is how a capture is stopped; dumpcap and tcpdump exit 0 (or 130) after it.
        if result.exit_code not in (0, 130) and not result.error:
            said = "; ".join(statistics.messages) or f"exit code {result.exit_code}"
            result.error = f"the capture in {self._where(index)} failed: {said}"

    def _where(self, index: int) -> str:
        target = self.targets[index]
        return f"{target.kind} {target.label}"

    def _add_interface(self, index: int, linktype: int, snaplen: int) -> None:
        target = self.targets[index]
        number = self._writer.add_interface(
            Interface(
                target.label,
                linktype,
                snaplen=snaplen or 262144,
                description=target.description,
                bpf_filter=self._filter,
            )
        )
        self._interfaces[index] = number
        self._linktypes[index] = linktype

    def _write(self, queued: list[Queued]) -> None:
        for source, run in itertools.groupby(queued, key=attrgetter("source")):
            self._write_run(source, list(run))

    def _write_run(self, source: int, packets: Sequence[PacketLike]) -> None:
        """Write one source's packets, in order, as far as the limits allow."""
        if not packets or self._full:
            return
        limits = self.limits
        writer = self._writer
        interface = self._interfaces[source]
        written = writer.write_packets(
            interface, packets, max_bytes=limits.max_bytes, max_packets=limits.packets
        )
        self.results[source].packets += written
        if self._on_packet is not None:
            linktype = self._linktypes[source]
            for packet in packets[:written]:
                self._on_packet(
                    Seen(interface, linktype, packet.ts_ns, packet.orig_len, packet.data)
                )
        if limits.packets and writer.packets_written >= limits.packets:
            self._full_at("packets")
        elif written < len(packets):
            self._full_at("size")

    def _full_at(self, reason: str) -> None:
        """A limit is reached: nothing more is written, and the capture stops."""
        self._full = True
        self.stop(reason)

    def _flush_all(self) -> None:
        self._write(self._merger.drain())
        self._full = True
        now = time.time_ns()
        for index, result in enumerate(self.results):
            if result.dropped is not None and index in self._interfaces:
                self._writer.write_drops(self._interfaces[index], now, result.dropped)
        self._writer.flush()
