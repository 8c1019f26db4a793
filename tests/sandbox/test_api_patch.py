"""The three patch types, including the strategic-merge directives kubectl sends."""

from __future__ import annotations

from typing import Any

import pytest

from retina_tui.sandbox.errors import ApiError
from retina_tui.sandbox.patch import apply_patch, json_patch, merge_patch, strategic_merge_patch

POD: dict[str, Any] = {
    "metadata": {"labels": {"a": "1", "b": "2"}, "finalizers": ["x"]},
    "spec": {
        "containers": [
            {"name": "app", "image": "old", "env": [{"name": "A", "value": "1"}]},
            {"name": "side", "image": "s"},
        ],
        "ephemeralContainers": [{"name": "debugger", "image": "busybox"}],
        "tolerations": [{"key": "k"}],
    },
}


def test_merge_patch_replaces_lists_and_deletes_nulls() -> None:
    result = merge_patch(
        POD, {"metadata": {"labels": {"a": None, "c": "3"}}, "spec": {"tolerations": []}}
    )
    assert result["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert result["spec"]["tolerations"] == []
    assert POD["metadata"]["labels"] == {"a": "1", "b": "2"}


def test_strategic_merge_merges_by_name_and_keeps_others() -> None:
    result = strategic_merge_patch(
        POD,
        {
            "spec": {
                "containers": [
                    {"name": "app", "image": "new", "env": [{"name": "B", "value": "2"}]}
                ],
                "ephemeralContainers": [{"name": "second", "image": "alpine"}],
            }
        },
    )
    app = result["spec"]["containers"][0]
    assert app["image"] == "new"
    assert app["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert [c["name"] for c in result["spec"]["containers"]] == ["app", "side"]
    assert [c["name"] for c in result["spec"]["ephemeralContainers"]] == ["debugger", "second"]


def test_strategic_merge_directives() -> None:
    result = strategic_merge_patch(
        POD,
        {
            "metadata": {"$deleteFromPrimitiveList/finalizers": ["x"], "finalizers": ["y"]},
            "spec": {
                "$setElementOrder/containers": [{"name": "side"}, {"name": "app"}],
                "containers": [{"name": "side", "$patch": "delete"}, {"name": "new", "image": "n"}],
                "tolerations": [{"key": "other"}],
            },
        },
    )
    assert [c["name"] for c in result["spec"]["containers"]] == ["app", "new"]
    assert result["spec"]["tolerations"] == [{"key": "other"}]
    assert result["metadata"]["finalizers"] == ["y"]
    replaced = strategic_merge_patch(POD, {"metadata": {"labels": {"$patch": "replace", "z": "9"}}})
    assert replaced["metadata"]["labels"] == {"z": "9"}
    retained = strategic_merge_patch(
        {"spec": {"a": 1, "b": 2}}, {"spec": {"$retainKeys": ["b"], "b": 3}}
    )
    assert retained == {"spec": {"b": 3}}


def test_json_patch_operations() -> None:
    result = json_patch(
        POD,
        [
            {"op": "copy", "from": "/metadata/labels/a", "path": "/metadata/labels/copy"},
            {"op": "move", "from": "/metadata/labels/b", "path": "/metadata/labels/moved"},
            {"op": "add", "path": "/spec/containers/-", "value": {"name": "third", "image": "t"}},
            {"op": "remove", "path": "/spec/tolerations/0"},
        ],
    )
    assert result["metadata"]["labels"] == {"a": "1", "copy": "1", "moved": "2"}
    assert [c["name"] for c in result["spec"]["containers"]] == ["app", "side", "third"]
    assert result["spec"]["tolerations"] == []


@pytest.mark.parametrize(
    ("content_type", "body", "code"),
    [
        ("application/merge-patch+json", [1], 400),
        ("application/strategic-merge-patch+json", "x", 400),
        ("application/strategic-merge-patch+json", {"spec": {"containers": [{"image": "x"}]}}, 400),
        ("application/json-patch+json", {"op": "add"}, 400),
        ("application/json-patch+json", [{"op": "test", "path": "/spec", "value": 1}], 422),
        ("application/xml", {}, 415),
    ],
)
def test_bad_patches_raise_api_errors(content_type: str, body: Any, code: int) -> None:
    with pytest.raises(ApiError) as error:
        apply_patch(content_type, POD, body)
    assert error.value.code == code
