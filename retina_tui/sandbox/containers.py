"""How the sandbox kubelet runs one container: image check, start, exit, restarts, events.

A container waits for its pod's network, then (after the start delay) either fails to
"pull" (an unpullable image: ErrImagePull then ImagePullBackOff, no process ever) or runs
its process; each exit is reported as terminated (Completed/Error) and, per the pod's
restartPolicy, restarted after a CrashLoopBackOff delay. Ephemeral containers never restart.
One whose hostPath volume cannot be set up waits, ContainerCreating, with FailedMount events.
As root every container is isolated (`isolation`) with the privileges its securityContext
gives (`security`); one that must not run as root but would stays waiting with the
kubelet's CreateContainerConfigError. Without root containers run unisolated, and the
sandbox says so once in its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from retina_tui.sandbox import isolation, runtime, security, windows
from retina_tui.sandbox.events import EventRecorder
from retina_tui.sandbox.logs import ContainerLog
from retina_tui.sandbox.network import Network
from retina_tui.sandbox.podstatus import ContainerRuntime, Obj, PodRuntime, should_restart
from retina_tui.sandbox.processes import Process
from retina_tui.sandbox.store import now_iso
from retina_tui.sandbox.volumes import PodVolumes

log = logging.getLogger("retina_tui.sandbox")

BACKOFF_START: Final = 10.0
BACKOFF_MAX: Final = 300.0
HOLDER_GRACE: Final = 1.0
MOUNT_RETRY: Final = 2.0
RUN_DIR_PREFIX: Final = "retina-tui-containers-"


class ContainerRunner:
    """Runs containers of pods as local processes and keeps their state up to date."""

    def __init__(
        self,
        network: Network,
        events: EventRecorder,
        write_status: Callable[[PodRuntime], None],
        *,
        start_delay: float,
        restart_backoff: float = 10.0,
        unpullable: str,
        rootfs: dict[str, Path],
    ) -> None:
        self.network = network
        self.events = events
        self.write_status = write_status
        self.start_delay = start_delay
        self.restart_backoff = restart_backoff
        self.unpullable = unpullable
        self.rootfs = rootfs
        self.isolated = isolation.available()
        self._base: Path | None = None
        self._volumes: PodVolumes | None = None
        if not self.isolated:
            why = "not running as root" if not runtime.is_root() else "missing "
            why += ", ".join(isolation.missing_tools()) if runtime.is_root() else ""
            log.warning(
                "containers are not isolated (%s): securityContext (capabilities, runAsUser, "
                "runAsNonRoot, readOnlyRootFilesystem), PID namespaces and private "
                "filesystems are not enforced, and containers see this machine's files",
                why,
            )

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
        backoff = self.restart_backoff
        if not entry.lazy:
            await asyncio.sleep(self.start_delay)
        if rt.terminating:
            return
        if self.unpullable and self.unpullable in entry.image:
            await self._never_pulled(rt, entry)
            return
        if rt.windows:
            error = windows.config_error(rt.pod, entry.spec)
        else:
            error = security.config_error(rt.pod, entry.spec) if self.isolated else None
        if error is not None:
            self._config_error(rt, entry, error)
            return
        if self.isolated and not await self._volumes_ready(rt, entry):
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

    async def _volumes_ready(self, rt: PodRuntime, entry: ContainerRuntime) -> bool:
        """Until its volumes can be set up the container stays ContainerCreating, with a
        FailedMount warning per try, as the kubelet retries; False if the pod goes first."""
        while (message := self.volumes.setup_error(rt.pod, entry.spec)) is not None:
            entry.state = {"waiting": {"reason": "ContainerCreating"}}
            self.events.record(rt, "FailedMount", message, warning=True)
            self.write_status(rt)
            await asyncio.sleep(MOUNT_RETRY)
            if rt.terminating:
                return False
        return True

    def _pulled(self, rt: PodRuntime, entry: ContainerRuntime) -> None:
        message = f'Container image "{entry.image}" already present on machine'
        self._event(rt, entry, "Pulled", message, warn=False)

    def _config_error(self, rt: PodRuntime, entry: ContainerRuntime, message: str) -> None:
        """The container cannot be created as asked: it stays waiting, as the kubelet keeps it."""
        entry.state = {"waiting": {"reason": "CreateContainerConfigError", "message": message}}
        self._pulled(rt, entry)
        self._event(rt, entry, "Failed", f"Error: {message}", warn=True)
        entry.started.set()
        self.write_status(rt)

    async def _run_once(self, rt: PodRuntime, entry: ContainerRuntime) -> int:
        """Start the container's process, report it running, wait for it; its exit code."""
        started = now_iso()
        if entry.container_id:  # a restart: the last run's output becomes the previous log
            entry.previous_log, entry.log = entry.log, ContainerLog()
        entry.container_id = runtime.container_id()
        self._pulled(rt, entry)
        if rt.windows:
            mismatch = windows.start_error(rt.pod, entry.spec, rt.windows_build, entry.container_id)
            if mismatch is not None:
                return self._start_failed(rt, entry, mismatch)
        try:
            process = await self._start_process(rt, entry)
        except (runtime.ImageNotRunnable, OSError) as error:
            return self._start_failed(rt, entry, runtime.start_error_message(str(error)))
        entry.process = process  # from now on a pod teardown finds it and stops it
        try:
            if self.isolated:
                entry.init_pid = await isolation.container_init(
                    process.pid, lambda: process.running
                )
        except asyncio.CancelledError:  # the pod went while its container was starting
            await process.close()
            raise
        entry.state = {"running": {"startedAt": started}}
        entry.started.set()
        self._event(rt, entry, "Created", f"Created container: {entry.name}", warn=False)
        self._event(rt, entry, "Started", f"Started container {entry.name}", warn=False)
        self.write_status(rt)
        try:
            code = await process.wait()
        except asyncio.CancelledError:  # a teardown that began before the process existed
            await process.close()
            raise
        finally:
            entry.init_pid = None
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

    def _start_failed(self, rt: PodRuntime, entry: ContainerRuntime, message: str) -> int:
        """The container could not start: terminated with StartError, exit code 128."""
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

    def _base_dir(self) -> Path:
        if self._base is None:
            remove_dead_runs()
            prefix = f"{RUN_DIR_PREFIX}{os.getpid()}-"
            self._base = Path(tempfile.mkdtemp(prefix=prefix))
            (self._base / "scratch").mkdir()
        return self._base

    @property
    def scratch(self) -> Path:
        """The mount point of each container's own tmpfs (always empty seen from the host)."""
        return self._base_dir() / "scratch"

    @property
    def volumes(self) -> PodVolumes:
        if self._volumes is None:
            self._volumes = PodVolumes(self._base_dir() / "volumes")
        return self._volumes

    def _pid_namespace(self, rt: PodRuntime, container: Obj) -> isolation.PidNamespace:
        """Kubernetes' rule: the host's, the pod's shared one, the target's, else its own."""
        if (rt.pod.get("spec") or {}).get("hostPID"):
            return isolation.PidNamespace(host=True)
        if rt.pid_holder_init is not None:
            return isolation.PidNamespace(join=rt.pid_holder_init)
        target = rt.containers.get(str(container.get("targetContainerName") or ""))
        if target is not None and target.running and target.init_pid is not None:
            return isolation.PidNamespace(join=target.init_pid)
        return isolation.PidNamespace()

    def _environment(
        self, rt: PodRuntime, container: Obj, root: Path | None
    ) -> tuple[security.SecurityPlan, dict[str, str]]:
        plan = security.plan(rt.pod, container)
        home = runtime.home_for(root, plan.uid) if self.isolated else "/root"
        env = runtime.container_env(rt.pod, container, pod_ip=rt.ip, host_ip=rt.host_ip, home=home)
        return plan, env

    def launch(
        self, rt: PodRuntime, container: Obj, argv: Sequence[str] | None, *, tty: bool = False
    ) -> runtime.Launch:
        """How to start `argv` (None: the container's own command) as a new container process.

        `tty`: whether `argv` runs under a terminal (the container's own command: its spec).

        Raises ImageNotRunnable when the program does not exist where it would run.
        """
        root = runtime.rootfs_for(str(container.get("image", "")), self.rootfs)
        plan, env = self._environment(rt, container, root)
        command = (
            list(argv) if argv is not None else runtime.container_command(container, env, root)
        )
        if rt.windows:
            command, env = windows.simulate(
                command, env, node=rt.node, pod=rt.pod, container=container
            )
        program = runtime.resolve(command[0], root, env["PATH"]) if command else None
        if program is None:
            raise runtime.not_runnable(command[0] if command else "")
        prefix = self.network.exec_prefix(rt.node, None if rt.host_network else rt.network_key)
        if not self.isolated:
            return runtime.Launch([*prefix, *command], env, "/")
        hostname = rt.node if rt.host_network else rt.name
        fs = isolation.Filesystem(
            lower=root or Path("/"),
            hostname=hostname,
            hosts=isolation.hosts_file(rt.ip, hostname),
            resolv=isolation.resolv_conf(rt.pod),
            read_only=plan.read_only_root,
            privileged=plan.privileged,
            mounts=self.volumes.mounts(rt.pod, container),
        )
        pid = self._pid_namespace(rt, container)
        argv = isolation.container_argv(
            program,
            command[1:],
            scratch=self.scratch,
            fs=fs,
            security=plan,
            pid=pid,
            tty=bool(container.get("tty")) if argv is None else tty,
        )
        return runtime.Launch([*prefix, *argv], env, "/")

    def exec_launch(
        self, rt: PodRuntime, entry: ContainerRuntime, argv: list[str], *, tty: bool
    ) -> runtime.Launch:
        """How to run `argv` in a running container: its namespaces, root, identity and caps.

        A container without a process of its own (a synthetic pod's) runs it as a new one.
        """
        init = entry.init_pid
        if not self.isolated or init is None or not entry.running:
            return self.launch(rt, entry.spec, argv, tty=tty)
        root = runtime.rootfs_for(entry.image, self.rootfs)
        plan, env = self._environment(rt, entry.spec, root)
        if rt.windows:
            argv, env = windows.simulate(argv, env, node=rt.node, pod=rt.pod, container=entry.spec)
        program = runtime.resolve(argv[0], Path(f"/proc/{init}/root"), env["PATH"])
        if program is None:
            raise runtime.not_runnable(argv[0])
        own_terminal = tty and not (rt.pod.get("spec") or {}).get("hostPID")
        command = isolation.exec_argv(
            init, program, argv[1:], scratch=self.scratch, security=plan, own_terminal=own_terminal
        )
        return runtime.Launch(command, env, "/")

    async def prepare_pod(self, rt: PodRuntime) -> None:
        """Start the holder of the pod's shared PID namespace, when it asks for one."""
        spec = rt.pod.get("spec") or {}
        if not self.isolated or not spec.get("shareProcessNamespace") or spec.get("hostPID"):
            return
        holder = await Process.spawn(
            isolation.holder_argv(),
            env={"PATH": runtime.STANDARD_PATH},
            stdin=False,
            name=f"{rt.key}/pause",
            kill_session_on_exit=True,
        )
        rt.pid_holder = holder
        rt.pid_holder_init = await isolation.holder_init(holder.pid, lambda: holder.running)

    async def release_pod(self, rt: PodRuntime) -> None:
        """Once the pod's containers are gone: stop its PID namespace holder, drop its volumes."""
        holder, rt.pid_holder, rt.pid_holder_init = rt.pid_holder, None, None
        if holder is not None:
            await holder.terminate(HOLDER_GRACE)
            await holder.close()
        if self._volumes is not None:
            self._volumes.remove(rt.uid)

    def close(self) -> None:
        """Remove the sandbox's directory (its processes are gone, so nothing is mounted)."""
        if self._volumes is not None:
            self._volumes.close()
            self._volumes = None
        if self._base is not None:
            with contextlib.suppress(OSError):
                (self._base / "scratch").rmdir()
                self._base.rmdir()
            self._base = None

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
            log=entry.log,
            hold_early=bool(spec.get("stdin") or spec.get("tty")),
        )


def remove_dead_runs() -> None:
    """Remove the directories that sandboxes killed outright left (never a live one's)."""
    for path in Path(tempfile.gettempdir()).glob(f"{RUN_DIR_PREFIX}*-*"):
        owner = path.name[len(RUN_DIR_PREFIX) :].split("-", 1)[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            shutil.rmtree(path, ignore_errors=True)
