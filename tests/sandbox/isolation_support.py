"""Helpers for the tests of container isolation: a root-only netns sandbox, pods, capabilities."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

from retina_tui.sandbox import SandboxOptions
from retina_tui.validation.capabilities import LINUX_CAPABILITIES
from tests.sandbox.apiclient import pod_body
from tests.sandbox.kubelet_support import ExecResult, container_state, exec_in, wait_pod

PODS = "/api/v1/namespaces/default/pods"
requires_isolation = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("capsh") is None or shutil.which("ip") is None,
    reason="container isolation needs root, capsh (libcap2-bin) and iproute2",
)
# containerd's default set, written out here so that the runtime's own table is checked.
RUNTIME_DEFAULT = {
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
    "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
}  # fmt: skip


def netns_options() -> Any:
    """Pods in network namespaces of their own, so that NET_ADMIN never touches this machine."""
    return SandboxOptions(nodes=1, pods=0, network="netns", kubelet=True, start_delay=0.0)


def with_command(name: str, script: str, **spec: Any) -> dict[str, Any]:
    body = pod_body(name, **spec)
    body["spec"]["containers"][0]["command"] = ["sh", "-c", script]
    return body


async def start(sandbox: Any, api: Any, body: dict[str, Any], state: str = "running") -> None:
    """Create the pod and wait until its first container is in `state`."""
    answer = await api.post(PODS, body)
    assert answer.status == 201, answer.text
    name = body["metadata"]["name"]
    first = body["spec"]["containers"][0]["name"]
    pod = await wait_pod(
        sandbox.store, "default", name, lambda p: container_state(p, first) in (state, "gone")
    )
    assert container_state(pod, first) == state, pod


async def run(sandbox: Any, pod: str, script: str, container: str | None = None) -> ExecResult:
    return await exec_in(sandbox, "default", pod, "sh", "-c", script, container=container)


def capability_sets(status: str) -> dict[str, set[str]]:
    """CapInh/CapPrm/CapEff/CapBnd/CapAmb of a /proc/<pid>/status, decoded into names."""
    sets = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key.startswith("Cap"):
            mask = int(value.strip(), 16)
            sets[key[3:]] = {n for bit, n in enumerate(LINUX_CAPABILITIES) if mask >> bit & 1}
    return sets
