"""Protobuf bodies kubectl sends, decoded as the API server would (golden bytes)."""

from __future__ import annotations

from typing import Any

import pytest

from retina_tui.sandbox import protobuf
from retina_tui.sandbox.errors import ApiError
from tests.sandbox.apiclient import api_only_options, pod_body

# What `kubectl debug node/node-1 --image=busybox:1.36 -- true` (kubectl 1.37) POSTs.
NODE_DEBUG_POD = bytes.fromhex(
    "6b3873000a090a0276311203506f641291020a590a1a6e6f64652d64656275676765722d6e6f64652d312d67"
    "7266767712001a0022002a003200380042005a2d0a1c6170702e6b756265726e657465732e696f2f6d616e61"
    "6765642d6279120d6b75626563746c2d6465627567129e010a120a09686f73742d726f6f7412050a030a012f"
    "12500a086465627567676572120c62757379626f783a312e33361a04747275652a0042004a180a09686f7374"
    "2d726f6f7410001a052f686f7374220032006a007200800100880100900100a2010446696c651a054e657665"
    "72320042004a0052066e6f64652d315801600168018201008a01009a0100b2010e0a0012064578697374731a"
    "002200c201001a130a001a0022002a0032004a005a0072008801001a002200"
)


@pytest.fixture
def sandbox_options() -> Any:
    return api_only_options()


def _field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def _envelope(kind: str, raw: bytes) -> bytes:
    type_meta = _field(1, b"v1") + _field(2, kind.encode())
    return protobuf.MAGIC + _field(1, type_meta) + _field(2, raw)


def test_node_debug_pod_decodes_like_its_json() -> None:
    pod = protobuf.decode_object("Pod", NODE_DEBUG_POD)
    assert pod["metadata"]["name"] == "node-debugger-node-1-grfvw"
    assert pod["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "kubectl-debug"}
    spec = pod["spec"]
    assert spec["nodeName"] == "node-1"
    assert (spec["hostNetwork"], spec["hostPID"], spec["hostIPC"]) == (True, True, True)
    assert spec["restartPolicy"] == "Never"
    assert spec["tolerations"] == [{"operator": "Exists"}]
    assert spec["volumes"] == [{"name": "host-root", "hostPath": {"path": "/"}}]
    container = spec["containers"][0]
    assert container["name"] == "debugger" and container["image"] == "busybox:1.36"
    assert container["command"] == ["true"]
    assert container["volumeMounts"] == [{"name": "host-root", "mountPath": "/host"}]
    assert "stdin" not in container and "workingDir" not in container


def test_wrong_kind_and_garbage_are_bad_requests() -> None:
    with pytest.raises(ApiError) as wrong:
        protobuf.decode_object("Namespace", NODE_DEBUG_POD)
    assert wrong.value.code == 400
    for garbage in (b"", b"k8s\x00\xff\xff", NODE_DEBUG_POD[:40], b"{}"):
        with pytest.raises(ApiError) as error:
            protobuf.decode_object("Pod", garbage)
        assert error.value.code == 400


async def test_protobuf_delete_options_with_zero_grace_remove_at_once(
    api_sandbox: Any, admin_api: Any
) -> None:
    api_sandbox.server.resources.finish_deletions = False
    await admin_api.post("/api/v1/namespaces/default/pods", pod_body("quick"))
    options = _envelope("DeleteOptions", bytes([1 << 3, 0]))
    answer = await admin_api.request(
        "DELETE",
        "/api/v1/namespaces/default/pods/quick",
        raw=options,
        content_type="application/vnd.kubernetes.protobuf",
    )
    assert answer.status == 200, answer.text
    assert api_sandbox.store.get("pods", "default", "quick") is None


async def test_protobuf_pod_is_admitted_like_json(admin_api: Any) -> None:
    answer = await admin_api.request(
        "POST",
        "/api/v1/namespaces/secure/pods",
        raw=NODE_DEBUG_POD,
        content_type="application/vnd.kubernetes.protobuf",
    )
    assert answer.status == 403
    assert (
        "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)" in (answer.body["message"])
    )
    leases = await admin_api.request(
        "POST",
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        raw=NODE_DEBUG_POD,
        content_type="application/vnd.kubernetes.protobuf",
    )
    assert leases.status == 415
