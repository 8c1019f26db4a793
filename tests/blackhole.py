"""A TCP proxy on loopback that can black-hole the connections it carries.

`freeze()` makes every connection open at that moment stop forwarding in both directions
without closing it, as a middlebox that lost its state or a network that dropped off
does; connections opened afterwards are forwarded normally. It runs its own event loop
in a thread, so both sync tests (driving a CLI) and async ones can use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class _Link:
    frozen: asyncio.Event = field(default_factory=asyncio.Event)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)


class BlackHoleProxy:
    """Forwards 127.0.0.1:`port` to `upstream_host`:`upstream_port`."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.connections = 0
        self._links: list[_Link] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._stopping: asyncio.Event | None = None

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    async def _start(self) -> None:
        self._stopping = asyncio.Event()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def freeze(self) -> int:
        """Black-hole every connection open now; how many there were."""

        async def freeze_all() -> int:
            live = [link for link in self._links if not link.frozen.is_set()]
            for link in live:
                link.frozen.set()
            return len(live)

        return asyncio.run_coroutine_threadsafe(freeze_all(), self._loop).result(10)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        link = _Link(writers=[writer])
        self._links.append(link)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        link.writers.append(up_writer)
        await asyncio.gather(
            self._pump(reader, up_writer, link), self._pump(up_reader, writer, link)
        )

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: _Link
    ) -> None:
        try:
            while data := await reader.read(65536):
                if link.frozen.is_set():
                    # Silence: read nothing more (the sender's buffers fill up) and keep
                    # the socket open; nothing is ever forwarded again.
                    assert self._stopping is not None
                    await self._stopping.wait()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    def close(self) -> None:
        async def stop() -> None:
            assert self._stopping is not None
            self._stopping.set()
            if self._server is not None:
                self._server.close()
            for link in self._links:
                for writer in link.writers:
                    with contextlib.suppress(Exception):
                        writer.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if tasks:
                await asyncio.wait(tasks, timeout=5)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@contextlib.contextmanager
def black_hole_proxy(upstream_host: str, upstream_port: int) -> Iterator[BlackHoleProxy]:
    proxy = BlackHoleProxy(upstream_host, upstream_port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
