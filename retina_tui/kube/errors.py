"""The one place where transport failures and API Status bodies become our error types.

aiohttp raises many exception classes for "could not talk to the server", and the API
server answers refusals with a metav1 Status. Above `retina_tui.kube` nobody should see
either: they get a `RetinaTuiError` subclass whose message is one sentence naming the
server and the kubeconfig context, saying what failed and what to do.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any

import aiohttp

from retina_tui.errors import (
    ClusterUnreachableError,
    ForbiddenError,
    KubeApiError,
    NotFoundError,
    RetinaTuiError,
    UnexpectedReplyError,
)

_PLAIN_HTTP_ANSWER = ("wrong version number", "record layer failure", "packet length too long")


class CredentialsRejectedError(ClusterUnreachableError):
    """The API server answered 401: retrying with the same credentials will not help."""


def _where(server: str, context: str) -> str:
    return f"the API server {server} (context {context!r})"


def _strip(text: str) -> str:
    return text.strip().rstrip(".")


def transport_error(exc: BaseException, *, server: str, context: str) -> ClusterUnreachableError:
    """Map a failure to connect, a TLS failure or a broken connection to one sentence."""
    where = _where(server, context)
    plain_http = server.startswith("http://")
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError) and any(
        text in str(exc).lower() for text in _PLAIN_HTTP_ANSWER
    ):
        return ClusterUnreachableError(
            f"{where[0].upper()}{where[1:]} answered the TLS handshake in plain HTTP; use "
            "http:// in the server URL of the kubeconfig, or check the port."
        )
    dropped = isinstance(exc, aiohttp.ServerDisconnectedError) or (
        isinstance(exc, aiohttp.ClientOSError) and not isinstance(exc, aiohttp.ClientConnectorError)
    )
    if plain_http and dropped:
        return ClusterUnreachableError(
            f"{where[0].upper()}{where[1:]} closed the connection on a plain-HTTP request, as "
            "a server that speaks TLS does; use https:// in the server URL of the kubeconfig."
        )
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        reason = _strip(str(exc.certificate_error))
        return ClusterUnreachableError(
            f"Could not verify the TLS certificate of {where}: {reason}; check the cluster's "
            "certificate-authority in the kubeconfig."
        )
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return ClusterUnreachableError(
            f"The TLS handshake with {where} failed: {_strip(str(exc))}; check the client "
            "certificate and key in the kubeconfig."
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = _strip(exc.strerror or str(exc.os_error) or type(exc).__name__)
        return ClusterUnreachableError(
            f"Could not connect to {where}: {reason}; check that the cluster is running and "
            "reachable, or pick another context with --context."
        )
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return ClusterUnreachableError(
            f"{where[0].upper()}{where[1:]} did not answer in time; check the network or try again."
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return ClusterUnreachableError(
            f"{where[0].upper()}{where[1:]} closed the connection unexpectedly; try again."
        )
    text = _strip(str(exc)) or type(exc).__name__
    return ClusterUnreachableError(
        f"The connection to {where} failed: {text}; check that the cluster is reachable."
    )


def decode_status(body: bytes | str) -> dict[str, Any] | None:
    """A Status object from a response body, or None when the body is not one."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    if isinstance(value, dict) and value.get("kind") == "Status":
        return value
    return None


def status_error(
    code: int,
    body: bytes | str | dict[str, Any],
    *,
    server: str,
    context: str,
    method: str = "",
    path: str = "",
) -> RetinaTuiError:
    """Map an HTTP error answer (normally carrying a Status) to our types."""
    status = body if isinstance(body, dict) else decode_status(body)
    reason = ""
    if status is not None:
        message = _strip(str(status.get("message", ""))) or f"HTTP {code}"
        reason = str(status.get("reason", ""))
        code = int(status.get("code", code) or code)
    else:
        raw = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
        message = _strip(raw)[:200] or f"HTTP {code}"
    where = _where(server, context)
    if code == 401:
        return CredentialsRejectedError(
            f"{where[0].upper()}{where[1:]} rejected the credentials ({message}); log in "
            "again or fix the user of this context in the kubeconfig."
        )
    if code == 404:
        return NotFoundError(f"{message[0].upper()}{message[1:]}.", status=code, reason=reason)
    if code == 403:
        return ForbiddenError(
            f"{message[0].upper()}{message[1:]}; ask a cluster administrator for that "
            "permission or use another context.",
            status=code,
            reason=reason,
        )
    if code == 400 and "HTTP request to an HTTPS server" in message:
        return ClusterUnreachableError(
            f"{where[0].upper()}{where[1:]} speaks TLS but was sent plain HTTP; use https:// "
            "in the server URL of the kubeconfig."
        )
    request = f" for {method} {path}" if method and path else ""
    return KubeApiError(
        f"{where[0].upper()}{where[1:]} refused the request{request}: {message}.",
        status=code,
        reason=reason,
    )


def unexpected_reply(
    server: str,
    context: str,
    call: str,
    status: int,
    raw: bytes,
    content_type: str,
    parsed: object,
    *,
    was_json: bool,
) -> UnexpectedReplyError:
    """A 2xx answer that is not a JSON object: say what it was instead."""
    text = raw.lstrip()[:512].lower()
    if not raw.strip():
        what = "an empty body"
    elif "html" in content_type or text.startswith((b"<!doctype html", b"<html", b"<head")):
        what = "HTML"
    elif was_json:
        what = {list: "a JSON array", str: "a JSON string", type(None): "JSON null"}.get(
            type(parsed), "a bare JSON value"
        )
    else:
        what = "text that is not JSON"
    return UnexpectedReplyError(
        f"The API server at {server} (context {context!r}) answered {call} with something "
        f"that is not a Kubernetes object ({what}, {status}): is this the right server or a "
        "login proxy?",
        status=status,
        reason="UnexpectedReply",
    )


def credential_plugin_error(
    exc: BaseException, command: str, context: str
) -> CredentialsRejectedError:
    """An exec credential plugin failed: its command and the last line of its stderr."""
    text = str(exc)
    exit_part, _, stderr = text.partition(". ")
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if text.startswith("exec: process returned"):
        said = f"exit status {exit_part.rsplit(' ', 1)[-1]}"
        if lines:
            said = f"{said}: {lines[-1].rstrip('.')}"
    else:
        said = " ".join(text.split()).removeprefix("exec: ").rstrip(".") or type(exc).__name__
    shown = f"`{command}`" if command else "of the user"
    return CredentialsRejectedError(
        f"The credential plugin {shown} of context {context!r} failed ({said}); run it "
        "yourself to log in again, or fix the user's exec section in the kubeconfig."
    )


def is_transient(error: RetinaTuiError) -> bool:
    """Whether retrying the same request later may succeed."""
    if isinstance(error, UnexpectedReplyError):
        return False
    if isinstance(error, CredentialsRejectedError):
        return False
    if isinstance(error, ClusterUnreachableError):
        return True
    if isinstance(error, NotFoundError | ForbiddenError):
        return False
    return isinstance(error, KubeApiError) and (error.status >= 500 or error.status == 429)
