"""Without root the sandbox cannot isolate containers, and says so once in its log."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from retina_tui.sandbox import isolation
from retina_tui.sandbox.containers import ContainerRunner
from retina_tui.sandbox.podstatus import PodRuntime


def runner() -> ContainerRunner:
    return ContainerRunner(
        network=None,  # type: ignore[arg-type]
        events=None,  # type: ignore[arg-type]
        write_status=lambda rt: None,
        start_delay=0.0,
        unpullable="does-not-exist",
        rootfs={},
    )


def test_without_root_nothing_is_enforced_and_the_log_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with caplog.at_level(logging.WARNING, logger="retina_tui.sandbox"):
        plain = runner()
    assert not plain.isolated
    said = [r.getMessage() for r in caplog.records if "not isolated" in r.getMessage()]
    assert len(said) == 1 and "not running as root" in said[0]
    assert "securityContext" in said[0] and "PID namespaces" in said[0]


class _HostNetwork:
    mode = "host"

    def exec_prefix(self, node: str, pod_key: str | None) -> list[str]:
        return []


def test_without_root_a_container_runs_its_command_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    plain = runner()
    plain.network = _HostNetwork()  # type: ignore[assignment]
    pod: dict[str, Any] = {
        "metadata": {"name": "p", "namespace": "default", "uid": "u"},
        "spec": {"nodeName": "node-1", "securityContext": {"runAsNonRoot": True}},
    }
    rt = PodRuntime("default", "p", "u", "node-1", host_network=False, synthetic=False, pod=pod)
    container = {"name": "main", "command": ["sleep", "1"], "securityContext": {"privileged": True}}
    plan = plain.launch(rt, container, None)
    assert plan.argv == ["sleep", "1"]
    assert plan.env["HOME"] == "/root"
    assert not isolation.available()
