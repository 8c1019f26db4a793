"""What the sandbox kubelet keeps of each container's output, as `kubectl logs` reads it.

A real kubelet's runtime writes every line a container prints to a file with the time it
was written; `pods/log` reads that file (the current run, or with `previous` the one
before), filtered by `sinceTime`/`sinceSeconds`, `tailLines` and `limitBytes`, with
RFC 3339 timestamps when asked, and with `follow` keeps streaming until the run ends.
`ContainerLog` is that file for one run: lines stamped as they arrive, bounded in size
(the oldest lines go first, like log rotation), and followers woken on each write.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

LOG_LIMIT: Final = 4 * 1024 * 1024
"""Bytes kept per container run (a kubelet rotates at 10 MiB by default)."""
CHUNK: Final = 64 * 1024
"""Bytes of lines sent in one write."""


@functools.lru_cache(maxsize=64)
def _second(seconds: int) -> bytes:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S").encode()


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of output (with its newline, unless the run ended mid-line)."""

    stamp_ns: int
    data: bytes

    def timestamp(self) -> bytes:
        """RFC 3339 with nanoseconds, as the kubelet prefixes lines with `timestamps=true`."""
        seconds, nanos = divmod(self.stamp_ns, 1_000_000_000)
        return b"%s.%09dZ" % (_second(seconds), nanos)


@dataclass(frozen=True, slots=True)
class LogQuery:
    """The filters of a `pods/log` request that select lines."""

    since_ns: int | None = None
    tail: int | None = None
    timestamps: bool = False
    limit_bytes: int | None = None


class ContainerLog:
    """The output of one run of one container, line by line, with followers."""

    def __init__(self, limit: int = LOG_LIMIT) -> None:
        self._lines: deque[LogLine] = deque()
        self._first = 0
        """The sequence number of `_lines[0]` (lines dropped by rotation keep counting)."""
        self._size = 0
        self._limit = limit
        self._partial = bytearray()
        self._partial_ns = 0
        self._closed = False
        self._changed = asyncio.Event()

    @property
    def closed(self) -> bool:
        return self._closed

    def write(self, data: bytes) -> None:
        """Add output; complete lines are stamped with the time their first byte came."""
        if self._closed or not data:
            return
        now = time.time_ns()
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            if not self._partial:
                self._partial_ns = now
            self._partial += data[start : end + 1]
            self._append(LogLine(self._partial_ns, bytes(self._partial)))
            self._partial.clear()
            start = end + 1
        if start < len(data):
            if not self._partial:
                self._partial_ns = now
            self._partial += data[start:]
        self._wake()

    def close(self) -> None:
        """The run ended: keep an unfinished last line, and end every follower."""
        if self._closed:
            return
        if self._partial:
            self._append(LogLine(self._partial_ns, bytes(self._partial)))
            self._partial.clear()
        self._closed = True
        self._wake()

    def text(self) -> bytes:
        """Everything kept, as plain output (what the kubelet's old byte tail gave)."""
        return b"".join(line.data for line in self._lines) + bytes(self._partial)

    def _append(self, line: LogLine) -> None:
        self._lines.append(line)
        self._size += len(line.data)
        while self._size > self._limit and len(self._lines) > 1:
            self._size -= len(self._lines.popleft().data)
            self._first += 1

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _start(self, query: LogQuery) -> int:
        """The sequence number of the first line the query selects."""
        lines = self._lines
        index = 0
        if query.since_ns is not None:
            while index < len(lines) and lines[index].stamp_ns < query.since_ns:
                index += 1
        if query.tail is not None:
            index = max(index, len(lines) - query.tail)
        return self._first + index

    async def stream(self, query: LogQuery, *, follow: bool) -> AsyncIterator[bytes]:
        """The selected lines as bytes, in chunks of up to CHUNK bytes; with `follow`, new
        lines until the run ends."""
        sequence = self._start(query)
        budget = query.limit_bytes
        while True:
            sequence = max(sequence, self._first)
            chunk: list[bytes] = []
            size = 0
            while sequence - self._first < len(self._lines):
                line = self._lines[sequence - self._first]
                sequence += 1
                data = line.timestamp() + b" " + line.data if query.timestamps else line.data
                if budget is not None:
                    if budget <= 0:
                        break
                    data, budget = data[:budget], budget - len(data)
                chunk.append(data)
                size += len(data)
                if size >= CHUNK:
                    yield b"".join(chunk)
                    chunk, size = [], 0
            if chunk:
                yield b"".join(chunk)
            if not follow or self._closed or (budget is not None and budget <= 0):
                return
            await self._changed.wait()


def parse_since_time(text: str) -> int:
    """`sinceTime` as the API server reads it: RFC 3339, kept to the whole second.

    Raises ValueError for text that is not RFC 3339.
    """
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return int(moment.timestamp()) * 1_000_000_000
