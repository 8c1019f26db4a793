"""Every failure leaves the kube layer as one sentence naming the server and context."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web

from retina_tui.errors import (
    ClusterUnreachableError,
    ConfigError,
    ForbiddenError,
    KubeApiError,
    NotFoundError,
)
from retina_tui.kube.client import connect, list_contexts
from retina_tui.kube.errors import CredentialsRejectedError
from tests.kube.fakeapi import FakeApi, serve, status, write_kubeconfig


async def answer_with(code: int, body: dict[str, object] | str, tmp_path: Path) -> Exception:
    async def on_list(request: web.Request) -> web.StreamResponse:
        assert request.headers["Authorization"] == "Bearer secret-token"
        if isinstance(body, str):
            return web.Response(status=code, text=body)
        return web.json_response(body, status=code)

    async with serve(FakeApi(on_list, None)) as api:
        client = await connect(kubeconfig=str(write_kubeconfig(tmp_path / "kc", api.url)))
        try:
            await client.request("GET", "/api/v1/pods")
        except Exception as error:
            return error
        finally:
            await client.close()
    raise AssertionError("the request did not fail")


async def test_not_found_keeps_the_server_message(tmp_path: Path) -> None:
    error = await answer_with(404, status(404, "NotFound", 'pods "web" not found'), tmp_path)
    assert isinstance(error, NotFoundError)
    assert str(error) == 'Pods "web" not found.'


async def test_forbidden_says_what_to_do(tmp_path: Path) -> None:
    message = 'pods is forbidden: User "bob" cannot list resource "pods" in API group ""'
    error = await answer_with(403, status(403, "Forbidden", message), tmp_path)
    assert isinstance(error, ForbiddenError)
    assert 'User "bob" cannot list resource "pods"' in str(error)
    assert "ask a cluster administrator" in str(error)


async def test_unauthorized_names_server_and_context(tmp_path: Path) -> None:
    error = await answer_with(401, status(401, "Unauthorized", "Unauthorized"), tmp_path)
    assert isinstance(error, CredentialsRejectedError)
    assert "http://127.0.0.1:" in str(error) and "'fake'" in str(error)
    assert "rejected the credentials" in str(error)


async def test_a_non_status_body_is_still_one_sentence(tmp_path: Path) -> None:
    error = await answer_with(502, "<html>bad gateway</html>", tmp_path)
    assert isinstance(error, KubeApiError)
    assert "refused the request for GET /api/v1/pods" in str(error)
    assert "\n" not in str(error)


async def test_unreachable_server(tmp_path: Path) -> None:
    client = await connect(
        kubeconfig=str(write_kubeconfig(tmp_path / "kc", "http://127.0.0.1:9", "dead"))
    )
    try:
        with pytest.raises(ClusterUnreachableError) as caught:
            await client.request("GET", "/api/v1/pods")
    finally:
        await client.close()
    text = str(caught.value)
    assert text.startswith("Could not connect to the API server http://127.0.0.1:9")
    assert "(context 'dead')" in text
    assert "\n" not in text


async def test_tls_verification_failure_names_the_server(tmp_path: Path) -> None:
    # An https URL against a plain-HTTP listener fails the handshake.
    async def on_list(request: web.Request) -> web.StreamResponse:
        return web.json_response({})

    async with serve(FakeApi(on_list, None)) as api:
        url = api.url.replace("http://", "https://")
        client = await connect(kubeconfig=str(write_kubeconfig(tmp_path / "kc", url, "tls")))
        try:
            with pytest.raises(ClusterUnreachableError) as caught:
                await client.request("GET", "/api/v1/pods")
        finally:
            await client.close()
    assert url in str(caught.value) and "'tls'" in str(caught.value)


async def test_unknown_context_lists_the_known_ones(tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kc", "http://127.0.0.1:9", "one")
    with pytest.raises(ConfigError, match="has no context 'two'; pick one of one"):
        await connect(kubeconfig=str(kubeconfig), context="two")


async def test_missing_kubeconfig(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No kubeconfig found"):
        await connect(kubeconfig=str(tmp_path / "absent"))


def test_list_contexts(tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kc", "http://127.0.0.1:9", "one")
    assert list_contexts(str(kubeconfig)) == (["one"], "one")


async def test_namespace_comes_from_the_context_unless_given(tmp_path: Path) -> None:
    kubeconfig = str(write_kubeconfig(tmp_path / "kc", "http://127.0.0.1:9"))
    client = await connect(kubeconfig=kubeconfig)
    other = await connect(kubeconfig=kubeconfig, namespace="ns2")
    await client.close()
    await other.close()
    assert (client.namespace, other.namespace) == ("ns1", "ns2")


async def test_a_plugin_that_fails_on_refresh_is_named(tmp_path: Path) -> None:
    # The first run gives an expired token; the refresh before the second request fails.
    marker = tmp_path / "ran"
    script = (
        f"if [ -e {marker} ]; then echo 'refresh token revoked' >&2; exit 2; fi; touch {marker}; "
        'echo \'{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": '
        '"ExecCredential", "status": {"token": "t", "expirationTimestamp": '
        '"2000-01-01T00:00:00Z"}}\''
    )

    async def on_list(request: web.Request) -> web.StreamResponse:
        return web.json_response({"items": []})

    async with serve(FakeApi(on_list, None)) as api:
        path = write_kubeconfig(tmp_path / "kc", api.url, "sso")
        config = json.loads(path.read_text())
        config["users"][0]["user"] = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": "sh",
                "args": ["-c", script],
            }
        }
        path.write_text(json.dumps(config))
        client = await connect(kubeconfig=str(path))
        try:
            await client.request("GET", "/api/v1/pods")
            with pytest.raises(CredentialsRejectedError) as caught:
                await client.request("GET", "/api/v1/pods")
        finally:
            await client.close()
    assert str(caught.value).startswith(
        "The credential plugin `sh` of context 'sso' failed (exit status 2: refresh token revoked)"
    )
