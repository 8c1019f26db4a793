"""`retina-tui shell` in a namespace that enforces the restricted Pod Security level."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures_sandbox import SandboxProcess
from tests.sessions.test_profiles_sandbox import app_manifest
from tests.test_shell_cli_pty import (
    finish,
    kubectl_json,
    one_error_line,
    reach_prompt,
    run,
    run_cli,
    spawn,
)

NAMESPACE = "cli-locked"


@pytest.fixture
def locked_pod(sandbox_cluster: SandboxProcess) -> Iterator[str]:
    """A running pod meeting the restricted level, in a namespace that enforces it."""
    manifests = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": NAMESPACE,
                "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
            },
        },
        app_manifest(NAMESPACE),
    ]
    for manifest in manifests:
        sandbox_cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest), check=True)
    try:
        sandbox_cluster.kubectl(
            "wait", "-n", NAMESPACE, "pod/app", "--for=condition=Ready", "--timeout=60s", check=True
        )
        yield "app"
    finally:
        # Gone before the next test makes them again (its `wait` must not see this pod).
        sandbox_cluster.kubectl(
            "delete", "pod", "-n", NAMESPACE, "app", "--grace-period=0", "--force", "--timeout=30s"
        )
        sandbox_cluster.kubectl("delete", "namespace", NAMESPACE, "--timeout=30s")


def test_the_refusal_names_the_profile_to_use_and_adds_no_container(
    sandbox_cluster: SandboxProcess, locked_pod: str
) -> None:
    code, err = run_cli(sandbox_cluster, f"pod/{locked_pod}", "-n", NAMESPACE)
    assert code != 0
    assert one_error_line(err) == (
        f"retina-tui: Namespace {NAMESPACE} enforces Pod Security level restricted (label "
        "pod-security.kubernetes.io/enforce=restricted), which refuses a debug container with "
        "profile netadmin; retry with --profile restricted or --profile auto."
    )
    pod = kubectl_json(sandbox_cluster, "get", "pod", "-n", NAMESPACE, locked_pod)
    assert not pod["spec"].get("ephemeralContainers")


def test_the_restricted_profile_from_the_settings_opens_the_shell(
    sandbox_cluster: SandboxProcess, locked_pod: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[debug]\nprofile = "restricted"\n')
    child = spawn(sandbox_cluster, f"pod/{locked_pod}", "-n", NAMESPACE, "--config", str(config))
    try:
        child.expect_exact("retina-tui: creating: profile restricted: tcpdump (needs NET_RAW)")
        reach_prompt(child)
        assert "home=/tmp" in run(child, "echo home=$HOME")
        assert finish(child, 0) == 0
    finally:
        child.close(force=True)
    pod = kubectl_json(sandbox_cluster, "get", "pod", "-n", NAMESPACE, locked_pod)
    (added,) = pod["spec"]["ephemeralContainers"]
    assert added["securityContext"]["runAsNonRoot"] is True
