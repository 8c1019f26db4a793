"""kubectl's connection flags as `ConnectionOverrides`, applied by `connect()` to the sandbox."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from retina_tui.errors import ClusterUnreachableError, ConfigError, ForbiddenError
from retina_tui.kube.client import KubeClient, connect
from retina_tui.kube.errors import CredentialsRejectedError
from retina_tui.kube.overrides import ConnectionOverrides
from retina_tui.sandbox.certs import generate
from tests.blackhole import BlackHoleProxy

PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture
def sandbox_options() -> Any:
    from retina_tui.sandbox import SandboxOptions

    return SandboxOptions(nodes=1, pods=2, network="host", kubelet=False)


def _kubeconfig(api_sandbox: Any, tmp_path: Path, change: Any = None) -> str:
    config = json.loads(api_sandbox.kubeconfig_path.read_text())
    if change is not None:
        change(config)
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(config))
    return str(path)


@asynccontextmanager
async def _client(kubeconfig: str, **overrides: Any) -> AsyncIterator[KubeClient]:
    client = await connect(kubeconfig=kubeconfig, overrides=ConnectionOverrides(**overrides))
    try:
        yield client
    finally:
        await client.close()


def _wrong_server(config: dict[str, Any]) -> None:
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:9"


async def test_server_replaces_a_wrong_one(api_sandbox: Any, tmp_path: Path) -> None:
    kubeconfig = _kubeconfig(api_sandbox, tmp_path, _wrong_server)
    async with _client(kubeconfig, server=api_sandbox.url) as client:
        assert (await client.request("GET", PODS))["kind"] == "PodList"
    assert client.server == api_sandbox.url


async def test_token_replaces_the_users_credentials(api_sandbox: Any, tmp_path: Path) -> None:
    kubeconfig = str(api_sandbox.kubeconfig_path)
    async with _client(kubeconfig, token="not-a-token") as client:
        with pytest.raises(CredentialsRejectedError, match="rejected the credentials"):
            await client.request("GET", PODS)
    restricted = api_sandbox.authenticator.restricted_token
    async with _client(kubeconfig, token=restricted) as client:
        await client.request("GET", PODS)
        with pytest.raises(ForbiddenError, match='User "restricted" cannot delete'):
            await client.request("DELETE", f"{PODS}/nothing")


async def test_as_restricted_loses_rights_on_requests_and_streams(api_sandbox: Any) -> None:
    kubeconfig = str(api_sandbox.kubeconfig_path)
    pod = api_sandbox.store.list("pods", "default")[0]["metadata"]["name"]
    async with _client(kubeconfig, impersonate_user="restricted") as client:
        assert client.acting_as == "restricted"
        await client.request("GET", PODS)
        with pytest.raises(ForbiddenError, match='User "restricted" cannot delete'):
            await client.request("DELETE", f"{PODS}/{pod}")
        with pytest.raises(ForbiddenError, match="refused the stream"):
            await client.websocket(f"{PODS}/{pod}/attach", {"stdout": True}, ["v5.channel.k8s.io"])
    headers = {"impersonate_user": "bob", "impersonate_groups": ("devs", "system:masters")}
    async with _client(kubeconfig, **headers) as client:
        review = await client.request(
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            body={"spec": {"resourceAttributes": {"verb": "delete", "resource": "pods"}}},
        )
    assert review["status"]["allowed"] is True


async def test_restricted_may_not_impersonate(api_sandbox: Any, tmp_path: Path) -> None:
    async with _client(
        str(api_sandbox.kubeconfig_path),
        user="restricted",
        impersonate_user="admin",
    ) as client:
        with pytest.raises(ForbiddenError) as caught:
            await client.request("GET", PODS)
    assert 'Users "admin" is forbidden: User "restricted" cannot impersonate' in str(caught.value)


async def test_cluster_and_user_pick_other_entries(api_sandbox: Any, tmp_path: Path) -> None:
    def two_clusters(config: dict[str, Any]) -> None:
        real = config["clusters"][0]
        config["clusters"] = [
            {"name": "broken", "cluster": {"server": "https://127.0.0.1:9"}},
            {**real, "name": "real"},
        ]
        for context in config["contexts"]:
            context["context"]["cluster"] = "broken"

    kubeconfig = _kubeconfig(api_sandbox, tmp_path, two_clusters)
    async with _client(kubeconfig, cluster="real", user="restricted") as client:
        await client.request("GET", PODS)
        with pytest.raises(ForbiddenError, match='User "restricted"'):
            await client.request("DELETE", f"{PODS}/nothing")
    with pytest.raises(ConfigError, match="--cluster 'gone' is not among the clusters"):
        await connect(kubeconfig=kubeconfig, overrides=ConnectionOverrides(cluster="gone"))
    with pytest.raises(ConfigError, match="--user 'gone' is not among the users"):
        await connect(kubeconfig=kubeconfig, overrides=ConnectionOverrides(user="gone"))


async def test_tls_flags(api_sandbox: Any, tmp_path: Path) -> None:
    kubeconfig = str(api_sandbox.kubeconfig_path)
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(generate().ca_pem)
    async with _client(kubeconfig, certificate_authority=str(other_ca)) as client:
        with pytest.raises(ClusterUnreachableError, match="Could not verify the TLS certificate"):
            await client.request("GET", PODS)
    async with _client(kubeconfig, tls_server_name="wrong.example") as client:
        mismatch = r"Could not verify.*not valid for 'wrong\.example'"
        with pytest.raises(ClusterUnreachableError, match=mismatch):
            await client.request("GET", PODS)
    async with _client(kubeconfig, tls_server_name="localhost") as client:
        await client.request("GET", PODS)

    def other_ca_inline(config: dict[str, Any]) -> None:
        config["clusters"][0]["cluster"]["certificate-authority"] = str(other_ca)
        del config["clusters"][0]["cluster"]["certificate-authority-data"]

    wrong_ca = _kubeconfig(api_sandbox, tmp_path, other_ca_inline)
    async with _client(wrong_ca, insecure_skip_tls_verify=True) as client:
        await client.request("GET", PODS)
    with pytest.raises(ConfigError, match="with the insecure flag is not allowed"):
        ConnectionOverrides(insecure_skip_tls_verify=True, certificate_authority=str(other_ca))


async def test_a_garbled_client_certificate_is_one_sentence(
    api_sandbox: Any, tmp_path: Path
) -> None:
    garbage = tmp_path / "cert.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match=r"TLS files of context 'admin'.* could not be loaded"):
        await connect(
            kubeconfig=str(api_sandbox.kubeconfig_path),
            overrides=ConnectionOverrides(client_certificate=str(garbage), client_key=str(garbage)),
        )


async def test_request_timeout_ends_a_request_to_a_frozen_api(
    api_sandbox: Any, tmp_path: Path
) -> None:
    host, port = api_sandbox.url.removeprefix("https://").rsplit(":", 1)
    proxy = BlackHoleProxy(host, int(port))
    await asyncio.to_thread(proxy.start)
    try:
        kubeconfig = _kubeconfig(api_sandbox, tmp_path)
        server = f"https://127.0.0.1:{proxy.port}"
        async with _client(kubeconfig, server=server, request_timeout=1.5) as client:
            await client.request("GET", PODS)  # the connection is open and pooled
            assert await asyncio.to_thread(proxy.freeze) >= 1
            started = time.monotonic()
            with pytest.raises(ClusterUnreachableError, match="did not answer in time"):
                await client.request("GET", PODS)
            assert 1.4 < time.monotonic() - started < 4
    finally:
        await asyncio.to_thread(proxy.close)


def test_request_timeout_zero_means_no_limit() -> None:
    from retina_tui.kube.client import REQUEST_TIMEOUT, _request_timeout

    assert _request_timeout(None) == REQUEST_TIMEOUT
    assert _request_timeout(0).total is None
    assert _request_timeout(5).total == 5


def test_impersonation_headers() -> None:
    overrides = ConnectionOverrides(
        impersonate_user="jane", impersonate_groups=("a", "b"), impersonate_uid="7"
    )
    assert overrides.impersonation_headers() == [
        ("Impersonate-User", "jane"),
        ("Impersonate-Group", "a"),
        ("Impersonate-Group", "b"),
        ("Impersonate-Uid", "7"),
    ]
    with pytest.raises(ConfigError, match="need --as"):
        ConnectionOverrides(impersonate_groups=("a",))
