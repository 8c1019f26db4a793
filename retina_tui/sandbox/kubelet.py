"""The sandbox kubelet: runs every scheduled pod's containers as real local processes.

It watches pods in the store. A new pod gets its network (a namespace with an address on
its node, or the node's own for hostNetwork), then after `options.start_delay` each
container's process; status goes ContainerCreating -> running -> terminated and is
written back so watchers see it. Ephemeral containers start when they appear in the spec.
Synthetic pods (created in bulk by the seed) get no process nor namespace until something
execs or attaches. A pod marked for deletion has its processes stopped (SIGTERM, SIGKILL
after the grace period) and its namespace removed before the kubelet removes it. A pod
past its activeDeadlineSeconds is stopped the same way but kept, Failed (deadlines.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
from collections.abc import Coroutine
from typing import Any, Final

from aiohttp import web

from retina_tui.errors import RetinaTuiError
from retina_tui.sandbox import (
    deadlines,
    forwarding,
    netns_socket,
    podlogs,
    portforward,
    runtime,
    windows,
)
from retina_tui.sandbox.containers import BACKOFF_START, ContainerRunner
from retina_tui.sandbox.errors import ApiError, bad_request, not_found
from retina_tui.sandbox.events import EventRecorder
from retina_tui.sandbox.network import Network
from retina_tui.sandbox.podstatus import (
    ContainerRuntime,
    Obj,
    PodRuntime,
    adopt_container_status,
    build_status,
    is_synthetic,
)
from retina_tui.sandbox.processes import Process, Sink, session_members, signal_session
from retina_tui.sandbox.store import Store, now_iso
from retina_tui.sandbox.streams import SpawnError, StreamParams, StreamRegistry, serve

log = logging.getLogger("retina_tui.sandbox")

STOP_GRACE: Final = 1.0
STREAM_WAIT: Final = 30.0


class Kubelet:
    """Runs the pods of every node of the sandbox."""

    def __init__(self, store: Store, network: Network, options: Any) -> None:
        self.store = store
        self.network = network
        self.events = EventRecorder(store)
        self.runner = ContainerRunner(
            network,
            self.events,
            self._write_status,
            start_delay=float(getattr(options, "start_delay", 0.3)),
            restart_backoff=float(getattr(options, "restart_backoff", BACKOFF_START)),
            unpullable=str(getattr(options, "unpullable_pattern", "does-not-exist")),
            rootfs=dict(getattr(options, "rootfs", None) or {}),
        )
        self.stop_grace = float(getattr(options, "stop_grace", STOP_GRACE))
        self.tunnel = bool(getattr(options, "portforward_tunnel", True))
        """Port-forward offers kubectl's WebSocket tunnel of SPDY (Kubernetes 1.30 and later)."""
        self._pods: dict[tuple[str, str], PodRuntime] = {}
        self._deadlines = deadlines.DeadlineTimers(self._deadline_passed)
        self._streams = StreamRegistry()
        self._log_streams = podlogs.LogStreams()
        self._forwards = portforward.ForwardRegistry()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watch_task: asyncio.Task[None] | None = None
        self._stopping = False

    # lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Adopt the pods already stored and follow every change from now on."""
        watcher = self.store.watch("pods")
        for pod in self.store.list("pods"):
            self._observe("ADDED", pod)
        self._watch_task = asyncio.create_task(self._watch(watcher), name="sandbox-kubelet-watch")

    async def stop(self) -> None:
        """Cut the streams and kill every process (short grace); the store is left alone."""
        self._stopping = True
        if self._watch_task is not None:
            self._watch_task.cancel()
            await asyncio.gather(self._watch_task, return_exceptions=True)
        await self._deadlines.close()
        self._streams.drop_all()
        self._log_streams.drop_all()
        self._forwards.drop_all()
        runtimes = list(self._pods.values())
        self._pods.clear()
        await asyncio.gather(
            *(self._teardown(rt, self.stop_grace) for rt in runtimes), return_exceptions=True
        )
        self.runner.close()
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def drop_streams(self) -> int:
        """Close every exec/attach/port-forward stream and log follow abruptly; processes
        keep running."""
        return self._streams.drop_all() + self._log_streams.drop_all() + self._forwards.drop_all()

    async def handle_portforward(
        self, request: web.Request, namespace: str, pod: str
    ) -> web.StreamResponse:
        """`pods/portforward`: TCP connections to localhost in the pod's network."""
        rt = await self._forward_target(namespace, pod)
        target = forwarding.ForwardTarget(
            *self._pod_netns(rt), sandbox_id=hashlib.sha256(rt.uid.encode()).hexdigest()
        )
        return await portforward.serve(request, target, self._forwards, tunnel=self.tunnel)

    async def _forward_target(self, namespace: str, name: str) -> PodRuntime:
        pod = self.store.get("pods", namespace, name)
        if pod is None:
            raise not_found("pods", name)
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        if not spec.get("nodeName"):
            raise bad_request(f"pod {name} does not have a host assigned")
        rt = self._pods.get((namespace, name))
        if rt is None and is_synthetic(pod) and not self._stopping:
            rt = self._adopt(pod)
        gone = status.get("phase") in ("Succeeded", "Failed")
        if rt is None or rt.terminating or gone:
            raise bad_request(f'unable to upgrade connection: pod not found ("{name}_{namespace}")')
        try:
            async with asyncio.timeout(STREAM_WAIT):
                await rt.network_ready.wait()
        except TimeoutError:
            raise ApiError(
                500, "InternalError", f"pod {name} did not get its network in time"
            ) from None
        return rt

    def _pod_netns(self, rt: PodRuntime) -> tuple[str | None, str]:
        """The namespace a pod's forwarded connections start in, and its name in messages."""
        if rt.host_network:
            return self.network.node_netns(rt.node), "host"
        netns = self.network.pod_netns(rt.network_key)
        return netns, (f"{netns_socket.NETNS_DIR}/{netns}" if netns else "host")

    async def handle_logs(
        self, request: web.Request, namespace: str, pod: str, container: str
    ) -> web.StreamResponse:
        """`pods/log` for a container the API server has already checked the pod has."""
        query, follow, previous = podlogs.read_query(request)
        rt = self._pods.get((namespace, pod))
        entry = rt and (rt.containers.get(container) or rt.ephemeral.get(container))
        if not entry:
            raise bad_request(
                f'container "{container}" in pod "{pod}" is waiting to start: ContainerCreating'
            )
        log = podlogs.choose_log(entry, pod, previous=previous)
        if not previous and entry.process is not None:
            entry.process.output_read(follow=follow)  # `kubectl run` reads it, then attaches
        return await self._log_streams.serve(
            request, log, query, follow=follow, stopping=lambda: self._stopping
        )

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("kubelet task %s failed", task.get_name(), exc_info=task.exception())

    async def _watch(self, watcher: Any) -> None:
        try:
            while True:
                async for kind, obj in watcher:
                    self._observe(kind, obj)
                if not watcher.overflowed or self._stopping:
                    return
                watcher = self.store.watch("pods")
                present = set()
                for pod in self.store.list("pods"):
                    present.add(_key(pod))
                    self._observe("MODIFIED", pod)
                for key, rt in list(self._pods.items()):
                    if key not in present:
                        self._forget(rt)
        finally:
            watcher.close()

    # reacting to pods ------------------------------------------------------------------

    def _observe(self, kind: str, pod: Obj) -> None:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        key = _key(pod)
        rt = self._pods.get(key)
        if rt is not None and rt.uid != meta.get("uid"):
            self._forget(rt)
            rt = None
        if kind == "DELETED":
            self._deadlines.forget(*key)
            if rt is not None:
                self._forget(rt)
            return
        if self._stopping or not spec.get("nodeName"):
            return
        deleting = bool(meta.get("deletionTimestamp"))
        self._deadlines.follow(pod)
        if rt is None:
            if deleting:
                self._remove(key, meta.get("uid"))
                return
            if is_synthetic(pod) and not spec.get("ephemeralContainers"):
                return
            rt = self._adopt(pod)
        rt.pod = pod
        if deleting:
            if not rt.deleting:
                rt.deleting = rt.terminating = True
                self._spawn(self._terminate(rt), f"sandbox-kubelet-delete-{rt.key}")
            return
        added = False
        for container in spec.get("ephemeralContainers") or []:
            if isinstance(container, dict) and container.get("name") not in rt.ephemeral:
                entry = ContainerRuntime(container, ephemeral=True)
                rt.ephemeral[entry.name] = entry
                self._run(rt, entry)
                added = True
        if added and rt.network_ready.is_set():
            self._write_status(rt)

    def _adopt(self, pod: Obj) -> PodRuntime:
        meta, spec = pod["metadata"], pod["spec"]
        rt = PodRuntime(
            namespace=meta.get("namespace", ""),
            name=meta["name"],
            uid=meta.get("uid", ""),
            node=spec["nodeName"],
            host_network=bool(spec.get("hostNetwork")),
            synthetic=is_synthetic(pod),
            pod=pod,
        )
        node = self.store.get("nodes", None, rt.node)
        if windows.is_windows_node(node):
            rt.windows, rt.windows_build = True, windows.node_build(node)
        for container in spec.get("containers") or []:
            entry = ContainerRuntime(container, ephemeral=False, lazy=rt.synthetic)
            if rt.synthetic:
                adopt_container_status(entry, pod)
            rt.containers[entry.name] = entry
        self._pods[(rt.namespace, rt.name)] = rt
        rt.setup = self._spawn(self._setup(rt), f"sandbox-kubelet-setup-{rt.key}")
        return rt

    async def _setup(self, rt: PodRuntime) -> None:
        try:
            rt.host_ip = self.network.node_ip(rt.node)
            if rt.host_network:
                rt.ip = rt.host_ip
            else:
                rt.ip = await self.network.add_pod(rt.node, rt.network_key)
        except RetinaTuiError as error:
            log.warning("pod %s gets no network: %s", rt.key, error)
            return
        try:
            await self.runner.prepare_pod(rt)
        except OSError as error:
            log.warning("pod %s gets no shared PID namespace: %s", rt.key, error)
        rt.start_time = rt.start_time or now_iso()
        rt.network_ready.set()
        if rt.terminating:
            return
        self._write_status(rt)
        if not rt.synthetic:
            for entry in rt.containers.values():
                self._run(rt, entry)

    def _run(self, rt: PodRuntime, entry: ContainerRuntime) -> None:
        entry.task = self._spawn(
            self.runner.run(rt, entry), f"sandbox-kubelet-container-{rt.key}/{entry.name}"
        )

    def _write_status(self, rt: PodRuntime) -> None:
        if self._stopping or self._pods.get((rt.namespace, rt.name)) is not rt:
            return

        def update(pod: Obj) -> None:
            if (pod.get("metadata") or {}).get("uid") == rt.uid:
                pod["status"] = build_status(rt, pod.get("status") or {}, now_iso())

        with contextlib.suppress(ApiError):
            self.store.mutate("pods", rt.namespace, rt.name, update)

    # deletion --------------------------------------------------------------------------

    def _remove(self, key: tuple[str, str], uid: str | None) -> None:
        self.events.forget(key[0], uid or "")
        current = self.store.get("pods", *key)
        if current is not None and (current.get("metadata") or {}).get("uid") == uid:
            with contextlib.suppress(ApiError):
                self.store.remove("pods", *key)

    def _forget(self, rt: PodRuntime) -> None:
        """The pod is gone from the store (or replaced): stop everything at once."""
        if self._pods.get((rt.namespace, rt.name)) is rt:
            del self._pods[(rt.namespace, rt.name)]
        rt.terminating = True
        self._spawn(self._teardown(rt, 0.0), f"sandbox-kubelet-forget-{rt.key}")

    async def _terminate(self, rt: PodRuntime) -> None:
        meta, spec = rt.pod.get("metadata") or {}, rt.pod.get("spec") or {}
        grace = meta.get("deletionGracePeriodSeconds")
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds", 30)
        await self._stop_containers(rt, float(grace))
        if self._pods.get((rt.namespace, rt.name)) is rt:
            del self._pods[(rt.namespace, rt.name)]
            self._remove((rt.namespace, rt.name), rt.uid)

    async def _stop_containers(self, rt: PodRuntime, grace: float) -> None:
        """Record a Killing event per running container, then tear the pod down."""
        for entry in rt.all_containers():
            if entry.running and entry.process is not None:
                message = f"Stopping container {entry.name}"
                self.events.record(
                    rt, "Killing", message, container=entry.name, ephemeral=entry.ephemeral
                )
        await self._teardown(rt, grace, write=True)

    def _deadline_passed(self, namespace: str, name: str, uid: str) -> None:
        rt = self._pods.get((namespace, name))
        if rt is None or rt.uid != uid:
            deadlines.fail_unrun(self.store, self.events, namespace, name, uid)
        elif not rt.terminating and rt.failure is None:
            deadlines.mark_exceeded(rt, self.events)
            self._write_status(rt)
            self._spawn(self._expire(rt), f"sandbox-kubelet-expire-{rt.key}")

    async def _expire(self, rt: PodRuntime) -> None:
        """Stop a pod past its deadline as on deletion, but keep it, Failed."""
        grace = (rt.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        await self._stop_containers(rt, float(grace))
        deadlines.settle(rt, now_iso())
        self._write_status(rt)

    async def _teardown(self, rt: PodRuntime, grace: float, *, write: bool = False) -> None:
        """Stop every process of the pod, then release its network."""
        rt.terminating = True
        if rt.setup is not None:  # let a network setup in flight finish, then undo it
            await asyncio.wait({rt.setup})
        processes = rt.processes()
        for sid in rt.exec_sessions:  # what exec'd commands left behind in the background
            signal_session(sid, signal.SIGTERM)
        await asyncio.gather(*(p.terminate(grace) for p in processes), return_exceptions=True)
        for sid in rt.exec_sessions:
            signal_session(sid, signal.SIGKILL)
        tasks = [c.task for c in rt.all_containers() if c.task is not None and not c.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for process in [*processes, *rt.execs]:
            await process.close()
        await self.runner.release_pod(rt)
        if write:
            self._write_status(rt)
        if not rt.host_network:
            try:
                await self.network.remove_pod(rt.network_key)
            except RetinaTuiError as error:
                log.warning("could not remove the network of pod %s: %s", rt.key, error)

    # exec and attach -------------------------------------------------------------------

    @staticmethod
    def _exec_ended(rt: PodRuntime, process: Process) -> None:
        rt.execs.discard(process)
        if not session_members(process.pid):
            rt.exec_sessions.discard(process.pid)

    async def _stream_target(
        self, namespace: str, name: str, wanted: str | None, verb: str
    ) -> tuple[PodRuntime, ContainerRuntime]:
        pod = self.store.get("pods", namespace, name)
        if pod is None:
            raise not_found("pods", name)
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        regular = [str(c.get("name")) for c in spec.get("containers") or []]
        ephemeral = [str(c.get("name")) for c in spec.get("ephemeralContainers") or []]
        if wanted is None:
            if len(regular) != 1:
                raise bad_request(
                    f"a container name must be specified for pod {name}, "
                    f"choose one of: [{' '.join(regular)}] or one of the ephemeral containers: "
                    f"[{' '.join(ephemeral)}]"
                )
            wanted = regular[0]
        if wanted not in regular and wanted not in ephemeral:
            raise bad_request(f"container {wanted} is not valid for pod {name}")
        phase = status.get("phase")
        if phase in ("Succeeded", "Failed"):
            what = "exec into" if verb == "exec" else "attach"
            raise bad_request(
                f"cannot {what} a container in a completed pod; current phase is {phase}"
            )
        rt = self._pods.get((namespace, name))
        if rt is None and is_synthetic(pod) and spec.get("nodeName") and not self._stopping:
            rt = self._adopt(pod)
        if rt is None or rt.terminating:
            raise bad_request(f'unable to upgrade connection: container not found ("{wanted}")')
        try:
            async with asyncio.timeout(STREAM_WAIT):
                await rt.network_ready.wait()
                entry = rt.containers.get(wanted) or rt.ephemeral[wanted]
                if verb == "attach" and entry.lazy and entry.process is None:
                    if entry.task is None:
                        self._run(rt, entry)
                    await entry.started.wait()
        except TimeoutError:
            raise ApiError(
                500, "InternalError", f"pod {name} did not get its network in time"
            ) from None
        if verb == "attach" and entry.process is not None and entry.process.holds_output:
            return rt, entry  # ended, but what it wrote is still unread, as in a pty
        if not entry.running or (verb == "attach" and entry.process is None):
            raise bad_request(f'unable to upgrade connection: container not found ("{wanted}")')
        return rt, entry

    async def handle_exec(
        self, request: web.Request, namespace: str, pod: str
    ) -> web.StreamResponse:
        """Run `?command=...` in the pod's network, streamed over a WebSocket."""
        params = StreamParams.from_request(request)
        if not params.command:
            raise bad_request("you must specify at least one command for the container")
        rt, entry = await self._stream_target(namespace, pod, params.container, "exec")
        argv = list(params.command)

        async def start(sink: Sink) -> Process:
            try:
                plan = self.runner.exec_launch(rt, entry, argv, tty=params.tty)
            except runtime.ImageNotRunnable as error:
                raise SpawnError(runtime.exec_error_message(str(error))) from None
            env = dict(plan.env)
            if params.tty:
                env.setdefault("TERM", "xterm")
            try:
                process = await Process.spawn(
                    plan.argv,
                    env=env,
                    cwd=plan.cwd,
                    tty=params.tty,
                    stdin=params.stdin,
                    name=f"{rt.key}/{entry.name}/exec",
                    sink=sink,
                )
            except OSError as error:
                raise SpawnError(runtime.exec_error_message(str(error))) from None
            rt.execs.add(process)
            rt.exec_sessions.add(process.pid)
            process.add_exit_callback(lambda ended: self._exec_ended(rt, ended))
            return process

        return await serve(
            request, self._streams, "exec", params, start, command_text=" ".join(argv)
        )

    async def handle_attach(
        self, request: web.Request, namespace: str, pod: str
    ) -> web.StreamResponse:
        """Attach a WebSocket to a running container's terminal or pipes."""
        params = StreamParams.from_request(request)
        _, entry = await self._stream_target(namespace, pod, params.container, "attach")
        process = entry.process
        assert process is not None

        async def start(sink: Sink) -> Process:
            process.subscribe(sink)
            return process

        def stdin_closed(target: Process) -> None:
            if entry.spec.get("stdinOnce"):
                target.close_stdin()

        return await serve(
            request, self._streams, "attach", params, start, on_stdin_closed=stdin_closed
        )


def _key(pod: Obj) -> tuple[str, str]:
    meta = pod.get("metadata") or {}
    return (meta.get("namespace") or "", meta.get("name") or "")
