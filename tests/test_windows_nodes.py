"""Windows nodes and pods through the real CLI, kubectl and a pty, against a sandbox with one.

The sandbox's Windows node runs containers as local processes (its shells say they are
the simulated node); what is checked is what a real cluster shows too: the pod spec read
back with kubectl, the API server's refusals, the prompt, and that no pod is left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests.fixtures_sandbox import SandboxProcess, sandbox_process
from tests.test_shell_cli_pty import debug_pods, kubectl_json, spawn_cli

PS_PROMPT = "PS C:\\Windows\\system32> "
CMD_PROMPT = "C:\\Windows\\system32>"
WINDOWS_IMAGE = "ghcr.io/retina-tui/debug-windows:0.1.0-ltsc2022"


@pytest.fixture(scope="module")
def windows_cluster() -> Iterator[SandboxProcess]:
    """A sandbox whose node-3 runs (simulated) Windows Server 2022, with pods in `win`."""
    with (
        tempfile.TemporaryDirectory(prefix="retina-tui-test-windows-") as tmp,
        sandbox_process(
            Path(tmp),
            network=os.environ.get("RETINA_TUI_SANDBOX_NETWORK", "auto"),
            extra=("--nodes", "3", "--windows-nodes", "1", "--pods", "2"),
        ) as running,
    ):
        yield running


def shell(sandbox: SandboxProcess, *args: str) -> list[str]:
    return ["-m", "retina_tui", "shell", "--kubeconfig", str(sandbox.kubeconfig), *args]


def run_shell(
    sandbox: SandboxProcess, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *shell(sandbox, *args)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def the_debug_pod(sandbox: SandboxProcess) -> dict[str, Any]:
    found = kubectl_json(
        sandbox, "get", "pods", "-A", "-l", "app.kubernetes.io/managed-by=retina-tui"
    )["items"]
    assert len(found) == 1, [p["metadata"]["name"] for p in found]
    return dict(found[0])


def exit_shell(child: pexpect.spawn) -> int:
    """Type `exit` and return the CLI's exit code."""
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus if child.exitstatus is not None else -1)


def ephemeral(sandbox: SandboxProcess, namespace: str, name: str) -> list[dict[str, Any]]:
    pod = kubectl_json(sandbox, "get", "pod", "-n", namespace, name)
    return list(pod["spec"].get("ephemeralContainers") or [])


def no_capabilities_anywhere(spec: dict[str, Any]) -> bool:
    text = json.dumps(spec)
    return "capabilities" not in text and "privileged" not in text


def test_a_windows_node_shell_is_a_host_process_pod_with_a_prompt(
    windows_cluster: SandboxProcess,
) -> None:
    child = spawn_cli(shell(windows_cluster, "-n", "default", "node-3"))
    try:
        child.expect_exact(PS_PROMPT)
        pod = the_debug_pod(windows_cluster)
        spec = pod["spec"]
        assert spec["nodeName"] == "node-3"
        assert spec["hostNetwork"] is True
        assert spec["os"] == {"name": "windows"}
        assert spec["nodeSelector"] == {"kubernetes.io/os": "windows"}
        assert spec["securityContext"]["windowsOptions"] == {
            "hostProcess": True,
            "runAsUserName": "NT AUTHORITY\\SYSTEM",
        }
        assert {
            "key": "node.kubernetes.io/os",
            "operator": "Equal",
            "value": "windows",
            "effect": "NoSchedule",
        } in spec["tolerations"]
        (container,) = spec["containers"]
        assert container["command"] == ["powershell.exe", "-NoLogo"]
        assert container["image"] == WINDOWS_IMAGE
        assert no_capabilities_anywhere(spec)
        assert "hostPID" not in spec and "volumes" not in spec
        assert pod["metadata"]["labels"]["retina-tui.io/instance"]
        child.sendline("echo $COMPUTERNAME/$USERNAME")
        child.expect_exact("NODE-3/SYSTEM")
        child.expect_exact(PS_PROMPT)
        assert exit_shell(child) == 0
    finally:
        child.close(force=True)
    assert debug_pods(windows_cluster) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_deletes_the_windows_node_pod(
    windows_cluster: SandboxProcess, signum: signal.Signals
) -> None:
    child = spawn_cli(shell(windows_cluster, "-n", "default", "node-3"))
    try:
        child.expect_exact(PS_PROMPT)
        assert len(debug_pods(windows_cluster)) == 1
        child.kill(signum)
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 128 + signum
    finally:
        child.close(force=True)
    assert debug_pods(windows_cluster) == []


def test_the_account_and_the_shell_can_be_chosen(windows_cluster: SandboxProcess) -> None:
    child = spawn_cli(
        shell(
            windows_cluster,
            "-n",
            "default",
            "--shell",
            "cmd",
            "--windows-user",
            "NT AUTHORITY\\Local service",
            "node/node-3",
        )
    )
    try:
        child.expect_exact(CMD_PROMPT)
        spec = the_debug_pod(windows_cluster)["spec"]
        assert spec["securityContext"]["windowsOptions"]["runAsUserName"] == (
            "NT AUTHORITY\\Local service"
        )
        assert spec["containers"][0]["command"] == ["cmd.exe"]
        assert exit_shell(child) == 0
    finally:
        child.close(force=True)
    assert debug_pods(windows_cluster) == []


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (("-c", "NET_ADMIN"), "so -c/--capabilities does not apply there; drop it."),
        (
            ("--host-pid", "--seccomp-unconfined"),
            "so --host-pid and --seccomp-unconfined do not apply there; drop them.",
        ),
        (("--profile", "sysadmin"), "so --profile sysadmin does not apply there; drop it."),
    ],
)
def test_linux_only_flags_are_refused_on_a_windows_node_before_anything_exists(
    windows_cluster: SandboxProcess, flags: tuple[str, ...], named: str
) -> None:
    result = run_shell(windows_cluster, "-n", "default", *flags, "node-3")
    assert result.returncode == 1, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("retina-tui: Node node-3 runs Windows, which has no Linux security")
    assert last.endswith(named)
    assert "Traceback" not in result.stderr
    assert debug_pods(windows_cluster) == []


def test_a_windows_pod_shell_uses_the_windows_image_and_no_capabilities(
    windows_cluster: SandboxProcess,
) -> None:
    before = len(ephemeral(windows_cluster, "win", "iis"))
    child = spawn_cli(shell(windows_cluster, "-n", "win", "pod/iis"))
    try:
        child.expect_exact(PS_PROMPT)
        added = ephemeral(windows_cluster, "win", "iis")[before:]
        assert len(added) == 1
        (container,) = added
        assert container["image"] == WINDOWS_IMAGE
        assert container["command"] == ["powershell.exe", "-NoLogo"]
        assert "securityContext" not in container
        assert "targetContainerName" not in container
        assert exit_shell(child) == 0
    finally:
        child.close(force=True)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ("--capabilities", "NET_ADMIN"),
            "retina-tui: Pod win/iis runs Windows, which has no Linux security settings "
            "(capabilities, seccomp, AppArmor, host PID, profiles) and whose node shell sees "
            "the node's C:\\ by itself, so -c/--capabilities does not apply there; drop it.",
        ),
        (
            ("--target", "iis"),
            "retina-tui: Pod win/iis runs Windows, whose containers share no process "
            "namespace, so --target iis cannot apply; drop --target (the shell still shares "
            "the pod's network).",
        ),
        (
            ("--image", "mcr.microsoft.com/powershell:lts-nanoserver-ltsc2019"),
            "retina-tui: The image mcr.microsoft.com/powershell:lts-nanoserver-ltsc2019 is "
            "built for Windows Server 2019 (build 17763), but node node-3 runs Windows Server "
            "2022 (build 20348), and a Windows container runs only on the build it was made "
            "for; use an image tagged ltsc2022, or drop --image for the default one.",
        ),
    ],
)
def test_what_windows_cannot_do_is_refused_before_a_container_is_added(
    windows_cluster: SandboxProcess, flags: tuple[str, ...], message: str
) -> None:
    before = ephemeral(windows_cluster, "win", "iis")
    result = run_shell(windows_cluster, "-n", "win", *flags, "pod/iis")
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1] == message
    assert ephemeral(windows_cluster, "win", "iis") == before


def test_commands_are_refused_on_windows(windows_cluster: SandboxProcess) -> None:
    result = run_shell(windows_cluster, "-n", "default", "node-3", "--", "ipconfig")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "retina-tui: Node node-3 runs Windows, and retina-tui runs commands (after --, for "
        "captures and checks) only in Linux debug containers; open a shell there and use the "
        "Windows tools (pktmon, Test-NetConnection)."
    )
    assert debug_pods(windows_cluster) == []


def host_process_pod(name: str, *, host_network: bool, second: bool = False) -> str:
    containers = [{"name": "shell", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022"}]
    if second:
        containers.append(
            {
                "name": "plain",
                "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022",
                "securityContext": {"windowsOptions": {"hostProcess": False}},
            }
        )
    spec: dict[str, Any] = {
        "nodeName": "node-3",
        "os": {"name": "windows"},
        "securityContext": {"windowsOptions": {"hostProcess": True}},
        "containers": containers,
    }
    if host_network:
        spec["hostNetwork"] = True
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})


def kubectl_create(sandbox: SandboxProcess, manifest: str, namespace: str) -> str:
    result = subprocess.run(
        sandbox.kubectl_argv("create", "-n", namespace, "-f", "-"),
        input=manifest,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout
    return result.stderr.strip()


def test_the_api_server_enforces_the_host_process_rules(windows_cluster: SandboxProcess) -> None:
    refused = kubectl_create(windows_cluster, host_process_pod("hp", host_network=False), "default")
    assert refused == (
        'The Pod "hp" is invalid: spec.hostNetwork: Invalid value: false: hostNetwork must be '
        "true if pod contains any hostProcess containers"
    )
    refused = kubectl_create(
        windows_cluster, host_process_pod("mixed", host_network=True, second=True), "default"
    )
    assert (
        "spec.containers[1].securityContext.windowsOptions.hostProcess: Invalid value: false: "
        "pod hostProcess value must be identical if both are specified, was true"
    ) in refused
    assert (
        'spec: Invalid value: "": If pod contains any hostProcess containers then all '
        "containers must be HostProcess containers"
    ) in refused
    linux_fields = json.loads(host_process_pod("caps", host_network=True))
    linux_fields["spec"]["containers"][0]["securityContext"] = {
        "capabilities": {"add": ["NET_ADMIN"]}
    }
    refused = kubectl_create(windows_cluster, json.dumps(linux_fields), "default")
    assert refused == (
        'The Pod "caps" is invalid: spec.containers[0].securityContext.capabilities: '
        "Forbidden: cannot be set for a windows pod"
    )


def test_pod_security_baseline_refuses_host_process(windows_cluster: SandboxProcess) -> None:
    refused = kubectl_create(windows_cluster, host_process_pod("hp", host_network=True), "secure")
    assert refused == (
        'Error from server (Forbidden): error when creating "STDIN": pods "hp" is forbidden: '
        "violates PodSecurity "
        '"baseline:latest": host namespaces (hostNetwork=true), hostProcess (pod must not set '
        "securityContext.windowsOptions.hostProcess=true)"
    )
    result = run_shell(windows_cluster, "-n", "secure", "node-3")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "retina-tui: Namespace secure enforces Pod Security level baseline (label "
        "pod-security.kubernetes.io/enforce=baseline), which forbids the HostProcess container "
        "and the host network a Windows node shell needs; run it with -n NAMESPACE for a "
        "namespace whose level is privileged."
    )
    assert debug_pods(windows_cluster) == []


def test_gc_reaps_an_orphaned_windows_node_pod(
    windows_cluster: SandboxProcess, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[supervisor]\nrenew_interval_seconds = 1\n")
    child = spawn_cli(shell(windows_cluster, "--config", str(config), "-n", "default", "node-3"))
    try:
        child.expect_exact(PS_PROMPT)
        orphan = the_debug_pod(windows_cluster)["metadata"]["name"]
        child.kill(signal.SIGKILL)
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert debug_pods(windows_cluster) == [orphan]
    gc = [sys.executable, "-m", "retina_tui", "gc", "--kubeconfig", str(windows_cluster.kubeconfig)]
    deadline = time.monotonic() + 30
    while True:
        result = subprocess.run(
            [*gc, "-n", "default"], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
        if f"deleted pod default/{orphan}" in result.stdout:
            break
        assert time.monotonic() < deadline, result.stdout
        time.sleep(1)
    for _ in range(60):
        if not debug_pods(windows_cluster):
            break
        time.sleep(0.5)
    assert debug_pods(windows_cluster) == []


def test_a_capture_of_a_windows_pod_is_refused_before_anything_is_added(
    windows_cluster: SandboxProcess, tmp_path: Path
) -> None:
    before = ephemeral(windows_cluster, "win", "iis")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "retina_tui",
            "capture",
            "--kubeconfig",
            str(windows_cluster.kubeconfig),
            "-n",
            "win",
            "--duration",
            "5s",
            "-o",
            str(tmp_path / "out.pcapng"),
            "pod/iis",
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "Pod win/iis runs Windows, and retina-tui runs commands (after --, for captures" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    assert ephemeral(windows_cluster, "win", "iis") == before


def test_a_windows_node_fails_a_container_of_another_build_as_containerd_does(
    windows_cluster: SandboxProcess,
) -> None:
    windows_cluster.kubectl(
        "debug",
        "-n",
        "win",
        "agent",
        "--image=mcr.microsoft.com/windows/servercore:ltsc2019",
        "--profile=legacy",
        "--attach=false",
        "-c",
        "old",
        "--",
        "cmd.exe",
        check=True,
    )
    deadline = time.monotonic() + 30
    while True:
        pod = kubectl_json(windows_cluster, "get", "pod", "-n", "win", "agent")
        statuses = {s["name"]: s for s in pod["status"].get("ephemeralContainerStatuses") or []}
        state = statuses.get("old", {}).get("state", {})
        if "terminated" in state:
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
    terminated = state["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("StartError", 128)
    assert terminated["message"].endswith(
        "The container operating system does not match the host operating system.: unknown"
    )


def test_the_shell_flag_picks_the_program_on_linux_too(windows_cluster: SandboxProcess) -> None:
    child = spawn_cli(shell(windows_cluster, "-n", "default", "--shell", "sh", "node-1"))
    try:
        child.expect_exact("already present on machine")
        child.sendline("echo shell=$0")  # sh redraws no prompt it printed before the attach
        child.expect(r"shell=\S*sh\r")
        (container,) = the_debug_pod(windows_cluster)["spec"]["containers"]
        assert container["command"] == ["sh"]
        assert exit_shell(child) == 0
    finally:
        child.close(force=True)
    before = len(ephemeral(windows_cluster, "shop", "web"))
    child = spawn_cli(shell(windows_cluster, "-n", "shop", "--shell", "sh", "pod/web"))
    try:
        child.expect_exact("already present on machine")
        child.sendline("echo shell=$0")
        child.expect(r"shell=\S*sh\r")
        (added,) = ephemeral(windows_cluster, "shop", "web")[before:]
        assert added["command"][:2] == ["sh", "-c"] and added["command"][-1] == "sh"
        assert exit_shell(child) == 0
    finally:
        child.close(force=True)


def test_the_retina_image_variables_name_the_windows_image_too(
    windows_cluster: SandboxProcess,
) -> None:
    repo = "mcr.microsoft.com/windows/servercore"
    before = ephemeral(windows_cluster, "win", "agent")
    env = {"RETINA_SHELL_IMAGE_REPO": repo, "RETINA_SHELL_IMAGE_VERSION": "ltsc2019"}
    result = run_shell(windows_cluster, "-n", "win", "pod/agent", env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith(
        f"retina-tui: The image {repo}:ltsc2019 is built for Windows Server 2019 (build 17763)"
    )
    assert ephemeral(windows_cluster, "win", "agent") == before
    child = pexpect.spawn(
        sys.executable,
        shell(windows_cluster, "-n", "win", "pod/agent"),
        env={**os.environ, "TERM": "xterm", **env, "RETINA_SHELL_IMAGE_VERSION": "ltsc2022"},
        timeout=60,
        encoding="utf-8",
    )
    try:
        child.expect_exact(PS_PROMPT)
        (added,) = ephemeral(windows_cluster, "win", "agent")[len(before) :]
        assert added["image"] == f"{repo}:ltsc2022"
        assert exit_shell(child) == 0
    finally:
        child.close(force=True)
