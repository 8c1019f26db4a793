"""Names, labels and manifests of debug containers and pods, and PSA explanations."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from retina_tui.errors import ForbiddenError
from retina_tui.sessions.checks import explain_psa_for_node, explain_psa_for_pod
from retina_tui.sessions.node import node_pod_manifest
from retina_tui.sessions.pod import ephemeral_container, pod_shells
from retina_tui.sessions.specs import (
    NodeSessionSpec,
    PodSessionSpec,
    ephemeral_container_name,
    node_pod_name,
    parse_capabilities,
)

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def test_ephemeral_container_name_shape() -> None:
    names = {ephemeral_container_name() for _ in range(50)}
    assert all(re.fullmatch(r"rtui-[a-z0-9]{5}", name) for name in names)
    assert len(names) > 45


@given(st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,120}[a-z0-9])?", fullmatch=True))
def test_node_pod_name_fits_63_and_is_a_dns_label(node: str) -> None:
    name = node_pod_name(node)
    assert len(name) <= 63
    assert name.startswith("rtui-node-")
    assert re.search(r"-[a-z0-9]{5}$", name)
    assert DNS_LABEL.match(name.replace(".", "-"))


def test_short_node_names_are_kept_whole() -> None:
    assert re.fullmatch(r"rtui-node-worker-1-[a-z0-9]{5}", node_pod_name("worker-1"))


def test_capabilities_parsing() -> None:
    assert parse_capabilities("net_admin, CAP_NET_RAW,NET_ADMIN") == ("NET_ADMIN", "NET_RAW")
    assert parse_capabilities("") == ()
    assert parse_capabilities("none") == ()


def test_ephemeral_container_drops_all_and_adds_only_the_configured() -> None:
    spec = PodSessionSpec(namespace="web", pod="api-0", target="app", idle_logout_seconds=90)
    container = ephemeral_container(spec, "rtui-abcde")
    assert container["securityContext"] == {
        "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW"]}
    }
    assert container["targetContainerName"] == "app"
    assert container["stdin"] is True and container["tty"] is True
    assert container["env"] == [{"name": "TMOUT", "value": "90"}]


def test_no_capabilities_and_no_idle_logout() -> None:
    spec = PodSessionSpec(namespace="web", pod="p", capabilities=(), idle_logout_seconds=0)
    container = ephemeral_container(spec, "rtui-abcde")
    assert container["securityContext"] == {"capabilities": {"drop": ["ALL"]}}
    assert "env" not in container and "targetContainerName" not in container


def test_node_pod_manifest() -> None:
    spec = NodeSessionSpec(
        node="n1",
        namespace="debug",
        mount_host_fs=True,
        host_pid=True,
        seccomp_unconfined=True,
        active_deadline_seconds=600,
    )
    pod = node_pod_manifest(spec, "rtui-node-n1-abcde", session_id="s1", instance_id="i1")
    meta, pod_spec = pod["metadata"], pod["spec"]
    assert meta["labels"] == {
        "app.kubernetes.io/managed-by": "retina-tui",
        "retina-tui.io/instance": "i1",
        "retina-tui.io/session": "s1",
    }
    assert set(meta["annotations"]) == {
        "retina-tui.io/created-by",
        "retina-tui.io/created-on-host",
        "retina-tui.io/created-at",
    }
    assert pod_spec["nodeName"] == "n1"
    assert pod_spec["hostNetwork"] is True and pod_spec["hostPID"] is True
    assert pod_spec["automountServiceAccountToken"] is False
    assert pod_spec["restartPolicy"] == "Never"
    assert pod_spec["tolerations"] == [{"operator": "Exists"}]
    assert pod_spec["activeDeadlineSeconds"] == 600
    container = pod_spec["containers"][0]
    assert container["volumeMounts"] == [
        {"name": "host-filesystem", "mountPath": "/host", "readOnly": True},
        {"name": "host-run", "mountPath": "/run", "readOnly": True},
    ]
    assert pod_spec["volumes"] == [
        {"name": "host-filesystem", "hostPath": {"path": "/"}},
        {"name": "host-run", "hostPath": {"path": "/run"}},
    ]
    assert container["securityContext"]["seccompProfile"] == {"type": "Unconfined"}
    assert "appArmorProfile" not in container["securityContext"]


def test_node_pod_without_host_options() -> None:
    spec = NodeSessionSpec(node="n1", namespace="debug", active_deadline_seconds=0)
    pod = node_pod_manifest(spec, "x", session_id="s", instance_id="i")
    assert "hostPID" not in pod["spec"] and "volumes" not in pod["spec"]
    assert "activeDeadlineSeconds" not in pod["spec"]


def test_host_filesystem_write_mounts_read_write() -> None:
    spec = NodeSessionSpec(node="n1", namespace="debug", host_fs_write=True)
    pod = node_pod_manifest(spec, "x", session_id="s", instance_id="i")
    mounts = pod["spec"]["containers"][0]["volumeMounts"]
    assert [(m["mountPath"], m["readOnly"]) for m in mounts] == [("/host", False), ("/run", False)]


PSA_MESSAGE = (
    'pods "rtui-node-n1-abcde" is forbidden: violates PodSecurity "baseline:latest": host '
    'namespaces (hostNetwork=true), non-default capabilities (container "shell" must not '
    'include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add)'
)


def test_psa_refusal_of_a_node_pod_names_the_level_the_label_and_suggests_n() -> None:
    error = explain_psa_for_node(ForbiddenError(PSA_MESSAGE, status=403), "web")
    assert str(error) == (
        "Namespace web enforces Pod Security level baseline (label "
        "pod-security.kubernetes.io/enforce=baseline), which forbids the host network a node "
        "shell needs; run it with -n NAMESPACE for a namespace whose level is privileged."
    )


def test_psa_refusal_of_an_ephemeral_container_names_the_profile_the_level_admits() -> None:
    restricted = PSA_MESSAGE.replace("baseline:latest", "restricted:latest")
    error = explain_psa_for_pod(ForbiddenError(restricted, status=403), "web", "netadmin")
    assert str(error) == (
        "Namespace web enforces Pod Security level restricted (label "
        "pod-security.kubernetes.io/enforce=restricted), which refuses a debug container with "
        "profile netadmin; retry with --profile restricted or --profile auto."
    )
    baseline = explain_psa_for_pod(ForbiddenError(PSA_MESSAGE, status=403), "web", "general")
    assert "retry with --profile baseline or --profile auto." in str(baseline)


def test_a_refusal_of_the_admitted_profile_says_what_the_pod_breaks() -> None:
    error = explain_psa_for_pod(ForbiddenError(PSA_MESSAGE, status=403), "web", "baseline")
    text = str(error)
    assert "refuses this pod even with profile baseline: host namespaces" in text
    assert "--profile" not in text


def test_other_forbidden_errors_are_not_psa() -> None:
    error = ForbiddenError("pods is forbidden: User x", status=403)
    assert explain_psa_for_node(error, "w") is None
    assert explain_psa_for_pod(error, "w", "netadmin") is None


def test_pod_shells_reads_ephemeral_containers_and_annotations() -> None:
    pod = {
        "metadata": {
            "name": "p",
            "namespace": "ns",
            "annotations": {"retina-tui.io/shell.rtui-aaaaa": '{"session": "s1"}'},
        },
        "spec": {
            "ephemeralContainers": [
                {"name": "rtui-aaaaa", "image": "img"},
                {"name": "rtui-bbbbb", "image": "img"},
                {"name": "debugger-x", "image": "img"},
            ]
        },
        "status": {
            "ephemeralContainerStatuses": [
                {"name": "rtui-aaaaa", "state": {"running": {}}},
                {"name": "rtui-bbbbb", "state": {"terminated": {"exitCode": 0}}},
            ]
        },
    }
    shells = pod_shells(pod)
    assert [(s.container, s.running, s.record) for s in shells] == [
        ("rtui-aaaaa", True, {"session": "s1"}),
        ("rtui-bbbbb", False, {}),
    ]
