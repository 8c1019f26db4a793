"""The runtime applies securityContext: capabilities, identity, runAsNonRoot, no_new_privs..."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.isolation_support import (
    PODS,
    RUNTIME_DEFAULT,
    capability_sets,
    netns_options,
    requires_isolation,
    run,
    start,
    with_command,
)
from tests.sandbox.kubelet_support import container_state, wait_pod

pytestmark = [pytest.mark.netns, requires_isolation]

NET_ONLY = {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW"]}
PROBE = (
    "ip link set lo mtu 1400 && echo mtu-set; "
    "mount -t tmpfs x /mnt 2>&1 || echo mount-refused; "
    "grep ^Cap /proc/self/status"
)


@pytest.fixture
def sandbox_options() -> Any:
    return netns_options()


def read(path: str) -> str:
    return Path(path).read_text()


def secured(name: str, context: dict[str, Any], script: str = "sleep 1000", **spec: Any) -> Any:
    body = with_command(name, script, **spec)
    body["spec"]["containers"][0]["securityContext"] = context
    return body


async def test_drop_all_add_net_admin_gives_exactly_those(api_sandbox: Any, admin_api: Any) -> None:
    await start(api_sandbox, admin_api, secured("netcaps", {"capabilities": NET_ONLY}))
    container = await run(api_sandbox, "netcaps", "cat /proc/1/status")
    for name, caps in capability_sets(container.stdout.decode()).items():
        expected = set() if name == "Amb" else {"NET_ADMIN", "NET_RAW"}
        assert caps == expected, (name, caps)
    probe = await run(api_sandbox, "netcaps", PROBE)
    out = probe.stdout.decode()
    assert "mtu-set" in out and "mount-refused" in out, probe
    assert "permission denied" in out.lower()
    assert capability_sets(out)["Eff"] == {"NET_ADMIN", "NET_RAW"}
    mtu = await run(api_sandbox, "netcaps", "cat /sys/class/net/lo/mtu")
    assert mtu.stdout == b"1400\n"


async def test_an_ephemeral_container_gets_its_own_capabilities(
    api_sandbox: Any, admin_api: Any
) -> None:
    await start(api_sandbox, admin_api, with_command("target", "sleep 1000"))
    debugger = {
        "name": "debugger",
        "image": "busybox:1.36",
        "command": ["sh", "-c", PROBE + "; sleep 1000"],
        "targetContainerName": "main",
        "securityContext": {"capabilities": NET_ONLY},
    }
    answer = await admin_api.request(
        "PATCH",
        f"{PODS}/target/ephemeralcontainers",
        body={"spec": {"ephemeralContainers": [debugger]}},
        content_type="application/strategic-merge-patch+json",
    )
    assert answer.status == 200, answer.text
    await wait_pod(
        api_sandbox.store,
        "default",
        "target",
        lambda p: container_state(p, "debugger", ephemeral=True) == "running",
    )
    exec_probe = await run(api_sandbox, "target", PROBE, container="debugger")
    assert capability_sets(exec_probe.stdout.decode())["Eff"] == {"NET_ADMIN", "NET_RAW"}
    logs = (await admin_api.get(f"{PODS}/target/log", params={"container": "debugger"})).text
    assert "mtu-set" in logs and "mount-refused" in logs, logs
    assert capability_sets(logs)["Eff"] == {"NET_ADMIN", "NET_RAW"}
    assert capability_sets(logs)["Bnd"] == {"NET_ADMIN", "NET_RAW"}
    main = await run(api_sandbox, "target", "grep ^CapEff /proc/self/status")
    assert capability_sets(main.stdout.decode())["Eff"] == RUNTIME_DEFAULT


async def test_without_capabilities_raw_ping_and_links_are_refused(
    api_sandbox: Any, admin_api: Any
) -> None:
    await start(api_sandbox, admin_api, secured("nocaps", {"capabilities": {"drop": ["ALL"]}}))
    # ping_group_range is "1 0" here (no unprivileged ICMP sockets): ping needs CAP_NET_RAW,
    # and the kernel refuses to exec a binary whose file capability it cannot grant.
    result = await run(api_sandbox, "nocaps", "ping -c1 -W1 127.0.0.1; echo rc=$?")
    assert "Operation not permitted" in result.stderr.decode(), result
    assert b"rc=0" not in result.stdout
    link = await run(api_sandbox, "nocaps", "ip link set lo mtu 1400")
    assert link.status is not None and not link.status.success
    assert "Operation not permitted" in link.stderr.decode()
    caps = await run(api_sandbox, "nocaps", "grep ^Cap /proc/self/status")
    assert all(not names for names in capability_sets(caps.stdout.decode()).values())


async def test_default_and_privileged_capability_sets(api_sandbox: Any, admin_api: Any) -> None:
    await start(api_sandbox, admin_api, with_command("plain", "sleep 1000"))
    await start(api_sandbox, admin_api, secured("privileged", {"privileged": True}))
    plain = await run(api_sandbox, "plain", "grep ^Cap /proc/1/status")
    sets = capability_sets(plain.stdout.decode())
    assert sets["Eff"] == sets["Prm"] == sets["Bnd"] == RUNTIME_DEFAULT
    full = await run(api_sandbox, "privileged", "grep ^Cap /proc/self/status")
    # Every capability this machine lets its root hand on (the runner's bounding set).
    ours = capability_sets(read("/proc/self/status"))["Bnd"]
    assert capability_sets(full.stdout.decode())["Eff"] == ours
    ping = await run(api_sandbox, "plain", "ping -c1 -W1 127.0.0.1")
    assert ping.status is not None and ping.status.success, ping


async def test_run_as_non_root_with_a_root_image_is_a_config_error(
    api_sandbox: Any, admin_api: Any
) -> None:
    body = secured("rootless", {}, securityContext={"runAsNonRoot": True})
    await start(api_sandbox, admin_api, body, state="waiting:CreateContainerConfigError")
    pod = api_sandbox.store.get("pods", "default", "rootless")
    uid = pod["metadata"]["uid"]
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    message = (
        "container has runAsNonRoot and image will run as root "
        f'(pod: "rootless_default({uid})", container: main)'
    )
    assert waiting["message"] == message
    assert pod["status"]["phase"] == "Pending"
    events = await admin_api.get(
        "/api/v1/namespaces/default/events",
        params={"fieldSelector": "involvedObject.name=rootless"},
    )
    reasons = [(e["type"], e["reason"], e["message"]) for e in events.body["items"]]
    assert ("Warning", "Failed", f"Error: {message}") in reasons
    explicit = secured("uidzero", {"runAsUser": 0, "runAsNonRoot": True})
    await start(api_sandbox, admin_api, explicit, state="waiting:CreateContainerConfigError")
    pod = api_sandbox.store.get("pods", "default", "uidzero")
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"] == (
        "container's runAsUser breaks non-root policy "
        f'(pod: "uidzero_default({pod["metadata"]["uid"]})", container: main)'
    )


async def test_run_as_user_and_groups_with_ambient_capabilities(
    api_sandbox: Any, admin_api: Any
) -> None:
    context = {"runAsUser": 4242, "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN"]}}
    pod_context = {"runAsNonRoot": True, "runAsGroup": 3000, "supplementalGroups": [4000]}
    body = secured("user", context, "id -u > /tmp/id; sleep 1000", securityContext=pod_context)
    await start(api_sandbox, admin_api, body)
    result = await run(
        api_sandbox,
        "user",
        'cat /tmp/id; id -u; id -g; id -G; echo "$HOME"; ip link set lo mtu 1400',
    )
    assert result.status is not None and result.status.success, result
    assert result.stdout.decode().splitlines() == ["4242", "4242", "3000", "3000 4000", "/"]
    caps = await run(api_sandbox, "user", "grep ^Cap /proc/self/status")
    sets = capability_sets(caps.stdout.decode())
    assert sets["Eff"] == sets["Amb"] == {"NET_ADMIN"}


async def test_home_comes_from_the_image_passwd(api_sandbox: Any, admin_api: Any) -> None:
    await start(api_sandbox, admin_api, secured("cloud", {"runAsUser": 1000}))
    result = await run(api_sandbox, "cloud", 'echo "$HOME"')
    expected = next(
        line.split(":")[5]
        for line in read("/etc/passwd").splitlines()
        if line.split(":")[2] == "1000"
    )
    assert result.stdout.decode() == expected + "\n"


async def test_no_privilege_escalation_and_read_only_root(api_sandbox: Any, admin_api: Any) -> None:
    context = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True}
    body = secured("locked", context, volumes=[{"name": "scratch", "emptyDir": {}}])
    body["spec"]["containers"][0]["volumeMounts"] = [{"name": "scratch", "mountPath": "/scratch"}]
    await start(api_sandbox, admin_api, body)
    nnp = await run(api_sandbox, "locked", "grep ^NoNewPrivs /proc/1/status /proc/self/status")
    assert nnp.stdout.decode().split() == [
        "/proc/1/status:NoNewPrivs:", "1", "/proc/self/status:NoNewPrivs:", "1"
    ]  # fmt: skip
    touch = await run(api_sandbox, "locked", "touch /x")
    assert touch.status is not None and not touch.status.success
    assert "Read-only file system" in touch.stderr.decode()
    volume = await run(api_sandbox, "locked", "echo kept > /scratch/f && cat /scratch/f")
    assert volume.stdout == b"kept\n", volume


def test_kubectl_exec_and_debug_run_with_the_containers_identity_and_caps(
    sandbox_cluster: Any, tmp_path: Path
) -> None:
    name = f"ident-{secrets.token_hex(3)}"
    manifest = secured(name, {"runAsUser": 1000, "capabilities": NET_ONLY})
    (tmp_path / "pod.json").write_text(json.dumps(manifest))
    created = sandbox_cluster.kubectl("apply", "-f", str(tmp_path / "pod.json"))
    assert created.returncode == 0, created.stderr
    try:
        ready = sandbox_cluster.kubectl("wait", "--for=condition=Ready", f"pod/{name}")
        assert ready.returncode == 0, ready.stderr
        uid = sandbox_cluster.kubectl("exec", name, "--", "id", "-u")
        assert uid.stdout == "1000\n", uid.stderr
        caps = sandbox_cluster.kubectl("exec", name, "--", "grep", "^Cap", "/proc/self/status")
        assert capability_sets(caps.stdout)["Eff"] == {"NET_ADMIN", "NET_RAW"}
        custom = {"securityContext": {"capabilities": NET_ONLY}}
        (tmp_path / "custom.json").write_text(json.dumps(custom))
        debug = sandbox_cluster.kubectl(
            "debug", name, "-i", "--image=busybox:1.36", "--target=main",
            f"--custom={tmp_path / 'custom.json'}",
            input="grep ^CapEff /proc/self/status; id -u; ps -e -o args=\nexit\n",
        )  # fmt: skip
        assert debug.returncode == 0, debug.stderr
        assert capability_sets(debug.stdout)["Eff"] == {"NET_ADMIN", "NET_RAW"}, debug.stdout
        assert "\n0\n" in debug.stdout and "sleep 1000" in debug.stdout
    finally:
        sandbox_cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")
