"""Bad input always gets a Status error (400, 404, 409, 415, 422), never a 500 or a hang."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.apiclient import api_only_options, pod_body


@pytest.fixture
def sandbox_options() -> Any:
    return api_only_options()


PODS = "/api/v1/namespaces/default/pods"
STRATEGIC = "application/strategic-merge-patch+json"


def assert_status(answer: Any, code: int, reason: str) -> None:
    assert answer.status == code, answer.text
    assert answer.body["kind"] == "Status" and answer.body["status"] == "Failure"
    assert answer.body["code"] == code and answer.body["reason"] == reason


async def test_malformed_json_is_bad_request(admin_api: Any) -> None:
    for raw in (b"{not json", b"[1, 2", b"\xff\xfe", b"   "):
        answer = await admin_api.request("POST", PODS, raw=raw)
        assert_status(answer, 400, "BadRequest")
    patch = await admin_api.request(
        "PATCH", f"{PODS}/x", raw=b"{oops", content_type="application/merge-patch+json"
    )
    assert patch.status in (400, 404)
    await admin_api.post(PODS, pod_body("target"))
    broken = await admin_api.request(
        "PATCH", f"{PODS}/target", raw=b"{oops", content_type="application/merge-patch+json"
    )
    assert_status(broken, 400, "BadRequest")


async def test_wrong_field_types_are_bad_request(admin_api: Any) -> None:
    cases = [
        (pod_body("t1", hostNetwork="yes"), "spec.hostNetwork"),
        ({**pod_body("t2"), "spec": {"containers": "main"}}, "spec.containers"),
        ({**pod_body("t3"), "metadata": {"name": "t3", "labels": {"a": 1}}}, "metadata.labels.a"),
        (
            {
                **pod_body("t4"),
                "spec": {
                    "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": "80"}]}]
                },
            },
            "spec.containers.ports.containerPort",
        ),
        (["not", "an", "object"], "Pod"),
    ]
    for body, where in cases:
        answer = await admin_api.post(PODS, body)
        assert_status(answer, 400, "BadRequest")
        assert "cannot unmarshal" in answer.body["message"]
        assert where in answer.body["message"], answer.body["message"]


async def test_patch_of_a_missing_pod_is_not_found(admin_api: Any) -> None:
    answer = await admin_api.request(
        "PATCH",
        f"{PODS}/ghost/ephemeralcontainers",
        body={"spec": {"ephemeralContainers": [{"name": "d", "image": "busybox"}]}},
        content_type=STRATEGIC,
    )
    assert_status(answer, 404, "NotFound")
    assert answer.body["message"] == 'pods "ghost" not found'
    plain = await admin_api.request(
        "PATCH", f"{PODS}/ghost", body={}, content_type="application/merge-patch+json"
    )
    assert_status(plain, 404, "NotFound")


async def test_duplicate_container_names_are_invalid(admin_api: Any) -> None:
    answer = await admin_api.post(PODS, pod_body("dup", "app", "app"))
    assert_status(answer, 422, "Invalid")
    assert answer.body["details"]["causes"] == [
        {
            "reason": "FieldValueDuplicate",
            "message": 'Duplicate value: "app"',
            "field": "spec.containers[1].name",
        }
    ]
    assert answer.body["message"] == (
        'Pod "dup" is invalid: spec.containers[1].name: Duplicate value: "app"'
    )
    assert (await admin_api.get(f"{PODS}/dup")).status == 404


async def test_other_invalid_pods(admin_api: Any) -> None:
    no_containers = await admin_api.post(PODS, {"metadata": {"name": "empty"}, "spec": {}})
    assert_status(no_containers, 422, "Invalid")
    assert no_containers.body["details"]["causes"][0]["field"] == "spec.containers"
    bad_name = await admin_api.post(PODS, pod_body("Not_A_Name"))
    assert_status(bad_name, 422, "Invalid")
    assert "RFC 1123 subdomain" in bad_name.body["message"]
    no_image = pod_body("noimg")
    del no_image["spec"]["containers"][0]["image"]
    answer = await admin_api.post(PODS, no_image)
    assert_status(answer, 422, "Invalid")
    assert answer.body["details"]["causes"][0]["field"] == "spec.containers[0].image"


async def test_ephemeral_containers_can_be_added_but_never_removed_or_changed(
    admin_api: Any,
) -> None:
    await admin_api.post(PODS, pod_body("eph", "app"))
    path = f"{PODS}/eph/ephemeralcontainers"
    debugger = {"name": "debugger", "image": "busybox:1.36", "targetContainerName": "app"}
    added = await admin_api.request(
        "PATCH", path, body={"spec": {"ephemeralContainers": [debugger]}}, content_type=STRATEGIC
    )
    assert added.status == 200, added.text
    assert [c["name"] for c in added.body["spec"]["ephemeralContainers"]] == ["debugger"]

    second = {"name": "second", "image": "busybox:1.36"}
    merged = await admin_api.request(
        "PATCH", path, body={"spec": {"ephemeralContainers": [second]}}, content_type=STRATEGIC
    )
    assert [c["name"] for c in merged.body["spec"]["ephemeralContainers"]] == [
        "debugger",
        "second",
    ]

    current = merged.body
    current["spec"]["ephemeralContainers"] = current["spec"]["ephemeralContainers"][1:]
    removed = await admin_api.request("PUT", path, body=current)
    assert_status(removed, 422, "Invalid")
    assert removed.body["details"]["causes"][0]["field"] == "spec.ephemeralContainers"
    assert 'existing ephemeral containers "debugger" may not be removed' in removed.body["message"]

    changed = await admin_api.request(
        "PATCH",
        path,
        body={"spec": {"ephemeralContainers": [{"name": "debugger", "image": "alpine"}]}},
        content_type=STRATEGIC,
    )
    assert_status(changed, 422, "Invalid")
    assert 'existing ephemeral containers "debugger" may not be changed' in changed.body["message"]

    clash = await admin_api.request(
        "PATCH",
        path,
        body={"spec": {"ephemeralContainers": [{"name": "app", "image": "busybox"}]}},
        content_type=STRATEGIC,
    )
    assert_status(clash, 422, "Invalid")
    assert clash.body["details"]["causes"][0] == {
        "reason": "FieldValueDuplicate",
        "message": 'Duplicate value: "app"',
        "field": "spec.ephemeralContainers[2].name",
    }

    wrong_target = await admin_api.request(
        "PATCH",
        path,
        body={
            "spec": {
                "ephemeralContainers": [
                    {"name": "third", "image": "busybox", "targetContainerName": "nope"}
                ]
            }
        },
        content_type=STRATEGIC,
    )
    assert_status(wrong_target, 422, "Invalid")
    pod = (await admin_api.get(f"{PODS}/eph")).body
    assert [c["name"] for c in pod["spec"]["ephemeralContainers"]] == ["debugger", "second"]

    through_main = await admin_api.request(
        "PATCH",
        f"{PODS}/eph",
        body={"spec": {"ephemeralContainers": [{"name": "sneaky", "image": "busybox"}]}},
        content_type=STRATEGIC,
    )
    assert through_main.status == 200, through_main.text
    pod = (await admin_api.get(f"{PODS}/eph")).body
    assert "sneaky" not in [c["name"] for c in pod["spec"]["ephemeralContainers"]]


async def test_watch_with_garbage_resource_version_is_bad_request(admin_api: Any) -> None:
    for garbage in ("abc", "-5", "1.5"):
        answer = await admin_api.get(PODS, params={"watch": "1", "resourceVersion": garbage})
        assert_status(answer, 400, "BadRequest")
        assert garbage in answer.body["message"]


async def test_bad_selectors_and_parameters_are_bad_request(admin_api: Any) -> None:
    assert_status(await admin_api.get(PODS, params={"labelSelector": "a in (b"}), 400, "BadRequest")
    unsupported = await admin_api.get(PODS, params={"fieldSelector": "spec.restartPolicy=Never"})
    assert_status(unsupported, 400, "BadRequest")
    assert unsupported.body["message"] == "field label not supported: spec.restartPolicy"
    assert_status(await admin_api.get(PODS, params={"limit": "many"}), 400, "BadRequest")
    assert_status(
        await admin_api.get(PODS, params={"watch": "true", "timeoutSeconds": "soon"}),
        400,
        "BadRequest",
    )
    assert_status(await admin_api.get(PODS, params={"continue": "%%%"}), 400, "BadRequest")


async def test_json_patch_errors_are_statuses(admin_api: Any) -> None:
    await admin_api.post(PODS, pod_body("jp"))
    for body in (
        {"op": "add"},
        [{"op": "frobnicate", "path": "/a"}],
        [{"op": "remove", "path": "/metadata/nothing/here"}],
        [{"op": "replace", "path": "/spec/hostNetwork", "value": "yes"}],
    ):
        answer = await admin_api.request(
            "PATCH", f"{PODS}/jp", body=body, content_type="application/json-patch+json"
        )
        assert answer.status in (400, 422), answer.text
        assert answer.body["kind"] == "Status"


async def test_unknown_fields_follow_field_validation(admin_api: Any) -> None:
    body = pod_body("typo")
    body["spec"]["containers"][0]["imagee"] = "busybox"
    body["spec"]["hostNetwrk"] = True
    strict = await admin_api.post(PODS, body, params={"fieldValidation": "Strict"})
    assert_status(strict, 400, "BadRequest")
    assert strict.body["message"] == (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: '
        'unknown field "spec.hostNetwrk", unknown field "spec.containers[0].imagee"'
    )
    warned = await admin_api.post(PODS, body)
    assert warned.status == 201
    assert warned.headers["Warning"] == '299 - "unknown field \\"spec.hostNetwrk\\""'
    bogus = await admin_api.post(PODS, pod_body("x"), params={"fieldValidation": "Loose"})
    assert_status(bogus, 400, "BadRequest")
