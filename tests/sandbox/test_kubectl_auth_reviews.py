"""`kubectl auth can-i --list` and `kubectl auth whoami` against the sandbox's RBAC rules."""

from __future__ import annotations

import json
from typing import Any


def _rows(output: str) -> list[list[str]]:
    """The table kubectl prints, split into columns (runs of 2+ spaces separate them)."""
    lines = output.splitlines()
    assert lines and lines[0].split() == [
        "Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"
    ]  # fmt: skip
    return [[cell.strip() for cell in line.split("   ") if cell.strip()] for line in lines[1:]]


def test_can_i_list_as_admin_shows_everything(sandbox_cluster: Any) -> None:
    result = sandbox_cluster.kubectl("auth", "can-i", "--list")
    assert result.returncode == 0, result.stderr
    rows = _rows(result.stdout)
    assert ["*.*", "[]", "[]", "[*]"] in rows
    assert ["[*]", "[]", "[*]"] in rows
    assert ["selfsubjectreviews.authentication.k8s.io", "[]", "[]", "[create]"] in rows


def test_can_i_list_as_restricted_shows_only_its_reads(sandbox_cluster: Any) -> None:
    result = sandbox_cluster.kubectl("auth", "can-i", "--list", "-n", "shop", context="restricted")
    assert result.returncode == 0, result.stderr
    rows = _rows(result.stdout)
    for resource in ("pods", "nodes", "namespaces"):
        assert [resource, "[]", "[]", "[get list watch]"] in rows
    assert ["selfsubjectaccessreviews.authorization.k8s.io", "[]", "[]", "[create]"] in rows
    assert ["selfsubjectrulesreviews.authorization.k8s.io", "[]", "[]", "[create]"] in rows
    assert ["[*]", "[]", "[get]"] in rows
    assert not any(row[0] == "*.*" for row in rows)
    assert len(rows) == 7, result.stdout


def test_rules_review_matches_what_requests_may_do(sandbox_cluster: Any) -> None:
    """Every listed rule is enforced: a listed verb works, an unlisted one is Forbidden."""
    can = sandbox_cluster.kubectl("get", "nodes", context="restricted")
    assert can.returncode == 0, can.stderr
    cannot = sandbox_cluster.kubectl("get", "leases", "-n", "kube-node-lease", context="restricted")
    assert cannot.returncode == 1
    assert "forbidden" in cannot.stderr


def test_whoami_as_admin_and_restricted(sandbox_cluster: Any) -> None:
    admin = sandbox_cluster.kubectl("auth", "whoami")
    assert admin.returncode == 0, admin.stderr
    assert admin.stdout.split("\n")[:3] == [
        "ATTRIBUTE   VALUE",
        "Username    admin",
        "Groups      [system:masters system:authenticated]",
    ]
    restricted = sandbox_cluster.kubectl("auth", "whoami", "-o", "json", context="restricted")
    assert restricted.returncode == 0, restricted.stderr
    review = json.loads(restricted.stdout)
    assert review["kind"] == "SelfSubjectReview"
    assert review["apiVersion"] == "authentication.k8s.io/v1"
    assert review["status"]["userInfo"] == {
        "username": "restricted",
        "groups": ["system:authenticated"],
    }


def test_whoami_reports_the_impersonated_user(sandbox_cluster: Any) -> None:
    result = sandbox_cluster.kubectl(
        "auth", "whoami", "-o", "json", "--as", "bob", "--as-group", "devs", "--as-uid", "42",
        "--as-user-extra", "reason=debugging",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"]["userInfo"] == {
        "username": "bob",
        "uid": "42",
        "groups": ["devs", "system:authenticated"],
        "extra": {"reason": ["debugging"]},
    }
    refused = sandbox_cluster.kubectl("auth", "whoami", "--as", "bob", context="restricted")
    assert refused.returncode == 1
    assert "do not have permission" in refused.stderr


def test_an_impersonated_user_without_rules_lists_only_the_common_ones(
    sandbox_cluster: Any,
) -> None:
    result = sandbox_cluster.kubectl("auth", "can-i", "--list", "--as", "bob")
    assert result.returncode == 0, result.stderr
    assert [row[0] for row in _rows(result.stdout)] == [
        "selfsubjectreviews.authentication.k8s.io",
        "selfsubjectaccessreviews.authorization.k8s.io",
        "selfsubjectrulesreviews.authorization.k8s.io",
        "[*]",
    ]
