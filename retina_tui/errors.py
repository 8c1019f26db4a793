"""Error types that carry a one-sentence message for humans.

Everything that can go wrong with a cluster or with user input is turned into one of
these at the boundary where it happens, so nothing above that boundary ever sees an
aiohttp or kubernetes_asyncio exception, and the CLI and the UI can show `str(error)`.
"""

from __future__ import annotations


class RetinaTuiError(Exception):
    """Base of every error meant to be shown to a person.

    The message says what failed, why, and what to do; `exit_code` is what the CLI
    exits with when this error ends it.
    """

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(RetinaTuiError):
    """The configuration file or a command-line value is invalid."""

    exit_code = 2


class ClusterUnreachableError(RetinaTuiError):
    """The API server could not be reached, or TLS/authentication failed."""


class KubeApiError(RetinaTuiError):
    """The API server answered with an error Status."""

    def __init__(self, message: str, *, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class UnexpectedReplyError(KubeApiError):
    """The API server answered, but not with what a Kubernetes API server sends.

    An HTML login page, text that is not JSON, an empty body, or an object whose fields
    have the wrong types. Asking again gets the same answer, so it is never transient.
    """


class NotFoundError(KubeApiError):
    """A pod, node or namespace does not exist."""


class ForbiddenError(KubeApiError):
    """RBAC or admission refused the request."""


class SessionError(RetinaTuiError):
    """A debug session could not be started or failed while running."""


class ProtocolError(RetinaTuiError):
    """A frame on the exec/attach stream could not be understood."""
