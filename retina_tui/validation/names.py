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
