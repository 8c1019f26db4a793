"""The real kubectl reads the sandbox: get (Tables), -o wide, -o json, api-resources, can-i."""

from __future__ import annotations

import json
import subprocess
from typing import Any


def columns(output: str) -> list[str]:
    """Header names of kubectl's table output (split on runs of 2+ spaces)."""
    header = output.splitlines()[0]
    return [part.strip() for part in header.split("  ") if part.strip()]


def rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines()[1:] if line.strip()]


def test_get_nodes(sandbox_cluster: Any) -> None:
    result = sandbox_cluster.kubectl("get", "nodes")
    assert result.returncode == 0, result.stderr
    assert columns(result.stdout) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    table = rows(result.stdout)
    assert [row[0] for row in table] == ["node-1", "node-2", "node-3"]
    assert all(row[1] == "Ready" for row in table)
    assert table[0][2] == "control-plane" and table[1][2] == "worker"
    assert all(row[4] == "v1.37.0" for row in table)

    wide = sandbox_cluster.kubectl("get", "nodes", "-o", "wide")
    assert wide.returncode == 0, wide.stderr
    assert columns(wide.stdout) == [
        "NAME",
        "STATUS",
        "ROLES",
        "AGE",
        "VERSION",
        "INTERNAL-IP",
        "EXTERNAL-IP",
        "OS-IMAGE",
        "KERNEL-VERSION",
        "CONTAINER-RUNTIME",
    ]
    assert "Debian GNU/Linux 12 (bookworm)" in wide.stdout
    assert "containerd://" in wide.stdout


def test_get_pods_all_namespaces_wide(sandbox_cluster: Any) -> None:
    result = sandbox_cluster.kubectl("get", "pods", "-A", "-o", "wide")
    assert result.returncode == 0, result.stderr
    assert columns(result.stdout) == [
        "NAMESPACE",
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED NODE",
        "READINESS GATES",
    ]
    by_name = {(row[0], row[1]): row for row in rows(result.stdout)}
    assert ("shop", "web") in by_name and ("shop", "client") in by_name
    assert any(ns == "kube-system" and name.startswith("coredns-") for ns, name in by_name)
    synthetic = by_name[("default", "load-0000")]
    assert synthetic[2:5] == ["1/1", "Running", "0"]
    assert synthetic[6].startswith("100.64.") and synthetic[7].startswith("node-")
    namespaces = [row[0] for row in rows(result.stdout)]
    assert namespaces == sorted(namespaces)


def test_get_with_selectors_and_json(sandbox_cluster: Any) -> None:
    labelled = sandbox_cluster.kubectl("get", "pods", "-n", "shop", "-l", "app=web", "-o", "name")
    assert labelled.stdout.split() == ["pod/web"]
    fields = sandbox_cluster.kubectl(
        "get", "pods", "-A", "--field-selector", "spec.nodeName=node-2", "-o", "json"
    )
    assert fields.returncode == 0, fields.stderr
    items = json.loads(fields.stdout)["items"]
    assert items and {item["spec"]["nodeName"] for item in items} == {"node-2"}
    web = json.loads(
        sandbox_cluster.kubectl("get", "pod", "web", "-n", "shop", "-o", "json").stdout
    )
    assert web["spec"]["containers"][0]["command"] == ["python3", "-m", "http.server", "8080"]
    missing = sandbox_cluster.kubectl("get", "pod", "ghost", "-n", "shop")
    assert missing.returncode == 1
    assert 'Error from server (NotFound): pods "ghost" not found' in missing.stderr


def test_namespaces_leases_and_api_resources(sandbox_cluster: Any) -> None:
    namespaces = sandbox_cluster.kubectl("get", "namespaces")
    assert columns(namespaces.stdout) == ["NAME", "STATUS", "AGE"]
    names = {row[0] for row in rows(namespaces.stdout)}
    assert {"default", "kube-system", "shop", "secure"} <= names
    leases = sandbox_cluster.kubectl("get", "leases", "-n", "kube-node-lease")
    assert leases.returncode == 0, leases.stderr
    assert columns(leases.stdout) == ["NAME", "HOLDER", "AGE"]
    resources = sandbox_cluster.kubectl("api-resources")
    assert resources.returncode == 0, resources.stderr
    for expected in ("pods", "nodes", "namespaces", "events", "leases", "selfsubjectaccessreviews"):
        assert expected in resources.stdout


def test_auth_can_i_uses_access_reviews(sandbox_cluster: Any) -> None:
    admin = sandbox_cluster.kubectl(
        "auth", "can-i", "create", "pods", "--subresource=exec", "-n", "shop"
    )
    assert admin.stdout.strip() == "yes"
    listing = sandbox_cluster.kubectl(
        "auth", "can-i", "list", "pods", "-n", "shop", context="restricted"
    )
    assert listing.stdout.strip() == "yes"
    patching = sandbox_cluster.kubectl(
        "auth",
        "can-i",
        "patch",
        "pods",
        "--subresource=ephemeralcontainers",
        "-n",
        "shop",
        context="restricted",
    )
    assert patching.stdout.strip() == "no"


def test_wait_uses_watch_list_and_sees_the_change(sandbox_cluster: Any) -> None:
    created = sandbox_cluster.kubectl(
        "run",
        "waitee",
        "--image=busybox:1.36",
        "--restart=Never",
        "-n",
        "default",
        "--",
        "sleep",
        "3600",
    )
    assert created.returncode == 0, created.stderr
    waiter = subprocess.Popen(
        sandbox_cluster.kubectl_argv(
            "wait",
            "--for=jsonpath={.metadata.labels.ready}=yes",
            "pod/waitee",
            "-n",
            "default",
            "--timeout=60s",
            "-v=6",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert waiter.stderr is not None
        for line in waiter.stderr:
            if "sendInitialEvents=true" in line and "watch=true" in line:
                break
        else:
            raise AssertionError("kubectl wait never opened a watch-list request")
        labelled = sandbox_cluster.kubectl("label", "pod", "waitee", "-n", "default", "ready=yes")
        assert labelled.returncode == 0, labelled.stderr
        out, err = waiter.communicate(timeout=90)
        assert waiter.returncode == 0, err
        assert out.strip() == "pod/waitee condition met"
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()
        sandbox_cluster.kubectl(
            "delete", "pod", "waitee", "-n", "default", "--grace-period=0", "--force"
        )
