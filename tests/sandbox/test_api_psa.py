"""Pod Security Admission on pods and ephemeral containers, with the real message shape."""

from __future__ import annotations

from typing import Any

import pytest

from retina_tui.sandbox import psa
from tests.sandbox.apiclient import api_only_options, pod_body


@pytest.fixture
def sandbox_options() -> Any:
    return api_only_options()


SECURE = "/api/v1/namespaces/secure/pods"


async def test_baseline_rejects_host_network_and_net_admin(admin_api: Any) -> None:
    body = pod_body("nettool", hostNetwork=True)
    body["spec"]["containers"][0]["securityContext"] = {
        "capabilities": {"add": ["NET_ADMIN", "NET_RAW", "CHOWN"]}
    }
    answer = await admin_api.post(SECURE, body)
    assert answer.status == 403
    assert answer.body["reason"] == "Forbidden"
    assert answer.body["message"] == (
        'pods "nettool" is forbidden: violates PodSecurity "baseline:latest": host namespaces '
        '(hostNetwork=true), non-default capabilities (container "main" must not include '
        '"NET_ADMIN", "NET_RAW" in securityContext.capabilities.add)'
    )
    dry = await admin_api.post(SECURE, body, params={"dryRun": "All"})
    assert dry.status == 403


async def test_baseline_rejects_host_path_pid_and_privileged(admin_api: Any) -> None:
    body = pod_body("hosty", hostPID=True, volumes=[{"name": "root", "hostPath": {"path": "/"}}])
    body["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    answer = await admin_api.post(SECURE, body)
    assert answer.status == 403
    message = answer.body["message"]
    assert "host namespaces (hostPID=true)" in message
    assert 'privileged (container "main" must not set securityContext.privileged=true)' in message
    assert 'hostPath volumes (volume "root")' in message


async def test_baseline_allows_a_plain_pod_and_default_capabilities(admin_api: Any) -> None:
    body = pod_body("fine")
    body["spec"]["containers"][0]["securityContext"] = {"capabilities": {"add": ["CHOWN"]}}
    assert (await admin_api.post(SECURE, body)).status == 201


async def test_ephemeral_container_with_net_admin_is_rejected(admin_api: Any) -> None:
    assert (await admin_api.post(SECURE, pod_body("target", "app"))).status == 201
    answer = await admin_api.request(
        "PATCH",
        f"{SECURE}/target/ephemeralcontainers",
        body={
            "spec": {
                "ephemeralContainers": [
                    {
                        "name": "debugger",
                        "image": "busybox",
                        "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}},
                    }
                ]
            }
        },
        content_type="application/strategic-merge-patch+json",
    )
    assert answer.status == 403
    assert answer.body["message"] == (
        'pods "target" is forbidden: violates PodSecurity "baseline:latest": non-default '
        'capabilities (container "debugger" must not include "NET_ADMIN" in '
        "securityContext.capabilities.add)"
    )
    pod = (await admin_api.get(f"{SECURE}/target")).body
    assert "ephemeralContainers" not in pod["spec"]


async def test_unlabelled_namespace_admits_anything(admin_api: Any) -> None:
    body = pod_body("root", hostNetwork=True)
    body["spec"]["containers"][0]["securityContext"] = {"capabilities": {"add": ["NET_ADMIN"]}}
    assert (await admin_api.post("/api/v1/namespaces/default/pods", body)).status == 201


def test_restricted_level_messages() -> None:
    namespace = {"metadata": {"labels": {psa.ENFORCE_LABEL: "restricted"}}}
    spec = {
        "containers": [
            {"name": "c", "image": "i", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}
        ]
    }
    message = psa.check(namespace, spec)
    assert message == (
        'violates PodSecurity "restricted:latest": '
        'allowPrivilegeEscalation != false (container "c" must set '
        "securityContext.allowPrivilegeEscalation=false), "
        'unrestricted capabilities (container "c" must set securityContext.capabilities.drop='
        '["ALL"]; container "c" must not include "NET_ADMIN" in '
        "securityContext.capabilities.add), "
        'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to '
        '"RuntimeDefault" or "Localhost")'
    )
    compliant = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "c",
                "image": "i",
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                },
            }
        ],
    }
    assert psa.check(namespace, compliant) is None
