"""The API server's request counter at /metrics, read with the real kubectl."""

from __future__ import annotations

import re

from tests.fixtures_sandbox import SandboxProcess


def count(text: str, verb: str, resource: str, subresource: str = "") -> int:
    line = (
        f'apiserver_request_total{{code="200",group="",resource="{resource}",'
        f'subresource="{subresource}",verb="{verb}"}} '
    )
    found = re.search(re.escape(line) + r"(\d+)", text)
    return int(found.group(1)) if found else 0


def test_requests_are_counted_by_verb_and_resource(sandbox_cluster: SandboxProcess) -> None:
    before = sandbox_cluster.kubectl("get", "--raw", "/metrics", check=True).stdout
    assert "# TYPE apiserver_request_total counter" in before
    sandbox_cluster.kubectl("get", "pods", "-n", "shop", check=True)
    sandbox_cluster.kubectl("get", "pod", "-n", "shop", "web", check=True)
    after = sandbox_cluster.kubectl("get", "--raw", "/metrics", check=True).stdout
    assert count(after, "list", "pods") == count(before, "list", "pods") + 1
    assert count(after, "get", "pods") == count(before, "get", "pods") + 1
    missing = sandbox_cluster.kubectl("get", "pod", "-n", "shop", "nope")
    assert missing.returncode != 0
    final = sandbox_cluster.kubectl("get", "--raw", "/metrics", check=True).stdout
    assert 'code="404",group="",resource="pods",subresource="",verb="get"' in final
