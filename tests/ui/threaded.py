"""A sandbox on its own thread and event loop, for tests whose app runs its own loop.

Snapshot tests hand the app to pytest-textual-snapshot, which runs it with `App.run`
on a fresh event loop; the cluster must then live elsewhere. The app only talks to it
over loopback HTTP, exactly as it talks to a real cluster.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from retina_tui.sandbox import Sandbox, SandboxOptions, run_sandbox

T = TypeVar("T")


class ThreadedSandbox:
    """Start with `start()`, stop with `stop()`; `call(fn)` runs fn on the sandbox loop."""

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.sandbox: Sandbox | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="sandbox", daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:
            self._error = error
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with run_sandbox(self.options) as sandbox:
            self.sandbox = sandbox
            self._ready.set()
            await self._stop.wait()

    def start(self) -> Sandbox:
        self._thread.start()
        self._ready.wait(60)
        if self._error is not None:
            raise self._error
        assert self.sandbox is not None
        return self.sandbox

    def call(self, fn: Callable[[Sandbox], T]) -> T:
        """Run `fn(sandbox)` on the sandbox's loop (the store is single-threaded)."""
        assert self._loop is not None and self.sandbox is not None
        sandbox = self.sandbox

        async def run() -> Any:
            return fn(sandbox)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(30)  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
