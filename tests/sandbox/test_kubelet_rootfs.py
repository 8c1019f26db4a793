"""An image mapped to a root filesystem runs chrooted into it, with /proc and a standard PATH."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from retina_tui.sandbox import SandboxOptions
from tests.sandbox.apiclient import pod_body
from tests.sandbox.kubelet_support import container_state, exec_in, wait_pod

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")

PODS = "/api/v1/namespaces/default/pods"
IMAGE = "registry.test/tiny-toolbox"


def tiny_rootfs(root: Path) -> Path:
    """A root filesystem holding only a shell, its libraries and a marker file."""
    shell = Path(shutil.which("dash") or "/bin/sh").resolve()
    for directory in ("bin", "proc", "dev", "sys", "etc"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    shutil.copy2(shell, root / "bin" / "sh")
    libraries = subprocess.run(["ldd", str(shell)], capture_output=True, text=True, check=True)
    for path in re.findall(r"(/\S+) \(0x", libraries.stdout):
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    (root / "etc" / "marker").write_text("inside-the-image\n")
    return root


@pytest.fixture(
    params=[
        pytest.param("host"),
        pytest.param(
            "netns",
            marks=[
                pytest.mark.netns,
                pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2"),
            ],
        ),
    ]
)
def sandbox_options(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return SandboxOptions(
        nodes=1,
        pods=0,
        network=request.param,
        kubelet=True,
        start_delay=0.0,
        rootfs={IMAGE: tiny_rootfs(tmp_path / "rootfs")},
    )


async def test_image_with_a_rootfs_runs_inside_it(api_sandbox: Any, admin_api: Any) -> None:
    body = pod_body("boxed")
    body["spec"]["containers"][0]["image"] = f"{IMAGE}:1.0"
    assert (await admin_api.post(PODS, body)).status == 201
    await wait_pod(
        api_sandbox.store, "default", "boxed", lambda p: container_state(p, "main") == "running"
    )
    script = (
        'read marker < /etc/marker; echo "$marker"; echo "PATH=$PATH"; '
        "test -r /proc/self/status && echo proc-mounted; "
        "test -e /root/venv || echo host-hidden; hostname 2>/dev/null || echo no-hostname-tool"
    )
    result = await exec_in(api_sandbox, "default", "boxed", "sh", "-c", script)
    assert result.status is not None and result.status.success, result
    assert result.stdout.decode().splitlines() == [
        "inside-the-image",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "proc-mounted",
        "host-hidden",
        "no-hostname-tool",
    ]
    pod = api_sandbox.store.get("pods", "default", "boxed")
    listing = "{ read header; read header; while read name rest; do echo $name; done; }"
    net = await exec_in(api_sandbox, "default", "boxed", "sh", "-c", listing + " < /proc/net/dev")
    interfaces = net.stdout.decode().split()
    if api_sandbox.network.mode == "netns":
        assert sorted(interfaces) == ["eth0:", "lo:"], (interfaces, pod["status"]["podIP"])
    missing = await exec_in(api_sandbox, "default", "boxed", "python3", "-V")
    assert missing.status is not None
    assert 'exec: "python3": executable file not found in $PATH' in missing.status.message


async def test_rootfs_container_writes_its_own_layer_and_sees_host_paths(
    api_sandbox: Any, admin_api: Any, tmp_path: Path
) -> None:
    shared = tmp_path / "node-files"
    shared.mkdir()
    (shared / "hello").write_text("from-the-node\n")
    body = pod_body("layered", volumes=[{"name": "host", "hostPath": {"path": str(shared)}}])
    body["spec"]["containers"][0].update(
        image=f"{IMAGE}:1.0",
        volumeMounts=[{"name": "host", "mountPath": "/host", "readOnly": True}],
    )
    assert (await admin_api.post(PODS, body)).status == 201
    await wait_pod(
        api_sandbox.store, "default", "layered", lambda p: container_state(p, "main") == "running"
    )
    wrote = await exec_in(api_sandbox, "default", "layered", "sh", "-c", "echo kept > /etc/written")
    assert wrote.status is not None and wrote.status.success, wrote
    script = 'read a < /etc/written; read b < /host/hello; echo "$a $b"; '
    script += "echo nope > /host/other || echo read-only"
    read = await exec_in(api_sandbox, "default", "layered", "sh", "-c", script)
    assert read.stdout.decode().splitlines() == ["kept from-the-node", "read-only"]
    rootfs = next(iter(api_sandbox.kubelet.runner.rootfs.values()))
    assert not (rootfs / "etc" / "written").exists()
    assert not (shared / "other").exists()
