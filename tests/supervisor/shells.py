"""`retina-tui shell` child processes under a pseudo-terminal, driven from async tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import signal
import sys
from pathlib import Path


class ShellProcess:
    """One `retina-tui shell ...` process whose terminal output is collected as it comes."""

    def __init__(self, process: asyncio.subprocess.Process, master: int) -> None:
        self.process = process
        self.master = master
        self.output = bytearray()
        self._changed = asyncio.Event()
        self._open = True
        asyncio.get_running_loop().add_reader(master, self._read)

    @classmethod
    async def start(cls, args: list[str], env: dict[str, str]) -> ShellProcess:
        master, slave = pty.openpty()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "retina_tui",
                "shell",
                *args,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                start_new_session=True,
            )
        finally:
            os.close(slave)
        return cls(process, master)

    def _read(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except OSError:
            data = b""
        if not data:
            self._stop_reading()
        self.output.extend(data)
        self._changed.set()

    def _stop_reading(self) -> None:
        if self._open:
            self._open = False
            asyncio.get_running_loop().remove_reader(self.master)

    async def expect(self, text: bytes, seconds: float = 60.0) -> None:
        """Wait until `text` has appeared in the output."""

        async def seen() -> None:
            while text not in self.output:
                if not self._open:
                    raise AssertionError(f"shell ended before {text!r}: {bytes(self.output)!r}")
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(seen(), seconds)
        except TimeoutError:
            raise AssertionError(f"{text!r} not seen; output: {bytes(self.output)!r}") from None

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def kill(self) -> None:
        """SIGKILL, as when a laptop's process is killed: no cleanup code runs."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)

    async def wait(self, seconds: float = 60.0) -> int:
        return await asyncio.wait_for(self.process.wait(), seconds)

    async def close(self) -> None:
        """Kill if still running, reap the process, release the terminal."""
        if self.process.returncode is None:
            self.kill()
        await self.wait()
        self._stop_reading()
        os.close(self.master)


def shell_env(kubeconfig: Path, config: Path, instance: str) -> dict[str, str]:
    """Environment for a shell process that shares the instance id `instance`."""
    env = dict(os.environ)
    env.update(
        {
            "KUBECONFIG": str(kubeconfig),
            "RETINA_TUI_CONFIG": str(config),
            "RETINA_TUI_INSTANCE": instance,
            "TERM": "xterm",
        }
    )
    return env
