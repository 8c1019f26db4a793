"""What the sandbox kubelet knows about each pod it runs, and the pod status it derives from it.

The kubelet keeps one `PodRuntime` per pod (network address, container processes, exec'd
processes) and writes `status` from it: phase, conditions, podIP/hostIP,
containerStatuses and ephemeralContainerStatuses, shaped as a real kubelet reports them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from retina_tui.sandbox.logs import ContainerLog
from retina_tui.sandbox.processes import Process

Obj = dict[str, Any]

SYNTHETIC_ANNOTATION = "sandbox.retina-tui.io/synthetic"


@dataclass(eq=False)
class ContainerRuntime:
    """One container (regular or ephemeral) of a pod and its current process."""

    spec: Obj
    ephemeral: bool
    state: Obj = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: Obj = field(default_factory=dict)
    restart_count: int = 0
    container_id: str = ""
    process: Process | None = None
    init_pid: int | None = None  # the container's own first process, inside its namespaces
    log: ContainerLog = field(default_factory=ContainerLog)
    """The output of the current (or last) run."""
    previous_log: ContainerLog | None = None
    """The output of the run before it, for `previous=true`."""
    lazy: bool = False
    started: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return str(self.spec.get("name", ""))

    @property
    def image(self) -> str:
        return str(self.spec.get("image", ""))

    @property
    def running(self) -> bool:
        return "running" in self.state

    @property
    def terminated(self) -> Obj | None:
        value = self.state.get("terminated")
        return value if isinstance(value, dict) else None

    def status(self) -> Obj:
        status: Obj = {
            "name": self.name,
            "image": self.image,
            "imageID": "",
            "ready": self.running and not self.ephemeral,
            "restartCount": self.restart_count,
            "state": self.state,
            "lastState": self.last_state,
        }
        if not self.ephemeral:
            status["started"] = self.running
        if self.container_id:
            status["containerID"] = self.container_id
        return status


@dataclass(eq=False)
class PodRuntime:
    """A pod the kubelet runs: its address, containers and exec'd processes.

    `failure` is the (reason, message) of a pod the kubelet failed (its deadline passed).
    """

    namespace: str
    name: str
    uid: str
    node: str
    host_network: bool
    synthetic: bool
    pod: Obj
    containers: dict[str, ContainerRuntime] = field(default_factory=dict)
    ephemeral: dict[str, ContainerRuntime] = field(default_factory=dict)
    ip: str = ""
    host_ip: str = ""
    start_time: str = ""
    network_ready: asyncio.Event = field(default_factory=asyncio.Event)
    execs: set[Process] = field(default_factory=set)
    exec_sessions: set[int] = field(default_factory=set)
    terminating: bool = False
    deleting: bool = False
    failure: tuple[str, str] | None = None
    setup: asyncio.Task[None] | None = None
    pid_holder: Process | None = None  # holds the shared PID namespace (shareProcessNamespace)
    pid_holder_init: int | None = None
    windows: bool = False
    """Its node is a (simulated) Windows node."""
    windows_build: int | None = None
    """That node's Windows build (its kernel version's), if it says."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def network_key(self) -> str:
        """Its network's name: a pod recreated under the same name gets a network of its own,
        never the one its predecessor's teardown is removing."""
        return f"{self.namespace}/{self.name}/{self.uid}"

    def all_containers(self) -> list[ContainerRuntime]:
        return [*self.containers.values(), *self.ephemeral.values()]

    def processes(self) -> list[Process]:
        found = [c.process for c in self.all_containers() if c.process is not None]
        return [p for p in [*found, *self.execs] if p.running]


def is_synthetic(pod: Obj) -> bool:
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    return annotations.get(SYNTHETIC_ANNOTATION) == "true"


def should_restart(policy: str, exit_code: int) -> bool:
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


def pod_phase(runtime: PodRuntime) -> str:
    """Pending until every container started once; Succeeded/Failed once all ended for good."""
    containers = list(runtime.containers.values())
    policy = str((runtime.pod.get("spec") or {}).get("restartPolicy") or "Always")
    ended = [c.terminated for c in containers]
    if containers and all(
        t is not None and not should_restart(policy, int(t.get("exitCode", 0))) for t in ended
    ):
        return "Succeeded" if all(t and t.get("exitCode") == 0 for t in ended) else "Failed"
    if all(c.running or c.terminated or c.last_state for c in containers):
        return "Running"
    return "Pending"


def _condition(kind: str, value: bool, previous: dict[str, Obj], now: str) -> Obj:
    status = "True" if value else "False"
    old = previous.get(kind)
    since = old.get("lastTransitionTime") if old and old.get("status") == status else now
    return {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": since}


def build_status(runtime: PodRuntime, current: Obj, now: str) -> Obj:
    """The full pod status for `runtime`, keeping transition times that did not change."""
    previous = {
        c.get("type", ""): c for c in current.get("conditions") or [] if isinstance(c, dict)
    }
    regular = list(runtime.containers.values())
    ready = bool(regular) and all(c.running for c in regular) and runtime.failure is None
    phase = pod_phase(runtime) if runtime.failure is None else "Failed"
    sandbox = runtime.network_ready.is_set() and phase not in ("Succeeded", "Failed")
    status: Obj = {
        "phase": phase,
        "qosClass": current.get("qosClass", "BestEffort"),
        "conditions": [
            _condition("PodReadyToStartContainers", sandbox, previous, now),
            _condition("Initialized", True, previous, now),
            _condition("Ready", ready, previous, now),
            _condition("ContainersReady", ready, previous, now),
            _condition("PodScheduled", True, previous, now),
        ],
        "containerStatuses": [c.status() for c in regular],
    }
    if runtime.failure is not None:
        status["reason"], status["message"] = runtime.failure
    if runtime.host_ip:
        status["hostIP"] = runtime.host_ip
        status["hostIPs"] = [{"ip": runtime.host_ip}]
    if runtime.ip:
        status["podIP"] = runtime.ip
        status["podIPs"] = [{"ip": runtime.ip}]
    if runtime.start_time:
        status["startTime"] = runtime.start_time
    if runtime.ephemeral:
        status["ephemeralContainerStatuses"] = [c.status() for c in runtime.ephemeral.values()]
    return status


def adopt_container_status(container: ContainerRuntime, pod: Obj) -> None:
    """Start from what the pod's status already says (synthetic pods are born running)."""
    status = pod.get("status") or {}
    for entry in status.get("containerStatuses") or []:
        if isinstance(entry, dict) and entry.get("name") == container.name:
            container.state = entry.get("state") or container.state
            container.last_state = entry.get("lastState") or {}
            container.restart_count = int(entry.get("restartCount") or 0)
            container.container_id = str(entry.get("containerID") or "")
