"""API errors of the embedded cluster, turned by the server into real metav1 Status objects.

Everything the store, admission or the handlers refuse is raised as an `ApiError`; the
server has one place that writes it out, so clients always receive the shapes the real
Kubernetes API server produces (kubectl prints `.message` verbatim).
"""

from __future__ import annotations

from typing import Any

from retina_tui.errors import RetinaTuiError


class ApiError(RetinaTuiError):
    """A refused request: HTTP code, Status reason, message and optional details."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        causes: list[dict[str, str]] | None = None,
        name: str | None = None,
        kind: str | None = None,
        group: str = "",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.causes = causes or []
        self.name = name
        self.kind = kind
        self.group = group

    def status(self) -> dict[str, Any]:
        """The metav1 Status object for this error."""
        return status_object(
            self.code,
            self.reason,
            self.message,
            causes=self.causes,
            name=self.name,
            kind=self.kind,
            group=self.group,
        )


def status_object(
    code: int,
    reason: str,
    message: str,
    *,
    causes: list[dict[str, str]] | None = None,
    name: str | None = None,
    kind: str | None = None,
    group: str = "",
) -> dict[str, Any]:
    """Build a metav1 Status with `status: Failure` the way the API server writes it."""
    status: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    details: dict[str, Any] = {}
    if name is not None:
        details["name"] = name
    if group:
        details["group"] = group
    if kind is not None:
        details["kind"] = kind
    if causes:
        details["causes"] = causes
    if details:
        status["details"] = details
    return status


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    """404 in the API server's words: `pods "x" not found`."""
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(
        404, "NotFound", f'{qualified} "{name}" not found', name=name, kind=resource, group=group
    )


def already_exists(resource: str, name: str, group: str = "") -> ApiError:
    """409 AlreadyExists for a create of an existing name."""
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified} "{name}" already exists',
        name=name,
        kind=resource,
        group=group,
    )


def conflict(resource: str, name: str, group: str = "") -> ApiError:
    """409 Conflict for an update carrying a stale resourceVersion."""
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        name=name,
        kind=resource,
        group=group,
    )


def bad_request(message: str) -> ApiError:
    """400 BadRequest: a body or parameter that cannot be understood."""
    return ApiError(400, "BadRequest", message)


def invalid(kind: str, name: str, causes: list[dict[str, str]], group: str = "") -> ApiError:
    """422 Invalid with one cause per broken field, message as the API server joins them."""
    parts = []
    for cause in causes:
        parts.append(f"{cause['field']}: {cause['message']}")
    text = ", ".join(parts)
    if len(parts) > 1:
        text = "[" + text + "]"
    return ApiError(
        422,
        "Invalid",
        f'{kind} "{name}" is invalid: {text}',
        causes=causes,
        name=name,
        kind=kind,
        group=group,
    )


def field_cause(reason: str, field: str, message: str) -> dict[str, str]:
    """One `details.causes` entry (reason is e.g. FieldValueInvalid, FieldValueDuplicate)."""
    return {"reason": reason, "message": message, "field": field}


def forbidden(message: str, *, name: str | None, kind: str, group: str = "") -> ApiError:
    """403 Forbidden with an already formatted message."""
    return ApiError(403, "Forbidden", message, name=name, kind=kind, group=group)


def gone(message: str) -> ApiError:
    """410 Expired, for a resourceVersion older than the kept history."""
    return ApiError(410, "Expired", message)
