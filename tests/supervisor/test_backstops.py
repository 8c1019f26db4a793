"""Server-side backstops as the engine sends them: a deadline on node pods, TMOUT in shells.

They matter when nobody runs retina-tui again, so they are checked on the objects the
API server received from `retina-tui shell`, built from the configuration file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from retina_tui.kube.client import KubeClient
from tests.supervisor.conftest import wait_for
from tests.supervisor.shells import ShellProcess, shell_env
from tests.supervisor.test_chaos import of_instance


@pytest.fixture
def with_kubelet() -> bool:
    return True


def write_config(tmp_path: Path, *, deadline: int, idle: int) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"[debug]\nactive_deadline_seconds = {deadline}\nidle_logout_seconds = {idle}\n"
        "[supervisor]\nrenew_interval_seconds = 0.5\nreap_interval_seconds = 0.5\n",
        encoding="utf-8",
    )
    return path


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in container.get("env") or []}


async def end_cleanly(shell: ShellProcess) -> None:
    shell.write(b"echo up-$((2+3))\r")
    await shell.expect(b"up-5")
    shell.write(b"exit 0\r")
    assert await shell.wait() == 0


async def test_node_pod_carries_the_deadline_and_the_idle_logout(
    admin: KubeClient, kubeconfig: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path, deadline=4321, idle=77)
    shell = await ShellProcess.start(["node-1"], shell_env(kubeconfig, config, "backstop1"))
    try:
        pods = await wait_for(
            admin,
            "/api/v1/pods",
            lambda pods: len(pods) == 1,
            label_selector=of_instance("backstop1"),
        )
        pod = next(iter(pods.values()))
        assert pod["spec"]["activeDeadlineSeconds"] == 4321
        assert env_of(pod["spec"]["containers"][0])["TMOUT"] == "77"
        await end_cleanly(shell)
    finally:
        await shell.close()
    await wait_for(
        admin, "/api/v1/pods", lambda pods: not pods, label_selector=of_instance("backstop1")
    )


async def test_zero_disables_the_idle_logout(
    admin: KubeClient, kubeconfig: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path, deadline=600, idle=0)
    shell = await ShellProcess.start(["node-2"], shell_env(kubeconfig, config, "backstop2"))
    try:
        pods = await wait_for(
            admin,
            "/api/v1/pods",
            lambda pods: len(pods) == 1,
            label_selector=of_instance("backstop2"),
        )
        pod = next(iter(pods.values()))
        assert "TMOUT" not in env_of(pod["spec"]["containers"][0])
        assert pod["spec"]["activeDeadlineSeconds"] == 600
        await end_cleanly(shell)
    finally:
        await shell.close()


async def test_ephemeral_container_carries_the_idle_logout(
    admin: KubeClient, kubeconfig: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path, deadline=600, idle=77)
    listing = await admin.request("GET", "/api/v1/namespaces/default/pods")
    target = next(
        p["metadata"]["name"]
        for p in listing["items"]
        if (p.get("status") or {}).get("phase") == "Running"
    )
    shell = await ShellProcess.start(
        [f"pod/{target}", "-n", "default"], shell_env(kubeconfig, config, "backstop3")
    )
    try:
        pods = await wait_for(
            admin,
            "/api/v1/namespaces/default/pods",
            lambda pods: bool(pods[f"default/{target}"]["spec"].get("ephemeralContainers")),
        )
        containers = pods[f"default/{target}"]["spec"]["ephemeralContainers"]
        assert [env_of(c).get("TMOUT") for c in containers] == ["77"]
        await end_cleanly(shell)
    finally:
        await shell.close()


async def test_an_abandoned_shell_logs_out_by_itself(
    admin: KubeClient, kubeconfig: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path, deadline=600, idle=1)
    shell = await ShellProcess.start(["node-3"], shell_env(kubeconfig, config, "backstop4"))
    try:
        shell.write(b"echo idle-$((3+4))\r")
        await shell.expect(b"idle-7")
        assert await shell.wait() == 0
    finally:
        await shell.close()
    await wait_for(
        admin, "/api/v1/pods", lambda pods: not pods, label_selector=of_instance("backstop4")
    )
