"""`retina-tui shell` flags seen from the cluster and from inside the shell, through a pty."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures_sandbox import SandboxProcess
from tests.test_shell_cli_pty import (
    debug_pods,
    finish,
    kubectl_json,
    linux_node,
    one_error_line,
    reach_prompt,
    run,
    run_cli,
    running_pod,
    spawn,
    spawn_cli,
)


def test_repeated_capabilities_are_all_added(sandbox_cluster: SandboxProcess) -> None:
    name = running_pod(sandbox_cluster)["metadata"]["name"]
    child = spawn(sandbox_cluster, "-c", "NET_ADMIN", "-c", "SYS_PTRACE", f"pod/{name}")
    try:
        reach_prompt(child)
        pod = kubectl_json(sandbox_cluster, "get", "pod", "-n", "default", name)
        added = pod["spec"]["ephemeralContainers"][-1]["securityContext"]["capabilities"]
        assert added == {"add": ["NET_ADMIN", "SYS_PTRACE"], "drop": ["ALL"]}
        assert finish(child, 0) == 0
    finally:
        child.close(force=True)


def test_image_flags_name_the_node_pods_image(sandbox_cluster: SandboxProcess) -> None:
    repo = "mcr.microsoft.com/containernetworking/retina-shell"
    child = spawn(
        sandbox_cluster,
        "--retina-shell-image-repo",
        repo,
        "--retina-shell-image-version",
        "v1.0.0",
        "nodes.v1./" + linux_node(sandbox_cluster)["metadata"]["name"],
    )
    try:
        reach_prompt(child)
        (pod,) = debug_pods(sandbox_cluster)
        spec = kubectl_json(sandbox_cluster, "get", "pod", "-n", "default", pod)["spec"]
        assert spec["containers"][0]["image"] == f"{repo}:v1.0.0"
        assert finish(child, 3) == 3
    finally:
        child.close(force=True)
    assert debug_pods(sandbox_cluster) == []


@pytest.mark.parametrize("impersonate", [False, True])
def test_server_and_impersonation_flags(
    sandbox_cluster: SandboxProcess, tmp_path: Path, impersonate: bool
) -> None:
    config = json.loads(sandbox_cluster.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:9"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps(config))
    name = running_pod(sandbox_cluster)["metadata"]["name"]
    argv = ["-m", "retina_tui", "shell", "--kubeconfig", str(kubeconfig), "-n", "default"]
    argv += ["-s", sandbox_cluster.url, "--request-timeout", "20s"]
    if impersonate:
        # bob has no rights of his own; the group system:masters gives him all of them.
        argv += ["--as", "bob", "--as-group", "system:masters", "--as-uid", "1001"]
    child = spawn_cli([*argv, f"po/{name}"])
    try:
        reach_prompt(child)
        assert "flags-ok" in run(child, "echo flags''-ok")
        assert finish(child, 5) == 5
    finally:
        child.close(force=True)


def test_impersonating_a_user_without_rights_is_refused(sandbox_cluster: SandboxProcess) -> None:
    name = running_pod(sandbox_cluster)["metadata"]["name"]
    code, err = run_cli(sandbox_cluster, "--as", "bob", f"pod/{name}")
    assert code == 1
    line = one_error_line(err)
    assert 'forbidden: User "bob" cannot get resource "pods"' in line
