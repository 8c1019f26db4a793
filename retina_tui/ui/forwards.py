"""The app's port forwards: started from a pod or a Service, listed, stopped, ended with the app.

`Forwards` owns every running `Forward` of the current connection. The browser shows
them in its forwards view, one row per forward, refreshed at most twice a second while
bytes flow. They all stop when the app leaves or switches context.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from retina_tui.ui.rows import Row

if TYPE_CHECKING:
    from retina_tui.kube.client import KubeClient
    from retina_tui.sessions.forward import Forward, ForwardTarget, PortPair

FORWARD_COLUMNS = (
    "LOCAL", "NAMESPACE", "TARGET", "POD", "STATE", "CONNECTIONS", "IN", "OUT", "AGE",
)  # fmt: skip
STATE_COLUMN = 4


def human_bytes(count: int) -> str:
    """1234567 -> `1.2M`, as `ls -h` would say it."""
    value = float(count)
    for unit in ("B", "K", "M", "G"):
        if value < 1024 or unit == "G":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def suggested_ports(ports: Iterable[int]) -> str:
    """What the forward dialog proposes: each port on the same local port, or any free
    local port for privileged ones."""
    return " ".join(str(p) if p >= 1024 else f":{p}" for p in dict.fromkeys(ports)) or "8080"


def forward_row(key: str, forward: Forward, created: float) -> Row:
    stats = forward.stats
    local = ",".join(f"{lst.address}:{lst.local}" for lst in forward.listeners)
    remotes = ",".join(dict.fromkeys(lst.remote for lst in forward.listeners))
    if stats.last_problem:
        state, tone = stats.last_problem, "error"
    elif stats.streams:
        state, tone = f"{stats.streams} open", "ok"
    else:
        state, tone = "listening", "ok"
    cells = (
        local,
        forward.target.namespace,
        f"{forward.target}:{remotes}",
        stats.pod or "-",
        state,
        str(stats.connections),
        human_bytes(stats.bytes_in),
        human_bytes(stats.bytes_out),
    )
    order = int(key) if key.isdigit() else 0
    sort_keys = (order, *cells[1:4], state, stats.connections, stats.bytes_in)
    return Row(key, cells, created, (*sort_keys, stats.bytes_out, -created), tone)


class Forwards:
    """Running forwards by key (`1`, `2`...), told to `on_change` when one changes."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self._forwards: dict[str, tuple[Forward, float]] = {}
        self._next = 1
        self._on_change = on_change

    def __len__(self) -> int:
        return len(self._forwards)

    def rows(self) -> list[Row]:
        return [forward_row(key, fw, created) for key, (fw, created) in self._forwards.items()]

    @property
    def busy(self) -> bool:
        """Whether a connection is open (its bytes change the rows without an event)."""
        return any(fw.stats.active for fw, _created in self._forwards.values())

    def get(self, key: str) -> Forward | None:
        entry = self._forwards.get(key)
        return entry[0] if entry else None

    async def start(
        self,
        client: KubeClient,
        target: ForwardTarget,
        pairs: list[PortPair],
        on_problem: Callable[[str], None],
    ) -> Forward:
        """Resolve, listen and list a new forward; raises what `Forward.start` raises."""
        from retina_tui.sessions.forward import Forward

        forward = Forward(client, target, pairs, on_problem=on_problem, on_change=self._on_change)
        await forward.start()
        key = str(self._next)
        self._next += 1
        self._forwards[key] = (forward, time.time())
        self._on_change()
        return forward

    async def stop(self, key: str) -> Forward | None:
        entry = self._forwards.pop(key, None)
        if entry is None:
            return None
        await entry[0].stop()
        self._on_change()
        return entry[0]

    async def stop_all(self) -> None:
        for key in list(self._forwards):
            await self.stop(key)
