"""Kubernetes object names as the API server validates them, checked before any request.

An empty or malformed name is not only a 404 to come: an empty node name turns the node
read into a list of every node, and an empty namespace falls back to another one.
"""

from __future__ import annotations

import re
from typing import Final

DNS_LABEL_MAX: Final = 63
DNS_SUBDOMAIN_MAX: Final = 253
_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
LABEL_RE: Final = re.compile(rf"^{_LABEL}$")
SUBDOMAIN_RE: Final = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")


def _name_problem(name: str, longest: int, pattern: re.Pattern[str], allowed: str) -> str | None:
    if not name:
        return "it is empty"
    if name != name.strip() or not name.strip():
        return "it is blank or has white space around it"
    if len(name) > longest:
        return f"it is longer than {longest} characters"
    if not pattern.match(name):
        return f"names are {allowed}, starting and ending with a letter or digit"
    return None


def subdomain_problem(name: str) -> str | None:
    """Why `name` cannot name a pod or a node (a DNS-1123 subdomain), or None."""
    return _name_problem(
        name, DNS_SUBDOMAIN_MAX, SUBDOMAIN_RE, "lowercase letters, digits, '-' and '.'"
    )


def label_problem(name: str) -> str | None:
    """Why `name` cannot name a namespace or a container (a DNS-1123 label), or None."""
    return _name_problem(name, DNS_LABEL_MAX, LABEL_RE, "lowercase letters, digits and '-'")


WINDOWS_DOMAIN_MAX: Final = 256
WINDOWS_USER_MAX: Final = 104
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NETBIOS = re.compile(r'^[^\\/:*?"<>|.][^\\/:*?"<>|]{0,14}$')
_DNS_DOMAIN = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}"
    r"[a-zA-Z0-9])?$"
)
_ONLY_DOTS_SPACES = re.compile(r"^[. ]+$")
_BAD_USER_CHARS = re.compile(r'["/\\:;|=,+*?<>@\[\]]')


def windows_user_problem(name: str) -> str | None:
    """Why `name` cannot be a `runAsUserName` (`DOMAIN\\user`), as the API server checks it."""
    if not name:
        return "runAsUserName cannot be an empty string"
    if _CONTROL.search(name):
        return "runAsUserName cannot contain control characters"
    parts = name.split("\\")
    if len(parts) > 2:
        return "runAsUserName cannot contain more than one backslash"
    domain, user = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
    if len(domain) >= WINDOWS_DOMAIN_MAX:
        return f"runAsUserName's Domain length must be under {WINDOWS_DOMAIN_MAX} characters"
    if len(parts) == 2 and not (_NETBIOS.match(domain) or _DNS_DOMAIN.match(domain)):
        return "runAsUserName's Domain doesn't match the NetBios nor the DNS format"
    if not user:
        return "runAsUserName's User cannot be empty"
    if len(user) > WINDOWS_USER_MAX:
        return f"runAsUserName's User length must not be longer than {WINDOWS_USER_MAX} characters"
    if _ONLY_DOTS_SPACES.match(user):
        return "runAsUserName's User cannot contain only periods or spaces"
    if _BAD_USER_CHARS.search(user):
        return "runAsUserName's User cannot contain the following characters: \"/\\:;|=,+*?<>@[]"
    return None
