"""The client against the sandbox: kubeconfig with TLS and tokens, and in-cluster config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from retina_tui.kube import client as client_module
from retina_tui.kube.client import connect
from retina_tui.kube.errors import CredentialsRejectedError


@pytest.fixture
def sandbox_options() -> Any:
    from retina_tui.sandbox import SandboxOptions

    return SandboxOptions(nodes=1, pods=2, network="host", kubelet=False)


async def test_kubeconfig_with_tls_and_a_token(api_sandbox: Any) -> None:
    client = await connect(kubeconfig=str(api_sandbox.kubeconfig_path))
    try:
        pods = await client.request("GET", "/api/v1/namespaces/default/pods")
    finally:
        await client.close()
    assert client.server == api_sandbox.url and client.context == "admin"
    assert len(pods["items"]) >= 1


async def test_in_cluster_service_account(
    api_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(api_sandbox.admin_token)
    (account / "ca.crt").write_bytes(api_sandbox.ca_pem)
    (account / "namespace").write_text("kube-system\n")
    host, port = api_sandbox.url.removeprefix("https://").rsplit(":", 1)
    monkeypatch.setattr(client_module, "SERVICE_ACCOUNT_DIR", account)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", host)
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)
    client = await connect()
    try:
        answer = await client.request("GET", "/api/v1/namespaces/kube-system/pods")
    finally:
        await client.close()
    assert (client.context, client.namespace) == ("in-cluster", "kube-system")
    assert answer["kind"] == "PodList"


async def test_a_wrong_token_is_one_sentence(api_sandbox: Any, tmp_path: Path) -> None:
    text = api_sandbox.kubeconfig_path.read_text().replace(api_sandbox.admin_token, "wrong")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(text)
    client = await connect(kubeconfig=str(kubeconfig))
    try:
        with pytest.raises(CredentialsRejectedError) as caught:
            await client.request("GET", "/api/v1/pods")
    finally:
        await client.close()
    assert f"The API server {api_sandbox.url} (context 'admin') rejected the credentials" in str(
        caught.value
    )


def exec_kubeconfig(api_sandbox: Any, tmp_path: Path, tokens: list[str]) -> Path:
    """A kubeconfig whose user runs an exec plugin handing out `tokens` one per call."""
    import json
    import sys

    state = tmp_path / "calls"
    state.write_text("0")
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "import json, pathlib\n"
        f"state = pathlib.Path({str(state)!r})\n"
        "n = int(state.read_text())\n"
        "state.write_text(str(n + 1))\n"
        f"tokens = {tokens!r}\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', "
        "'kind': 'ExecCredential', 'status': {'token': tokens[min(n, len(tokens) - 1)]}}))\n"
    )
    config = json.loads(api_sandbox.kubeconfig_path.read_text())
    for user in config["users"]:
        user["user"] = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1",
                "command": sys.executable,
                "args": [str(plugin)],
                "interactiveMode": "Never",
            }
        }
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(config))
    return path


async def test_exec_plugin_credentials_are_refreshed_after_a_401(
    api_sandbox: Any, tmp_path: Path
) -> None:
    kubeconfig = exec_kubeconfig(api_sandbox, tmp_path, ["stale", api_sandbox.admin_token])
    client = await connect(kubeconfig=str(kubeconfig))
    try:
        pods = await client.request("GET", "/api/v1/namespaces/default/pods")
    finally:
        await client.close()
    assert pods["kind"] == "PodList"
    assert (tmp_path / "calls").read_text() == "2"
