"""Kubeconfig users as kubectl reads them, without importing a generated client.

Relative paths are relative to the file that names them, token files are read again after
a 401 (bound tokens rotate), exec plugins get KUBERNETES_EXEC_INFO with the cluster when
they ask for it, and `auth-provider` users still work through kubernetes_asyncio.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from retina_tui.kube.client import connect
from retina_tui.kube.errors import CredentialsRejectedError
from tests.kube.fakeapi import FakeApi, serve, write_kubeconfig


def sandbox_config(api_sandbox: Any) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(api_sandbox.kubeconfig_path.read_text())
    return config


async def pods_answer(kubeconfig: Path) -> dict[str, Any]:
    client = await connect(kubeconfig=str(kubeconfig))
    try:
        return await client.request("GET", "/api/v1/namespaces/default/pods")
    finally:
        await client.close()


async def test_relative_ca_and_token_files_are_read_next_to_their_kubeconfig(
    api_sandbox: Any, tmp_path: Path
) -> None:
    home = tmp_path / "kube"
    home.mkdir()
    (home / "ca.crt").write_bytes(api_sandbox.ca_pem)
    (home / "token").write_text(api_sandbox.admin_token + "\n")
    config = sandbox_config(api_sandbox)
    cluster = config["clusters"][0]["cluster"]
    del cluster["certificate-authority-data"]
    cluster["certificate-authority"] = "ca.crt"
    for user in config["users"]:
        user["user"] = {"tokenFile": "token"}
    (home / "config").write_text(json.dumps(config))
    answer = await pods_answer(home / "config")
    assert answer["kind"] == "PodList"


async def test_a_rotated_token_file_is_read_again_after_a_401(
    api_sandbox: Any, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("expired-token")
    config = sandbox_config(api_sandbox)
    for user in config["users"]:
        user["user"] = {"tokenFile": str(token)}
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(json.dumps(config))
    client = await connect(kubeconfig=str(kubeconfig))
    try:
        with pytest.raises(CredentialsRejectedError):
            await client.request("GET", "/api/v1/namespaces/default/pods")
        token.write_text(api_sandbox.admin_token)
        answer = await client.request("GET", "/api/v1/namespaces/default/pods")
    finally:
        await client.close()
    assert answer["kind"] == "PodList"


async def test_an_exec_plugin_gets_the_exec_info_with_the_cluster(
    api_sandbox: Any, tmp_path: Path
) -> None:
    seen = tmp_path / "exec-info.json"
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "import json, os, pathlib\n"
        f"pathlib.Path({str(seen)!r}).write_text(os.environ['KUBERNETES_EXEC_INFO'])\n"
        f"assert os.environ['LOGIN_REGION'] == 'eu'\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', "
        f"'kind': 'ExecCredential', 'status': {{'token': {api_sandbox.admin_token!r}}}}}))\n"
    )
    config = sandbox_config(api_sandbox)
    for user in config["users"]:
        user["user"] = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1",
                "command": sys.executable,
                "args": [str(plugin)],
                "env": [{"name": "LOGIN_REGION", "value": "eu"}],
                "interactiveMode": "Never",
                "provideClusterInfo": True,
            }
        }
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(json.dumps(config))
    assert (await pods_answer(kubeconfig))["kind"] == "PodList"
    info = json.loads(seen.read_text())
    assert info["kind"] == "ExecCredential"
    assert info["apiVersion"] == "client.authentication.k8s.io/v1"
    assert info["spec"]["interactive"] is False
    assert info["spec"]["cluster"]["server"] == api_sandbox.url
    assert info["spec"]["cluster"]["certificate-authority-data"]


def jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.c2ln"


async def test_an_oidc_auth_provider_user_sends_its_id_token(tmp_path: Path) -> None:
    id_token = jwt({"iss": "https://issuer.example", "exp": int(time.time()) + 3600})
    seen: list[str] = []

    async def on_list(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("Authorization", ""))
        return web.json_response({"kind": "PodList", "items": []})

    async with serve(FakeApi(on_list, None)) as api:
        path = write_kubeconfig(tmp_path / "kc", api.url, "sso")
        config = json.loads(path.read_text())
        config["users"][0]["user"] = {
            "auth-provider": {
                "name": "oidc",
                "config": {
                    "client-id": "retina",
                    "id-token": id_token,
                    "idp-issuer-url": "https://issuer.example",
                },
            }
        }
        path.write_text(json.dumps(config))
        client = await connect(kubeconfig=str(path))
        try:
            await client.request("GET", "/api/v1/pods")
        finally:
            await client.close()
    assert seen == [f"Bearer {id_token}"]


def test_connecting_imports_no_generated_client(tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kc", "https://127.0.0.1:9")
    probe = (
        "import asyncio, sys\n"
        "from retina_tui.kube.client import connect\n"
        "async def main():\n"
        f"    client = await connect(kubeconfig={str(kubeconfig)!r})\n"
        "    await client.close()\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.startswith('kubernetes_asyncio')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
