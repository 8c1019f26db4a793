"""Field sets, FieldsV1, apply merges and conflicts of `managedfields`, without a server."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retina_tui.sandbox import managedfields as mf
from retina_tui.sandbox.errors import ApiError

POD = mf.Shape.of("Pod", "", has_status=True)
NOW = "2026-01-01T00:00:00Z"


def pod(image: str = "busybox:1.36", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": labels if labels is not None else {"app": "a"}},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": image,
                    "command": ["sleep", "1"],
                    "ports": [{"containerPort": 80}],
                }
            ]
        },
    }  # fmt: skip


def apply(live: dict[str, Any], config: dict[str, Any], manager: str, force: bool = False) -> Any:
    return mf.apply(live, config, manager, POD, force=force, api_version="v1", now=NOW)


def owned(obj: dict[str, Any], manager: str) -> set[mf.Path]:
    for entry in mf.decode(obj):
        if entry.manager == manager:
            return entry.fields
    return set()


def test_fields_v1_of_an_applied_pod_is_in_the_api_server_format() -> None:
    created = apply({}, pod(), "a")
    [entry] = created["metadata"]["managedFields"]
    assert {k: entry[k] for k in ("manager", "operation", "apiVersion", "fieldsType")} == {
        "manager": "a",
        "operation": "Apply",
        "apiVersion": "v1",
        "fieldsType": "FieldsV1",
    }
    assert entry["fieldsV1"] == {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {
            "f:containers": {
                'k:{"name":"c"}': {
                    ".": {},
                    "f:command": {},
                    "f:image": {},
                    "f:name": {},
                    "f:ports": {
                        'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}
                    },
                }
            }
        },
    }


def test_update_entries_own_added_maps_and_set_members() -> None:
    new = {"metadata": {"labels": {"a": "1"}, "finalizers": ["x"]}, "spec": {"nodeName": "n"}}
    mf.record_update({}, new, "kubectl-edit", POD, "v1", NOW, "")
    [entry] = new["metadata"]["managedFields"]
    assert entry["operation"] == "Update"
    fields = entry["fieldsV1"]
    assert fields["f:metadata"]["f:labels"] == {".": {}, "f:a": {}}
    assert 'v:"x"' in fields["f:metadata"]["f:finalizers"]
    assert fields["f:spec"] == {"f:nodeName": {}}


element = st.one_of(
    st.from_regex(r"f:[a-z]{1,4}", fullmatch=True),
    st.builds(lambda n: "k:" + json.dumps({"name": n}, separators=(",", ":")), st.text("ab")),
    st.builds(lambda v: "v:" + json.dumps(v), st.integers(0, 9)),
)  # fmt: skip


@given(st.sets(st.lists(element, min_size=1, max_size=4).map(tuple), max_size=12))
def test_fields_v1_round_trips_any_set_of_paths(paths: set[mf.Path]) -> None:
    assert mf.from_fields_v1(mf.to_fields_v1(paths)) == paths


def test_path_strings_name_keys_and_values() -> None:
    path = ("f:spec", "f:containers", 'k:{"name":"c"}', "f:ports")
    assert mf.path_string((*path, 'k:{"containerPort":80,"protocol":"TCP"}')) == (
        '.spec.containers[name="c"].ports[containerPort=80,protocol="TCP"]'
    )
    assert mf.path_string(("f:metadata", "f:finalizers", 'v:"x"')) == '.metadata.finalizers[="x"]'


def test_reapplying_without_a_field_removes_it_unless_someone_else_owns_it() -> None:
    live = apply({}, pod(labels={"app": "a", "tier": "web"}), "a")
    dropped = apply(copy.deepcopy(live), pod(labels={"app": "a"}), "a")
    assert dropped["metadata"]["labels"] == {"app": "a"}
    shared = apply(copy.deepcopy(live), pod(labels={"tier": "web"}), "b")
    kept = apply(shared, pod(labels={"app": "a"}), "a")
    assert kept["metadata"]["labels"] == {"app": "a", "tier": "web"}
    assert ("f:metadata", "f:labels", "f:tier") in owned(kept, "b")


def test_removing_a_container_from_the_config_removes_the_container() -> None:
    two = pod()
    two["spec"]["containers"].append({"name": "d", "image": "busybox:1.36"})
    live = apply({}, two, "a")
    one = apply(live, pod(), "a")
    assert [c["name"] for c in one["spec"]["containers"]] == ["c"]


def test_a_field_owned_by_another_applier_conflicts_until_forced() -> None:
    live = apply({}, pod(), "a")
    with pytest.raises(ApiError) as raised:
        apply(copy.deepcopy(live), pod(image="busybox:1.37"), "b")
    error = raised.value
    assert (error.code, error.reason) == (409, "Conflict")
    assert error.message == (
        'Apply failed with 1 conflict: conflict with "a": .spec.containers[name="c"].image'
    )
    assert error.status()["details"] == {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "a"',
                "field": '.spec.containers[name="c"].image',
            }
        ]
    }
    forced = apply(copy.deepcopy(live), pod(image="busybox:1.37"), "b", force=True)
    assert forced["spec"]["containers"][0]["image"] == "busybox:1.37"
    image = ("f:spec", "f:containers", 'k:{"name":"c"}', "f:image")
    assert image in owned(forced, "b") and image not in owned(forced, "a")


def test_the_same_value_is_shared_not_a_conflict() -> None:
    live = apply({}, pod(), "a")
    both = apply(live, pod(), "b")
    image = ("f:spec", "f:containers", 'k:{"name":"c"}', "f:image")
    assert image in owned(both, "a") and image in owned(both, "b")


def test_an_update_takes_ownership_and_apply_then_conflicts_with_it() -> None:
    live = apply({}, pod(), "a")
    edited = copy.deepcopy(live)
    edited["metadata"]["labels"]["app"] = "edited"
    mf.record_update(live, edited, "kubectl-edit", POD, "v1", NOW, "")
    assert ("f:metadata", "f:labels", "f:app") not in owned(edited, "a")
    with pytest.raises(ApiError) as raised:
        apply(edited, pod(labels={"app": "b"}, image="busybox:1.37"), "a")
    assert raised.value.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .metadata.labels.app'
    )


def test_several_conflicts_are_listed_by_manager() -> None:
    live = apply({}, pod(), "a")
    with pytest.raises(ApiError) as raised:
        apply(live, pod(image="busybox:1.37", labels={"app": "z"}), "b")
    assert raised.value.message == (
        'Apply failed with 2 conflicts: conflicts with "a":\n'
        "- .metadata.labels.app\n"
        '- .spec.containers[name="c"].image'
    )
    assert len(raised.value.causes) == 2


def test_a_keyed_item_without_its_key_is_refused() -> None:
    config = pod()
    del config["spec"]["containers"][0]["name"]
    with pytest.raises(ApiError) as raised:
        apply({}, config, "a")
    assert raised.value.code == 400
    assert str(raised.value) == (
        "failed to create typed patch object (/p; /v1, Kind=Pod): .spec.containers: element 0: "
        'associative list with keys has an element that omits key field "name" (and doesn\'t '
        "have default value)"
    )


def test_manager_name_defaults_to_the_user_agent_product() -> None:
    assert mf.manager_name(None, "kubectl/v1.37.1 (linux/amd64) kubernetes/f78e722") == "kubectl"
    assert mf.manager_name("", "OpenAPI-Generator/37.0.0/python") == "OpenAPI-Generator"
    assert mf.manager_name("mine", "kubectl/v1.37.1") == "mine"


labels = st.dictionaries(
    st.from_regex(r"[a-z]{1,5}", fullmatch=True), st.sampled_from("xyz"), max_size=4
)
names = st.lists(st.sampled_from(["c", "d", "e"]), unique=True, min_size=1, max_size=3)


@given(labels, names, labels, names)
def test_apply_is_convergent_for_one_manager(
    first_labels: dict[str, str], first: list[str], second_labels: dict[str, str], second: list[str]
) -> None:
    def config(lbls: dict[str, str], containers: list[str]) -> dict[str, Any]:
        body = pod(labels=lbls)
        body["spec"]["containers"] = [{"name": n, "image": f"img-{n}"} for n in containers]
        return body

    live = apply({}, config(first_labels, first), "a")
    target = config(second_labels, second)
    result = apply(live, target, "a")
    assert result["metadata"].get("labels", {}) == second_labels
    assert result["spec"]["containers"] == target["spec"]["containers"]
    assert owned(result, "a") == set(mf.fields_of(target, POD, map_members=False))
    assert apply(copy.deepcopy(result), target, "a") == result


@pytest.mark.parametrize(
    "fields", [[], {"f:a": []}, {"x:a": {}}, {"k:not-json": {}}, {"k:[1]": {}}, {"i:x": {}}]
)
def test_malformed_fields_v1_is_a_bad_request(fields: Any) -> None:
    with pytest.raises(ApiError) as raised:
        mf.from_fields_v1(fields)
    assert raised.value.code == 400


def test_duplicate_keys_in_an_applied_list_are_refused() -> None:
    config = pod()
    config["spec"]["containers"][0]["env"] = [{"name": "A"}, {"name": "A", "value": "2"}]
    with pytest.raises(ApiError) as raised:
        apply({}, config, "a")
    assert str(raised.value).endswith(
        '.spec.containers[name="c"].env: duplicate entries for key [name="A"]'
    )
