"""Merges the packets of many capture streams into one timestamp order as they arrive.

Each stream is in order by itself, so a packet can be written once every other live stream has
shown a later one (the watermark). A quiet stream would hold everything back, so a packet is also
released once it has waited `hold_ns` of local time since it arrived; the comparison uses local
arrival time, not the packet's own timestamp, because node clocks are not ours.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

__all__ = ["Merger", "Queued"]


@dataclass(order=True, slots=True)
class Queued:
    ts_ns: int
    seq: int
    source: int = field(compare=False)
    orig_len: int = field(compare=False)
    data: bytes = field(compare=False)
    arrived_ns: int = field(compare=False)


class Merger:
    __slots__ = ("_heap", "_hold_ns", "_latest", "_live", "_seq")

    def __init__(self, hold_ns: int = 500_000_000) -> None:
        self._hold_ns = hold_ns
        self._heap: list[Queued] = []
        self._latest: dict[int, int] = {}
        self._live: set[int] = set()
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def add_source(self, source: int) -> None:
        self._live.add(source)

    def end_source(self, source: int) -> None:
        """The stream ended: it no longer holds the others back."""
        self._live.discard(source)
        self._latest.pop(source, None)

    def alone(self, source: int) -> bool:
        """Whether `source` is the only live stream and nothing is held: its packets can be
        written as they come, without queueing."""
        return not self._heap and len(self._live) == 1 and source in self._live

    def push(self, source: int, ts_ns: int, orig_len: int, data: bytes, now_ns: int) -> None:
        self._seq += 1
        heapq.heappush(self._heap, Queued(ts_ns, self._seq, source, orig_len, data, now_ns))
        if ts_ns > self._latest.get(source, -1):
            self._latest[source] = ts_ns

    def _watermark(self) -> int:
        if any(source not in self._latest for source in self._live):
            return -1
        return min((self._latest[s] for s in self._live), default=1 << 63)

    def ready(self, now_ns: int) -> list[Queued]:
        """The packets that can be written now, in timestamp order."""
        heap = self._heap
        if not heap:
            return []
        watermark = self._watermark()
        deadline = now_ns - self._hold_ns
        out: list[Queued] = []
        while heap and (heap[0].ts_ns <= watermark or heap[0].arrived_ns <= deadline):
            out.append(heapq.heappop(heap))
        return out

    def drain(self) -> list[Queued]:
        """Everything still held, in timestamp order (the capture is ending)."""
        heap = self._heap
        out = [heapq.heappop(heap) for _ in range(len(heap))]
        return out
