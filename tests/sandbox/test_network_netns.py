"""Real pod networking: namespaces per node and pod, routes between nodes, and their cleanup."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from retina_tui.sandbox import SandboxOptions, run_sandbox
from retina_tui.sandbox.network import Network, NetworkError, our_namespaces
from tests.fixtures_sandbox import sandbox_process
from tests.sandbox.apiclient import Api, pod_body
from tests.sandbox.kubelet_support import container_state, exec_in, wait_pod

PODS_DEFAULT = "/api/v1/namespaces/default/pods"
requires_netns = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and iproute2"
)


async def run_in(network: Network, node: str, pod: str | None, *argv: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *network.exec_prefix(node, pod),
        *argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def sh(*argv: str, check: bool = True) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0 or not check, out
    return out.decode()


def namespaces_with(prefix: str) -> list[str]:
    return [name for name in our_namespaces() if name.startswith(prefix + "-")]


@pytest.mark.netns
@requires_netns
async def test_pods_reach_each_other_on_one_node_and_across_nodes() -> None:
    network = await Network.create("netns", ["a", "b"])
    try:
        assert network.mode == "netns"
        one = await network.add_pod("a", "ns/one")
        two = await network.add_pod("a", "ns/two")
        far = await network.add_pod("b", "ns/far")
        assert one.startswith("10.244.0.") and far.startswith("10.244.1.")
        for target in ("127.0.0.1", two, far, network.node_ip("b")):
            code, out = await run_in(network, "a", "ns/one", "ping", "-c1", "-W2", target)
            assert code == 0, out
        code, out = await run_in(network, "b", "ns/far", "ip", "-br", "addr", "show", "eth0")
        assert code == 0 and f"{far}/24" in out, out
        code, out = await run_in(network, "b", None, "ip", "-br", "addr", "show", "eth0")
        assert code == 0 and f"{network.node_ip('b')}/24" in out, out
        await network.remove_pod("ns/two")
        code, out = await run_in(network, "a", "ns/one", "ping", "-c1", "-W1", two)
        assert code != 0, out
    finally:
        await network.close()
    assert namespaces_with(network.run_prefix) == []


@pytest.mark.netns
@requires_netns
async def test_the_host_namespace_is_never_touched() -> None:
    before = await sh("ip", "-o", "link")
    routes = await sh("ip", "route")
    network = await Network.create("netns", ["a", "b"])
    try:
        await network.add_pod("a", "ns/p")
        assert await sh("ip", "-o", "link") == before
        assert await sh("ip", "route") == routes
    finally:
        await network.close()


@pytest.mark.netns
@requires_netns
async def test_leftovers_of_dead_runs_go_and_live_runs_stay() -> None:
    dead = await asyncio.create_subprocess_exec("true")
    await dead.wait()
    living = await asyncio.create_subprocess_exec("sleep", "60")
    stale = f"rtui{dead.pid}x1-n0"
    reused_pid = f"rtui{os.getpid()}x1dead-n0"  # an earlier process had our pid
    alive = f"rtui{living.pid}x1-n0"
    names = (stale, reused_pid, alive)
    for name in names:
        await sh("ip", "netns", "add", name)
    try:
        network = await Network.create("netns", ["a"])
        assert network.run_prefix in {n.rsplit("-", 1)[0] for n in our_namespaces()}
        await network.close()
        assert stale not in our_namespaces()
        assert reused_pid not in our_namespaces()
        assert alive in our_namespaces()
    finally:
        living.kill()
        await living.wait()
        for name in names:
            await sh("ip", "netns", "delete", name, check=False)


async def test_host_mode_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="retina_tui.sandbox"):
        network = await Network.create("host", ["a", "b"])
    assert network.mode == "host"
    assert [r.message for r in caplog.records if "host namespace" in r.message] != []
    assert len(caplog.records) == 1
    assert network.node_ip("b") == "127.1.1.1"
    assert await network.add_pod("b", "ns/p") == "127.1.1.2"
    assert network.exec_prefix("b", "ns/p") == []
    await network.close()


@pytest.mark.netns
@requires_netns
def test_cluster_pods_ping_on_the_same_and_another_node(sandbox_cluster: Any) -> None:
    kubectl = sandbox_cluster.kubectl
    for namespace in ("shop", "kube-system"):
        ready = kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod", "--all")
        assert ready.returncode == 0, ready.stderr
    web = kubectl("get", "-n", "shop", "pod", "web", "-o", "jsonpath={.status.podIP}").stdout
    dns = kubectl(
        "get", "-n", "kube-system", "pods", "-l", "k8s-app=kube-dns",
        "-o", "jsonpath={.items[0].status.podIP} {.items[0].spec.nodeName}",
    ).stdout.split()  # fmt: skip
    assert web.startswith("10.244.") and dns[0].startswith("10.244.")
    local = "load-0000"
    node = kubectl("get", "pod", local, "-o", "jsonpath={.spec.nodeName}").stdout
    assert node == dns[1]
    for target in (dns[0], web):
        result = kubectl("exec", local, "-c", "app", "--", "ping", "-c1", "-W2", target)
        assert result.returncode == 0, result.stdout + result.stderr
    own = kubectl("get", "pod", local, "-o", "jsonpath={.status.podIP}").stdout
    addr = kubectl("exec", local, "-c", "app", "--", "ip", "-br", "addr", "show", "eth0")
    assert f"{own}/24" in addr.stdout


@pytest.mark.netns
@requires_netns
def test_sigterm_of_the_cli_removes_its_namespaces() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with sandbox_process(Path(tmp), network="netns") as running:
            prefix = f"rtui{running.process.pid}x"
            ours = [n for n in our_namespaces() if n.startswith(prefix)]
            assert any(n.endswith("-fabric") for n in ours)
            ready = running.kubectl(
                "wait", "-n", "shop", "--for=condition=Ready", "pod/client", "--timeout=60s"
            )
            assert ready.returncode == 0, ready.stderr
            result = running.kubectl("exec", "load-0001", "-c", "app", "--", "true")
            assert result.returncode == 0, result.stderr
            pods = [n for n in our_namespaces() if n.startswith(prefix) and "-p" in n]
            assert len(pods) >= 4
            roots = container_roots(running.process.pid)
            assert roots, "no container of this sandbox has a root of its own"
        assert running.process.returncode == 0
    assert [n for n in our_namespaces() if n.startswith(prefix)] == []
    assert [root for root in roots if root.parent.parent.exists()] == []


def container_roots(sandbox_pid: int) -> list[Path]:
    """The roots (<sandbox dir>/scratch/r) of the containers the sandbox `sandbox_pid` runs."""
    parents, roots = {}, []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat[stat.rfind(")") + 2 :].split()[1])
            root = Path(os.readlink(entry / "root"))
        except (OSError, ValueError):
            continue
        if root != Path("/"):
            roots.append((int(entry.name), root))
    found = []
    for pid, root in roots:
        ancestor = pid
        while ancestor > 1 and ancestor != sandbox_pid:
            ancestor = parents.get(ancestor, 0)
        if ancestor == sandbox_pid:
            found.append(root)
    return found


@pytest.mark.netns
@requires_netns
async def test_two_sandboxes_run_side_by_side() -> None:
    options = SandboxOptions(nodes=2, pods=2, network="netns", kubelet=True, start_delay=0.0)
    async with run_sandbox(options) as first, run_sandbox(options) as second:
        assert first.network.run_prefix != second.network.run_prefix
        for sandbox in (first, second):
            result = await exec_in(sandbox, "default", "load-0000", "ip", "-br", "addr")
            assert result.stdout.count(b"eth0") == 1
        first_prefix = first.network.run_prefix
        await _host_network_pod_sees_the_node_address(second)
    assert namespaces_with(first_prefix) == []


async def _host_network_pod_sees_the_node_address(sandbox: Any) -> None:
    api = Api(sandbox.url, sandbox.admin_token, sandbox.ca_pem)
    try:
        body = pod_body("on-node", hostNetwork=True, nodeName="node-2")
        answer = await api.post("/api/v1/namespaces/default/pods", body)
        assert answer.status == 201, answer.text
    finally:
        await api.close()
    await wait_pod(
        sandbox.store, "default", "on-node", lambda p: container_state(p, "main") == "running"
    )
    result = await exec_in(sandbox, "default", "on-node", "ip", "-br", "addr", "show", "eth0")
    assert f"{sandbox.network.node_ip('node-2')}/24".encode() in result.stdout


@pytest.mark.netns
@requires_netns
async def test_the_next_start_cleans_up_after_a_killed_sandbox(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    crashed = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "retina_tui", "sandbox", "--kubeconfig-out", str(kubeconfig),
        "--network", "netns", "--pods", "3",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    prefix = f"rtui{crashed.pid}x"
    busy: dict[str, list[str]] = {}
    try:
        async with asyncio.timeout(60):
            while not busy or not kubeconfig.exists():
                for name in our_namespaces():
                    if name.startswith(prefix) and "-p" in name:
                        pids = (await sh("ip", "netns", "pids", name, check=False)).split()
                        # `ip -n` setting up a namespace shows there for a moment too.
                        pids = [pid for pid in pids if process_name(pid) not in ("", "ip")]
                        if pids:
                            busy[name] = pids
                await asyncio.sleep(0.05)
    finally:
        crashed.kill()
        await crashed.wait()
    assert kubeconfig.exists()
    left = [n for n in our_namespaces() if n.startswith(prefix)]
    assert set(busy) <= set(left), "a killed sandbox leaves its namespaces behind"
    network = await Network.create("netns", ["a"])
    await network.close()
    assert [n for n in our_namespaces() if n.startswith(prefix)] == []
    assert [pid for pids in busy.values() for pid in pids if process_alive(pid)] == []
    left_dirs = run_dirs(crashed.pid)
    assert left_dirs, "the killed sandbox had no containers directory"
    options = SandboxOptions(nodes=1, pods=0, network="host", kubelet=True, start_delay=0.0)
    async with run_sandbox(options) as sandbox:
        api = Api(sandbox.url, sandbox.admin_token, sandbox.ca_pem)
        try:
            body = pod_body("next")
            body["spec"]["containers"][0]["command"] = ["true"]
            assert (await api.post(PODS_DEFAULT, body)).status == 201
        finally:
            await api.close()
        await wait_pod(
            sandbox.store, "default", "next", lambda p: p["status"]["phase"] != "Pending"
        )
    assert run_dirs(crashed.pid) == []


def run_dirs(sandbox_pid: int) -> list[Path]:
    """The containers directories of sandbox `sandbox_pid` (volumes, mount points)."""
    return list(Path(tempfile.gettempdir()).glob(f"retina-tui-containers-{sandbox_pid}-*"))


def process_name(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def process_alive(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.netns
@requires_netns
async def test_pods_deleted_while_starting_leave_no_namespace() -> None:
    options = SandboxOptions(nodes=2, pods=0, network="netns", kubelet=True, start_delay=0.0)
    async with run_sandbox(options) as sandbox:
        api = Api(sandbox.url, sandbox.admin_token, sandbox.ca_pem)
        prefix = sandbox.network.run_prefix
        try:
            for name in ("shop", "kube-system"):
                for pod in sandbox.store.list("pods", name):
                    await wait_pod(
                        sandbox.store, name, pod["metadata"]["name"],
                        lambda p: p is not None and p["status"].get("podIP", "").startswith("10."),
                    )  # fmt: skip
            settled = set(namespaces_with(prefix))
            names = [f"brief-{index}" for index in range(6)]
            for index, name in enumerate(names):
                assert (await api.post(PODS_DEFAULT, pod_body(name))).status == 201
                grace = {"gracePeriodSeconds": "0"} if index % 2 else None
                deleted = await api.request("DELETE", f"{PODS_DEFAULT}/{name}", params=grace)
                assert deleted.status == 200, deleted.text
            for name in names:
                await wait_pod(sandbox.store, "default", name, lambda p: p is None)
            async with asyncio.timeout(30):
                while set(namespaces_with(prefix)) != settled:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        finally:
            await api.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root would try namespaces")
async def test_auto_falls_back_to_host_when_namespaces_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake = tmp_path / "ip"
    fake.write_text(
        "#!/bin/sh\necho 'mount --make-shared /run/netns failed: Permission denied' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    with caplog.at_level(logging.WARNING, logger="retina_tui.sandbox"):
        network = await Network.create("auto", ["a"])
    assert network.mode == "host"
    assert "Permission denied" in caplog.text
    with pytest.raises(NetworkError, match="Permission denied"):
        await Network.create("netns", ["a"])
