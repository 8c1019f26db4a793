"""Shape checks of API answers and of kubeconfig files, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from retina_tui.errors import ConfigError, UnexpectedReplyError
from retina_tui.kube.errors import credential_plugin_error, is_transient, unexpected_reply
from retina_tui.kube.kubeconfig import check_kubeconfig, read_kubeconfig
from retina_tui.kube.shapes import POD_FIELDS, expect_items, expect_object, field_problem

WHERE = {"origin": "https://x (context 'c')", "call": "GET /api/v1/pods"}


def test_a_pod_with_the_fields_read_of_the_right_types_passes() -> None:
    pod = {
        "metadata": {"name": "web", "labels": {"a": "b"}},
        "spec": {"containers": [{"name": "app"}], "nodeName": "n1"},
        "status": {"phase": "Running", "containerStatuses": None},
    }
    assert expect_object(pod, "pod", POD_FIELDS, **WHERE) is pod


@pytest.mark.parametrize(
    ("pod", "problem"),
    [
        ({"metadata": []}, "metadata is a list, not an object"),
        ({"metadata": {"name": 3}}, "metadata.name is a number, not a string"),
        ({"metadata": {}, "status": {"phase": 3}}, "status.phase is a number, not a string"),
        ({"metadata": {}, "status": "Running"}, "status is a string, not an object"),
        ({"metadata": {}, "spec": {"containers": ["app"]}}, "spec.containers is a list, not a"),
        ({"metadata": {}, "spec": {"nodeName": True}}, "spec.nodeName is a boolean"),
    ],
)
def test_wrong_field_types_are_named(pod: dict[str, object], problem: str) -> None:
    with pytest.raises(UnexpectedReplyError) as caught:
        expect_object(pod, "pod", POD_FIELDS, **WHERE)
    message = str(caught.value)
    assert problem in message
    assert message.startswith("The API server at https://x (context 'c') answered GET /api/v1/pods")
    assert not is_transient(caught.value)


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ([], "a list where a pod list belongs"),
        ({"kind": "PodList"}, "an object without items"),
        ({"items": "pods"}, "items is a string"),
        ({"items": [1]}, "item 1 is a number"),
        (
            {"items": [{"metadata": {"name": "a"}}, {"metadata": []}]},
            "item 2 has a list as metadata",
        ),
        ({"items": [{"metadata": {}}]}, "item 1 has null as name"),
    ],
)
def test_lists_must_be_lists_of_named_objects(answer: object, problem: str) -> None:
    with pytest.raises(UnexpectedReplyError, match=problem):
        expect_items(answer, "pod", **WHERE)


def test_null_items_is_an_empty_list() -> None:
    assert expect_items({"items": None}, "pod", **WHERE) == []
    assert field_problem({"metadata": {}}, POD_FIELDS) is None


@pytest.mark.parametrize(
    ("raw", "content_type", "parsed", "was_json", "shown"),
    [
        (b"", "application/json", None, False, "an empty body"),
        (b"<!DOCTYPE html><html>", "text/plain", None, False, "HTML"),
        (b"{oops", "text/html; charset=utf-8", None, False, "HTML"),
        (b"oops", "text/plain", None, False, "text that is not JSON"),
        (b"[1]", "application/json", [1], True, "a JSON array"),
        (b"null", "application/json", None, True, "JSON null"),
    ],
)
def test_unexpected_replies_say_what_came(
    raw: bytes, content_type: str, parsed: object, was_json: bool, shown: str
) -> None:
    error = unexpected_reply(
        "https://x", "c", "GET /p", 200, raw, content_type, parsed, was_json=was_json
    )
    assert str(error) == (
        f"The API server at https://x (context 'c') answered GET /p with something that is not "
        f"a Kubernetes object ({shown}, 200): is this the right server or a login proxy?"
    )


def test_a_failed_plugin_is_named_with_its_last_line() -> None:
    error = credential_plugin_error(
        Exception("exec: process returned 1. Opening browser...\nerror: token expired\n"),
        "kubelogin",
        "prod",
    )
    assert str(error).startswith(
        "The credential plugin `kubelogin` of context 'prod' failed (exit status 1: error: "
        "token expired); "
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: [", "is not valid YAML"),
        ("3\n", "holds a YAML number where a mapping"),
        ("clusters: {a: 1}\n", "has a mapping at clusters where a list of named clusters"),
        ("users: [x]\n", "has a string as entry 1 of users"),
        ("users: [{user: {}}]\n", "entry 1 of users without a name"),
        ("contexts: [{name: a, context: x}]\n", "has a string as the context of 'a'"),
        ("current-context: [a]\n", "has a list as current-context"),
    ],
)
def test_kubeconfig_files_of_the_wrong_shape(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "kc"
    path.write_text(text)
    with pytest.raises(ConfigError, match=problem.replace("[", r"\[")):
        read_kubeconfig(path)


def test_kubeconfig_files_merge_first_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_text("contexts: [{name: one, context: {cluster: c}}]\ncurrent-context: one\n")
    second.write_text(
        "contexts: [{name: one, context: {cluster: other}}, {name: two}]\n"
        "clusters: [{name: c, cluster: {server: https://x}}]\ncurrent-context: two\n"
    )
    merged = check_kubeconfig(f"{first}:{second}")
    assert merged.contexts == ["one", "two"] and merged.current == "one"
    merged.check_context("one")
    with pytest.raises(ConfigError, match=r"Context 'two' in the kubeconfig .* names no cluster"):
        merged.check_context("two")


def test_plain_http_to_a_go_tls_server_says_use_https() -> None:
    from retina_tui.errors import ClusterUnreachableError
    from retina_tui.kube.errors import status_error

    error = status_error(
        400,
        b"Client sent an HTTP request to an HTTPS server.\n",
        server="http://x:6443",
        context="c",
    )
    assert isinstance(error, ClusterUnreachableError)
    assert "speaks TLS but was sent plain HTTP; use https://" in str(error)
