"""What kubectl's connection flags change in the kubeconfig, as one value.

`--server`, `--token`, `--as`, `--cluster`, `--user`, the TLS files and
`--request-timeout` override what the kubeconfig context gives, with kubectl's rules:
`--cluster` and `--user` pick other entries of the kubeconfig, `--token` replaces the
user's credentials (an exec plugin is not run), `--insecure-skip-tls-verify` drops the
kubeconfig's certificate authority and `--certificate-authority` the kubeconfig's
insecure setting. The command line builds one `ConnectionOverrides`; `connect()` applies
it to the loaded kubeconfig and adds the impersonation headers to every request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from retina_tui.errors import ConfigError

INSECURE_WITH_CA = (
    "--insecure-skip-tls-verify and --certificate-authority cannot be used together "
    "(specifying a root certificates file with the insecure flag is not allowed); drop one "
    "of them."
)
_CREDENTIAL_KEYS = ("token", "tokenFile", "exec", "auth-provider", "username", "password")


@dataclass(frozen=True, slots=True)
class ConnectionOverrides:
    """kubectl's connection flags; None (or empty) leaves the kubeconfig's value."""

    server: str | None = None
    token: str | None = None
    impersonate_user: str | None = None
    impersonate_groups: tuple[str, ...] = ()
    impersonate_uid: str | None = None
    cluster: str | None = None
    user: str | None = None
    certificate_authority: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    request_timeout: float | None = None
    """Seconds for one request; 0 waits as long as it takes; None keeps the default."""

    def __post_init__(self) -> None:
        if self.insecure_skip_tls_verify and self.certificate_authority:
            raise ConfigError(INSECURE_WITH_CA)
        if self.impersonate_user is None and (self.impersonate_groups or self.impersonate_uid):
            raise ConfigError(
                "--as-group and --as-uid need --as, the user to impersonate (as kubectl, which "
                "refuses groups or a uid without a user); add --as USER or drop them."
            )

    def impersonation_headers(self) -> list[tuple[str, str]]:
        """The Impersonate-* headers of every request (several Impersonate-Group)."""
        if self.impersonate_user is None:
            return []
        headers = [("Impersonate-User", self.impersonate_user)]
        headers += [("Impersonate-Group", group) for group in self.impersonate_groups]
        if self.impersonate_uid is not None:
            headers.append(("Impersonate-Uid", self.impersonate_uid))
        return headers

    def apply(self, entries: dict[str, list[Any]], context: str, shown: str) -> None:
        """Edit the merged kubeconfig (lists of named entries) for `context` in place.

        The entries are plain dicts (or objects holding one in `.value`).
        """
        body = _body(_named(entries["contexts"], context), "context")
        if self.cluster is not None:
            if _named(entries["clusters"], self.cluster) is None:
                raise ConfigError(
                    f"--cluster {self.cluster!r} is not among the clusters of the kubeconfig "
                    f"{shown}; name one of {_names(entries['clusters'])}."
                )
            body["cluster"] = self.cluster
        if self.user is not None:
            if _named(entries["users"], self.user) is None:
                raise ConfigError(
                    f"--user {self.user!r} is not among the users of the kubeconfig {shown}; "
                    f"name one of {_names(entries['users'])}."
                )
            body["user"] = self.user
        self._apply_cluster(_body(_named(entries["clusters"], body["cluster"]), "cluster"))
        user_name = body.get("user")
        wants_user = self.token is not None or self.client_certificate or self.client_key
        if wants_user and not user_name:
            entries["users"].append({"name": "retina-tui-flags", "user": {}})
            body["user"] = user_name = "retina-tui-flags"
        if user_name:
            self._apply_user(_body(_named(entries["users"], user_name), "user"))

    def _apply_cluster(self, cluster: dict[str, Any]) -> None:
        if self.server is not None:
            cluster["server"] = self.server
        if self.insecure_skip_tls_verify or self.certificate_authority:
            cluster.pop("certificate-authority-data", None)
            cluster.pop("certificate-authority", None)
            cluster["insecure-skip-tls-verify"] = self.insecure_skip_tls_verify
        if self.certificate_authority:
            cluster["certificate-authority"] = os.path.abspath(self.certificate_authority)
        if self.tls_server_name is not None:
            cluster["tls-server-name"] = self.tls_server_name

    def _apply_user(self, user: dict[str, Any]) -> None:
        if self.token is not None:
            for key in _CREDENTIAL_KEYS:
                user.pop(key, None)
            user["token"] = self.token
        for key, path in (
            ("client-certificate", self.client_certificate),
            ("client-key", self.client_key),
        ):
            if path:
                user.pop(f"{key}-data", None)
                user[key] = os.path.abspath(path)


def _value(entry: Any) -> Any:
    return entry.value if hasattr(entry, "value") else entry


def _named(entries: list[Any], name: str) -> dict[str, Any] | None:
    for entry in entries:
        value = _value(entry)
        if isinstance(value, dict) and value.get("name") == name:
            return value
    return None


def _names(entries: list[Any]) -> str:
    return ", ".join(str(_value(entry).get("name")) for entry in entries) or "(none)"


def _body(entry: dict[str, Any] | None, key: str) -> dict[str, Any]:
    """The inner mapping of an entry, created when it is missing."""
    assert entry is not None  # checked by the kubeconfig checks before
    inner = entry.get(key)
    if not isinstance(inner, dict):
        inner = entry[key] = {}
    return inner
