"""The API server's Windows rules and Pod Security's Windows checks, as the sandbox applies them."""

from __future__ import annotations

from typing import Any

import pytest

from retina_tui.sandbox import psa
from retina_tui.sandbox.admission import validate_ephemeral_update, validate_pod
from retina_tui.sandbox.errors import ApiError


def windows_pod(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "w"},
        "spec": {
            "os": {"name": "windows"},
            "containers": [{"name": "app", "image": "mcr.microsoft.com/windows/nanoserver"}],
            **spec,
        },
    }


def refusal(pod: dict[str, Any]) -> str:
    with pytest.raises(ApiError) as caught:
        validate_pod(pod)
    assert caught.value.code == 422
    return str(caught.value)


def test_run_as_user_name_is_checked_as_the_api_server_checks_it() -> None:
    pod = windows_pod(securityContext={"windowsOptions": {"runAsUserName": "a\\b\\c"}})
    assert refusal(pod) == (
        'Pod "w" is invalid: spec.securityContext.windowsOptions.runAsUserName: Invalid value: '
        '"a\\b\\c": runAsUserName cannot contain more than one backslash'
    )
    validate_pod(
        windows_pod(
            securityContext={"windowsOptions": {"runAsUserName": "NT AUTHORITY\\Local service"}}
        )
    )


def test_the_os_name_is_linux_or_windows() -> None:
    pod = windows_pod()
    pod["spec"]["os"] = {"name": "plan9"}
    assert refusal(pod) == (
        'Pod "w" is invalid: spec.os: Unsupported value: "plan9": supported values: "linux", '
        '"windows"'
    )


def test_a_windows_pod_may_not_set_linux_fields() -> None:
    pod = windows_pod(hostPID=True, securityContext={"runAsUser": 0})
    pod["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    message = refusal(pod)
    for field in (
        "spec.securityContext.hostPID",
        "spec.securityContext.runAsUser",
        "spec.containers[0].securityContext.privileged",
    ):
        assert f"{field}: Forbidden: cannot be set for a windows pod" in message
    linux = windows_pod(hostPID=True)
    del linux["spec"]["os"]
    validate_pod(linux)


def test_a_host_process_ephemeral_container_cannot_join_a_plain_pod() -> None:
    old = windows_pod()
    new = windows_pod(
        ephemeralContainers=[
            {
                "name": "dbg",
                "image": "x",
                "securityContext": {"windowsOptions": {"hostProcess": True}},
            }
        ]
    )
    with pytest.raises(ApiError) as caught:
        validate_ephemeral_update(old, new)
    assert "If pod contains any hostProcess containers then all containers must be" in (
        str(caught.value)
    )
    assert "spec.hostNetwork: Invalid value: false" in str(caught.value)


def test_restricted_exempts_windows_pods_from_the_linux_checks() -> None:
    namespace = {"metadata": {"labels": {psa.ENFORCE_LABEL: "restricted"}}}
    spec = windows_pod()["spec"]
    assert psa.check(namespace, spec) == (
        'violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or container '
        '"app" must set securityContext.runAsNonRoot=true)'
    )
    linux = dict(spec)
    del linux["os"]
    assert "unrestricted capabilities" in (psa.check(namespace, linux) or "")


def test_baseline_names_every_host_process_setter() -> None:
    namespace = {"metadata": {"labels": {psa.ENFORCE_LABEL: "baseline"}}}
    spec = windows_pod(hostNetwork=True, securityContext={"windowsOptions": {"hostProcess": True}})[
        "spec"
    ]
    spec["containers"][0]["securityContext"] = {"windowsOptions": {"hostProcess": True}}
    assert psa.check(namespace, spec) == (
        'violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), '
        'hostProcess (pod and container "app" must not set '
        "securityContext.windowsOptions.hostProcess=true)"
    )
