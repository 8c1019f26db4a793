"""Credentials of a kubeconfig user: tokens, token files, basic auth and exec plugins.

Loading a kubeconfig through kubernetes_asyncio imports its whole client package (every
API class and model) before the first request, which costs more than the rest of
starting a shell. The credentials kubectl users have today are read here with client-go's
rules instead; only the deprecated `auth-provider` users (oidc, gcp, azure) still go
through kubernetes_asyncio, whose refresh logic for them is kept (`LibraryCredentials`).

Exec plugins follow the client.authentication.k8s.io protocol: the command runs with
the user's env and KUBERNETES_EXEC_INFO, its ExecCredential gives a token or a client
certificate, and it is run again when the credential expires or the server answers 401.
Token files (and the in-cluster service account token) are re-read once a minute, as
bound tokens rotate.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import os
import ssl
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

TOKEN_FILE_SECONDS = 60.0
"""How long a token read from a file is used before the file is read again."""
EXEC_API_VERSIONS = (
    "client.authentication.k8s.io/v1",
    "client.authentication.k8s.io/v1beta1",
)


class PluginError(Exception):
    """An exec plugin could not give a credential; the text starts with `exec: `."""


class Credentials(Protocol):
    """What the client asks of a user's credentials before each request."""

    def plugin(self) -> str | None:
        """The exec plugin's command, when the user authenticates with one."""

    async def headers(self) -> dict[str, str]:
        """The Authorization header (empty when the user authenticates by certificate)."""

    async def refresh(self) -> bool:
        """After a 401: get new credentials; False when there is nothing to refresh."""


class StaticCredentials:
    """A token or a username and password from the kubeconfig, or nothing."""

    def __init__(self, authorization: str | None) -> None:
        self._authorization = authorization

    def plugin(self) -> str | None:
        return None

    async def headers(self) -> dict[str, str]:
        return {"Authorization": self._authorization} if self._authorization else {}

    async def refresh(self) -> bool:
        return False


def basic_authorization(username: str, password: str) -> str:
    """The Authorization value of HTTP basic auth."""
    pair = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(pair).decode()


class TokenFileCredentials:
    """A bearer token read from a file, read again every minute and after a 401."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._token = ""
        self._read_at = -TOKEN_FILE_SECONDS

    def plugin(self) -> str | None:
        return None

    def _read(self) -> None:
        self._token = self._path.read_text(encoding="utf-8").strip()
        self._read_at = time.monotonic()

    async def headers(self) -> dict[str, str]:
        if time.monotonic() - self._read_at >= TOKEN_FILE_SECONDS:
            self._read()
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    async def refresh(self) -> bool:
        before = self._token
        self._read()
        return self._token != before


class ExecCredentials:
    """A client.authentication.k8s.io exec plugin, run when its credential is needed."""

    def __init__(
        self,
        spec: dict[str, Any],
        *,
        tls: ssl.SSLContext | None,
        cluster: dict[str, Any] | None,
    ) -> None:
        """`tls` gets a client certificate the plugin gives; `cluster` is provideClusterInfo's."""
        self._spec = spec
        self._tls = tls
        self._cluster = cluster
        self._token: str | None = None
        self._expiry: datetime.datetime | None = None
        self._loaded = False
        self._lock = asyncio.Lock()

    def plugin(self) -> str | None:
        return str(self._spec.get("command") or "")

    async def headers(self) -> dict[str, str]:
        async with self._lock:
            if not self._loaded or self._expired():
                await self._run()
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def _expired(self) -> bool:
        return self._expiry is not None and self._expiry <= datetime.datetime.now(datetime.UTC)

    async def refresh(self) -> bool:
        async with self._lock:
            await self._run()
        return True

    async def _run(self) -> None:
        status = await run_exec_plugin(self._spec, self._cluster)
        token = status.get("token")
        cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
        if not token and not (cert and key):
            raise PluginError(
                "exec: the plugin's ExecCredential has neither a token nor a client certificate"
            )
        if cert and key:
            if self._tls is None:
                raise PluginError("exec: a client certificate needs an https server")
            with pem_files(str(cert).encode(), str(key).encode()) as (cert_file, key_file):
                self._tls.load_cert_chain(cert_file, key_file)
        self._token = str(token) if token else None
        self._expiry = _timestamp(status.get("expirationTimestamp"))
        self._loaded = True


def _timestamp(value: object) -> datetime.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PluginError(f"exec: expirationTimestamp {value!r} is not a time") from exc


def exec_problem(spec: object) -> str | None:
    """What is wrong with a user's exec section, or None."""
    if not isinstance(spec, dict):
        return "the exec section is not a mapping"
    if not spec.get("command"):
        return "the exec section has no command"
    version = spec.get("apiVersion")
    if version not in EXEC_API_VERSIONS:
        return f"the exec apiVersion {version!r} is not one of {', '.join(EXEC_API_VERSIONS)}"
    args, env = spec.get("args") or [], spec.get("env") or []
    if not isinstance(args, list):
        return "the exec args are not a list"
    if not isinstance(env, list) or not all(
        isinstance(item, dict) and "name" in item and "value" in item for item in env
    ):
        return "the exec env is not a list of names and values"
    return None


async def run_exec_plugin(spec: dict[str, Any], cluster: dict[str, Any] | None) -> dict[str, Any]:
    """Run the plugin once; the `status` of its ExecCredential, or PluginError."""
    version = spec["apiVersion"]
    mode = spec.get("interactiveMode") or ("IfAvailable" if version.endswith("v1beta1") else "")
    interactive = mode != "Never" and sys.stdin.isatty()
    info: dict[str, Any] = {
        "apiVersion": version,
        "kind": "ExecCredential",
        "spec": {"interactive": interactive},
    }
    if spec.get("provideClusterInfo") and cluster is not None:
        info["spec"]["cluster"] = cluster
    env = dict(os.environ)
    env.update({str(item["name"]): str(item["value"]) for item in spec.get("env") or []})
    env["KUBERNETES_EXEC_INFO"] = json.dumps(info)
    command = str(spec["command"])
    try:
        process = await asyncio.create_subprocess_exec(
            command,
            *(str(arg) for arg in spec.get("args") or []),
            env=env,
            stdin=None if interactive else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        hint = str(spec.get("installHint") or "").strip()
        reason = "not found" if isinstance(exc, FileNotFoundError) else exc.strerror or str(exc)
        raise PluginError(
            f"exec: executable {command} {reason}" + (f"; {hint}" if hint else "")
        ) from exc
    stdout, stderr = await process.communicate()
    if process.returncode != 0:
        said = stderr.decode(errors="replace").strip()
        raise PluginError(
            f"exec: process returned {process.returncode}" + (f". {said}" if said else "")
        )
    try:
        answer = json.loads(stdout)
    except ValueError as exc:
        raise PluginError(f"exec: the plugin printed no ExecCredential JSON ({exc})") from exc
    if not isinstance(answer, dict) or not isinstance(answer.get("status"), dict):
        raise PluginError("exec: the plugin's ExecCredential has no status")
    if answer.get("apiVersion") != version:
        raise PluginError(
            f"exec: plugin api version {answer.get('apiVersion')} does not match {version}"
        )
    status: dict[str, Any] = answer["status"]
    return status


@contextmanager
def pem_files(cert: bytes, key: bytes) -> Iterator[tuple[str, str]]:
    """A certificate and key in private temporary files, for ssl's load_cert_chain."""
    with tempfile.TemporaryDirectory(prefix="retina-tui-tls-") as directory:
        paths = []
        for name, data in (("cert.pem", cert), ("key.pem", key)):
            path = os.path.join(directory, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            paths.append(path)
        yield paths[0], paths[1]


class LibraryCredentials:
    """An auth-provider user, loaded and refreshed by kubernetes_asyncio."""

    def __init__(self, configuration: Any, loader: Any) -> None:
        self._configuration = configuration
        self._loader = loader

    def plugin(self) -> str | None:
        return None

    async def headers(self) -> dict[str, str]:
        token = await self._configuration.get_api_key_with_prefix("BearerToken")
        return {"Authorization": token} if token else {}

    async def refresh(self) -> bool:
        await self._loader.load_and_set(self._configuration)
        return True
