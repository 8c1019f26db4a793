"""Every container has a filesystem of its own: what it writes never reaches the machine."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from retina_tui.sandbox.clusternet import cluster_resolv_conf
from tests.sandbox.apiclient import pod_body
from tests.sandbox.isolation_support import (
    PODS,
    netns_options,
    requires_isolation,
    run,
    start,
    with_command,
)
from tests.sandbox.kubelet_support import container_state, wait_pod

pytestmark = [pytest.mark.netns, requires_isolation]


@pytest.fixture
def sandbox_options() -> Any:
    return netns_options()


def exists(path: Path) -> bool:
    return path.exists()


def read(path: Path) -> str:
    return path.read_text()


async def test_writes_and_removals_stay_in_the_container(api_sandbox: Any, admin_api: Any) -> None:
    token = secrets.token_hex(4)
    await start(api_sandbox, admin_api, with_command("scribble", "sleep 1000"))
    hostname_before = read(Path("/etc/hostname"))
    script = (
        f"touch /usr/rtui-{token} && rm /etc/hostname && echo kept > /tmp/rtui-{token} && "
        f"echo root > /root/rtui-{token} && ls /usr/rtui-{token} /tmp/rtui-{token} && "
        "test ! -e /etc/hostname && echo removed"
    )
    result = await run(api_sandbox, "scribble", script)
    assert result.status is not None and result.status.success, result
    assert result.stdout.decode().splitlines()[-1] == "removed"
    for path in (f"/usr/rtui-{token}", f"/tmp/rtui-{token}", f"/root/rtui-{token}"):
        assert not exists(Path(path)), path
    assert read(Path("/etc/hostname")) == hostname_before
    again = await run(api_sandbox, "scribble", f"cat /tmp/rtui-{token}")
    assert again.stdout == b"kept\n"
    answer = await admin_api.request(
        "DELETE", f"{PODS}/scribble", params={"gracePeriodSeconds": "1"}
    )
    assert answer.status == 200
    await wait_pod(api_sandbox.store, "default", "scribble", lambda p: p is None)
    await start(api_sandbox, admin_api, with_command("scribble", "sleep 1000"))
    fresh = await run(api_sandbox, "scribble", f"ls /tmp/rtui-{token} /usr/rtui-{token}")
    assert fresh.status is not None and not fresh.status.success
    assert "No such file or directory" in fresh.stderr.decode()


async def test_the_kubelet_writes_hosts_hostname_and_resolv_conf(
    api_sandbox: Any, admin_api: Any
) -> None:
    await start(api_sandbox, admin_api, with_command("named", "sleep 1000"))
    pod = api_sandbox.store.get("pods", "default", "named")
    ip = pod["status"]["podIP"]
    result = await run(api_sandbox, "named", "cat /etc/hostname; hostname; cat /etc/hosts")
    lines = result.stdout.decode().splitlines()
    assert lines[:2] == ["named", "named"]
    hosts = [line.split() for line in lines[2:] if line and not line.startswith("#")]
    assert ["127.0.0.1", "localhost"] in hosts
    assert ["::1", "localhost", "ip6-localhost", "ip6-loopback"] in hosts
    assert hosts[-1] == [ip, "named"]
    resolv = await run(api_sandbox, "named", "cat /etc/resolv.conf")
    assert resolv.stdout.decode() == cluster_resolv_conf("default")
    tmp = await run(api_sandbox, "named", "stat -c %a /tmp; ls -A /tmp; ls -A /root")
    assert tmp.stdout.decode().split() == ["1777"]


async def test_an_empty_dir_is_shared_by_the_pod_and_removed_with_it(
    api_sandbox: Any, admin_api: Any
) -> None:
    body = pod_body("pair", volumes=[{"name": "shared", "emptyDir": {}}])
    mount = [{"name": "shared", "mountPath": "/shared"}]
    body["spec"]["containers"] = [
        {"name": "writer", "image": "busybox:1.36", "command": ["sleep", "1000"]},
        {"name": "reader", "image": "busybox:1.36", "command": ["sleep", "1000"]},
    ]
    for container in body["spec"]["containers"]:
        container["volumeMounts"] = mount
    body["spec"]["containers"][1]["volumeMounts"] = [{**mount[0], "readOnly": True}]
    await start(api_sandbox, admin_api, body)
    await wait_pod(
        api_sandbox.store, "default", "pair", lambda p: container_state(p, "reader") == "running"
    )
    wrote = await run(api_sandbox, "pair", "echo hello > /shared/note", container="writer")
    assert wrote.status is not None and wrote.status.success, wrote
    seen = await run(api_sandbox, "pair", "cat /shared/note; touch /shared/x", container="reader")
    assert seen.stdout == b"hello\n"
    assert "Read-only file system" in seen.stderr.decode()
    uid = api_sandbox.store.get("pods", "default", "pair")["metadata"]["uid"]
    volumes = api_sandbox.kubelet.runner.volumes.base
    assert read(volumes / uid / "shared" / "note") == "hello\n"
    answer = await admin_api.request("DELETE", f"{PODS}/pair", params={"gracePeriodSeconds": "1"})
    assert answer.status == 200
    await wait_pod(api_sandbox.store, "default", "pair", lambda p: p is None)
    assert not exists(volumes / uid)


async def test_stopping_the_sandbox_leaves_nothing_behind() -> None:
    from retina_tui.sandbox import run_sandbox
    from tests.sandbox.apiclient import Api

    async with run_sandbox(netns_options()) as sandbox:
        api = Api(sandbox.url, sandbox.admin_token, sandbox.ca_pem)
        try:
            body = pod_body("left", volumes=[{"name": "v", "emptyDir": {}}])
            body["spec"]["containers"][0].update(
                command=["sleep", "1000"], volumeMounts=[{"name": "v", "mountPath": "/v"}]
            )
            await start(sandbox, api, body)
        finally:
            await api.close()
        written = await run(sandbox, "left", "echo x > /v/f && echo y > /tmp/f")
        assert written.status is not None and written.status.success
        base = sandbox.kubelet.runner.volumes.base.parent
        assert exists(base)
    assert not exists(base)
    mounts = read(Path("/proc/self/mountinfo"))
    assert str(base) not in mounts


def test_kubectl_cp_lands_in_the_container_layer(sandbox_cluster: Any, tmp_path: Path) -> None:
    name = f"cp-{secrets.token_hex(3)}"
    created = sandbox_cluster.kubectl(
        "run", name, "--image=busybox:1.36", "--restart=Never", "--", "sleep", "3600"
    )
    assert created.returncode == 0, created.stderr
    try:
        ready = sandbox_cluster.kubectl("wait", "--for=condition=Ready", f"pod/{name}")
        assert ready.returncode == 0, ready.stderr
        local = tmp_path / "payload.txt"
        local.write_text("copied in\n")
        target = f"/usr/local/{name}.txt"
        copied = sandbox_cluster.kubectl("cp", str(local), f"{name}:{target}")
        assert copied.returncode == 0, copied.stderr
        shown = sandbox_cluster.kubectl("exec", name, "--", "cat", target)
        assert shown.stdout == "copied in\n", shown.stderr
        assert not Path(target).exists()
    finally:
        sandbox_cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")
