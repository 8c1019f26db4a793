"""kubectl's connection flags (`-s`, `--token`, `--as`, ...), shared by the commands.

`connection_options` adds them to a command and hands its body one checked
`ConnectionOverrides` (parameter `overrides`) instead of thirteen values; each value is
refused here, with one line and exit 2, before anything connects.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import click

from retina_tui.commands.usage import UsageProblem
from retina_tui.errors import ConfigError
from retina_tui.kube.overrides import ConnectionOverrides

CONNECTION_OPTION_NAMES = (
    "server",
    "token",
    "as_user",
    "as_group",
    "as_uid",
    "cluster",
    "user",
    "certificate_authority",
    "client_certificate",
    "client_key",
    "insecure_skip_tls_verify",
    "tls_server_name",
    "request_timeout",
)
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0}
_GO_UNITS |= {"m": 60.0, "h": 3600.0}
_GO_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_TIMEOUT_HELP = (
    "a single integer in seconds, or an integer followed by a corresponding time unit "
    "(e.g. 1s | 2m | 3h), 0 for no limit"
)


def parse_request_timeout(text: str | None) -> float | None:
    """kubectl's --request-timeout: `0`, `30`, `30s`, `1m30s`, `500ms` -> seconds."""
    if text is None:
        return None
    value = text.strip()
    if value.isdigit():
        return float(value)
    total, position = 0.0, 0
    while value and position < len(value):
        match = _GO_PART.match(value, position)
        if match is None:
            break
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        position = match.end()
    else:
        if value:
            return total
    raise UsageProblem(f"--request-timeout {text!r} is not a timeout: use {_TIMEOUT_HELP}.")


def _server(text: str | None) -> str | None:
    """A server URL as kubectl takes it: `host:port` means https://host:port."""
    if text is None:
        return None
    url = text.strip() if "://" in text else f"https://{text.strip()}"
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in url:
        raise UsageProblem(
            f"-s/--server {text!r} is not an API server address; use one such as "
            "https://10.0.0.1:6443."
        )
    return url.rstrip("/")


def _not_empty(flag: str, value: str | None, instead: str) -> str | None:
    if value is not None and not value.strip():
        raise UsageProblem(f"{flag} is empty; {instead}, or omit it.")
    return value


def _file(flag: str, value: str | None) -> str | None:
    _not_empty(flag, value, "name a PEM file")
    if value is not None and not os.path.isfile(value):
        raise UsageProblem(f"{flag} {value!r} is not a file; name a PEM file, or omit it.")
    return value


def build_overrides(
    *,
    server: str | None,
    token: str | None,
    as_user: str | None,
    as_group: tuple[str, ...],
    as_uid: str | None,
    cluster: str | None,
    user: str | None,
    certificate_authority: str | None,
    client_certificate: str | None,
    client_key: str | None,
    insecure_skip_tls_verify: bool,
    tls_server_name: str | None,
    request_timeout: str | None,
) -> ConnectionOverrides:
    """The checked overrides of the flags; UsageProblem (exit 2) for a bad value."""
    for group in as_group:
        _not_empty("--as-group", group, "name a group to impersonate")
    try:
        return ConnectionOverrides(
            server=_server(server),
            token=_not_empty("--token", token, "give a bearer token"),
            impersonate_user=_not_empty("--as", as_user, "name a user to impersonate"),
            impersonate_groups=tuple(as_group),
            impersonate_uid=_not_empty("--as-uid", as_uid, "give a uid to impersonate"),
            cluster=_not_empty("--cluster", cluster, "name a cluster of the kubeconfig"),
            user=_not_empty("--user", user, "name a user of the kubeconfig"),
            certificate_authority=_file("--certificate-authority", certificate_authority),
            client_certificate=_file("--client-certificate", client_certificate),
            client_key=_file("--client-key", client_key),
            insecure_skip_tls_verify=insecure_skip_tls_verify,
            tls_server_name=_not_empty("--tls-server-name", tls_server_name, "name the server"),
            request_timeout=parse_request_timeout(request_timeout),
        )
    except ConfigError as error:
        raise UsageProblem(str(error)) from None


_OPTIONS = (
    click.option("-s", "--server", default=None, help="The address and port of the API server."),
    click.option("--token", default=None, help="Bearer token for the API server."),
    click.option("--as", "as_user", default=None, help="Username to impersonate."),
    click.option(
        "--as-group", multiple=True, help="Group to impersonate (repeat for several groups)."
    ),
    click.option("--as-uid", default=None, help="UID to impersonate."),
    click.option("--cluster", default=None, help="The kubeconfig cluster to use."),
    click.option("--user", default=None, help="The kubeconfig user to use."),
    click.option("--certificate-authority", default=None, help="CA certificate file (PEM)."),
    click.option("--client-certificate", default=None, help="Client certificate file for TLS."),
    click.option("--client-key", default=None, help="Client key file for TLS."),
    click.option(
        "--insecure-skip-tls-verify",
        is_flag=True,
        help="Do not check the server's certificate (insecure).",
    ),
    click.option(
        "--tls-server-name", default=None, help="Server name to validate the certificate with."
    ),
    click.option(
        "--request-timeout",
        default=None,
        help="Limit of one API request (30s, 1m, 5 = seconds, 0 = none; default 30s).",
    ),
)


def connection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the connection flags; the command receives them as `overrides`."""

    @functools.wraps(command)
    def with_overrides(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in CONNECTION_OPTION_NAMES}
        return command(*args, overrides=build_overrides(**values), **kwargs)

    wrapped: Callable[..., Any] = with_overrides
    for option in reversed(_OPTIONS):
        wrapped = option(wrapped)
    return wrapped
