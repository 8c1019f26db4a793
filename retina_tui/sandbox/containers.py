"""How the sandbox kubelet runs one container: image check, start, exit, restarts, events.

A container waits for its pod's network, then (after the start delay) either fails to
"pull" (an unpullable image: ErrImagePull then ImagePullBackOff, no process ever) or runs
its process; each exit is reported as terminated (Completed/Error) and, per the pod's
restartPolicy, restarted after a CrashLoopBackOff delay. Ephemeral containers never restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Final

from retina_tui.sandbox import runtime
from retina_tui.sandbox.events import EventRecorder
from retina_tui.sandbox.network import Network
from retina_tui.sandbox.podstatus import ContainerRuntime, Obj, PodRuntime, should_restart
from retina_tui.sandbox.processes import Process
from retina_tui.sandbox.store import now_iso

BACKOFF_START: Final = 10.0
BACKOFF_MAX: Final = 300.0
ROOT_POLLS: Final = 400
ROOT_POLL_INTERVAL: Final = 0.005


class ContainerRunner:
    """Runs containers of pods as local processes and keeps their state up to date."""

    def __init__(
        self,
        network: Network,
        events: EventRecorder,
        write_status: Callable[[PodRuntime], None],
        *,
        start_delay: float,
        unpullable: str,
        rootfs: dict[str, Path],
    ) -> None:
        self.network = network
        self.events = events
        self.write_status = write_status
        self.start_delay = start_delay
        self.unpullable = unpullable
        self.rootfs = rootfs
        self.scratch: Path | None = None

    def _event(
        self, rt: PodRuntime, entry: ContainerRuntime, reason: str, message: str, *, warn: bool
    ) -> None:
        self.events.record(
            rt, reason, message, warning=warn, container=entry.name, ephemeral=entry.ephemeral
        )

    async def run(self, rt: PodRuntime, entry: ContainerRuntime) -> None:
        """The whole life of one container, until it ends for good or the pod goes."""
        await rt.network_ready.wait()
        policy = str((rt.pod.get("spec") or {}).get("restartPolicy") or "Always")
        backoff = BACKOFF_START
        if not entry.lazy:
            await asyncio.sleep(self.start_delay)
        if rt.terminating:
            return
        if self.unpullable and self.unpullable in entry.image:
            await self._never_pulled(rt, entry)
            return
        while not rt.terminating:
            code = await self._run_once(rt, entry)
            if rt.terminating or entry.ephemeral or not should_restart(policy, code):
                self.write_status(rt)
                return
            entry.last_state = {"terminated": entry.state["terminated"]}
            entry.state = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off {int(backoff)}s restarting failed container="
                    f"{entry.name} pod={rt.name}_{rt.namespace}({rt.uid})",
                }
            }
            self._event(
                rt,
                entry,
                "BackOff",
                f"Back-off restarting failed container {entry.name} in pod "
                f"{rt.name}_{rt.namespace}({rt.uid})",
                warn=True,
            )
            self.write_status(rt)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
            entry.restart_count += 1

    async def _never_pulled(self, rt: PodRuntime, entry: ContainerRuntime) -> None:
        message = runtime.pull_error(entry.image)
        entry.state = {"waiting": {"reason": "ErrImagePull", "message": message}}
        self._event(rt, entry, "Pulling", f'Pulling image "{entry.image}"', warn=False)
        self._event(rt, entry, "Failed", message, warn=True)
        self._event(rt, entry, "Failed", "Error: ErrImagePull", warn=True)
        self.write_status(rt)
        await asyncio.sleep(max(self.start_delay, 0.5))
        backoff = runtime.backoff_message(entry.image)
        entry.state = {"waiting": {"reason": "ImagePullBackOff", "message": backoff}}
        self._event(rt, entry, "BackOff", backoff, warn=False)
        self._event(rt, entry, "Failed", "Error: ImagePullBackOff", warn=True)
        self.write_status(rt)

    async def _run_once(self, rt: PodRuntime, entry: ContainerRuntime) -> int:
        """Start the container's process, report it running, wait for it; its exit code."""
        started = now_iso()
        entry.container_id = runtime.container_id()
        self._event(
            rt,
            entry,
            "Pulled",
            f'Container image "{entry.image}" already present on machine',
            warn=False,
        )
        try:
            process = await self._start_process(rt, entry)
        except (runtime.ImageNotRunnable, OSError) as error:
            message = runtime.start_error_message(str(error))
            entry.state = {
                "terminated": {
                    "exitCode": 128,
                    "reason": "StartError",
                    "message": message,
                    "startedAt": "1970-01-01T00:00:00Z",
                    "finishedAt": now_iso(),
                    "containerID": entry.container_id,
                }
            }
            self._event(rt, entry, "Failed", f"Error: {message}", warn=True)
            entry.started.set()
            return 128
        if runtime.rootfs_for(entry.image, self.rootfs) is not None:
            await _entered_root(process)
        entry.process = process
        entry.state = {"running": {"startedAt": started}}
        entry.started.set()
        self._event(rt, entry, "Created", f"Created container: {entry.name}", warn=False)
        self._event(rt, entry, "Started", f"Started container {entry.name}", warn=False)
        self.write_status(rt)
        try:
            code = await process.wait()
        finally:
            entry.logs = process.logs()
        entry.state = {
            "terminated": {
                "exitCode": code,
                "reason": "Completed" if code == 0 else "Error",
                "startedAt": started,
                "finishedAt": now_iso(),
                "containerID": entry.container_id,
            }
        }
        return code

    def launch(self, rt: PodRuntime, container: Obj, argv: list[str] | None) -> runtime.Launch:
        """How to start `argv` (None: the container's own command) in the container."""
        root = runtime.rootfs_for(str(container.get("image", "")), self.rootfs)
        env = runtime.container_env(rt.pod, container, pod_ip=rt.ip, host_ip=rt.host_ip)
        command = argv if argv is not None else runtime.container_command(container, env, root)
        prefix = self.network.exec_prefix(rt.node, None if rt.host_network else rt.key)
        hostname = rt.node if rt.host_network else rt.name
        return runtime.launch(
            command,
            env=env,
            hostname=hostname,
            netns_prefix=prefix,
            root=root,
            scratch=self._scratch() if root is not None else None,
            mounts=runtime.host_mounts(rt.pod, container),
        )

    def _scratch(self) -> Path:
        """A directory on which each rootfs container mounts its own private tmpfs."""
        if self.scratch is None:
            self.scratch = Path(tempfile.mkdtemp(prefix="retina-tui-rootfs-"))
        return self.scratch

    def close(self) -> None:
        """Remove the scratch directory (always empty as seen from the host)."""
        if self.scratch is not None:
            with contextlib.suppress(OSError):
                self.scratch.rmdir()
            self.scratch = None

    async def _start_process(self, rt: PodRuntime, entry: ContainerRuntime) -> Process:
        spec = entry.spec
        plan = self.launch(rt, spec, None)
        has_command = bool(spec.get("command") or spec.get("args"))
        return await Process.spawn(
            plan.argv,
            env=plan.env,
            cwd=plan.cwd,
            tty=bool(spec.get("tty")),
            stdin=bool(spec.get("stdin")) or not has_command,
            name=f"{rt.key}/{entry.name}",
            kill_session_on_exit=True,
        )


async def _entered_root(process: Process) -> None:
    """Wait until a rootfs container has chrooted, so that an exec can enter it."""
    link = Path(f"/proc/{process.pid}/root")
    for _ in range(ROOT_POLLS):
        try:
            if os.readlink(link) != "/" or not process.running:
                return
        except OSError:
            return
        await asyncio.sleep(ROOT_POLL_INTERVAL)
