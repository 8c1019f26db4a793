"""Container image references, checked with the grammar the kubelet's runtime uses.

An image name that is not a reference is only refused by the node, after the pod or the
ephemeral container exists; checking it where it is typed (a flag, an environment
variable, the settings file) refuses it before anything is created. The grammar is the
one of github.com/distribution/reference as ParseNormalizedNamed applies it.
"""

from __future__ import annotations

import re
from typing import Final

NAME_TOTAL_LENGTH_MAX: Final = 255
TAG_LENGTH_MAX: Final = 128
EXAMPLE: Final = "docker.io/nicolaka/netshoot:v0.13"

_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[[a-fA-F0-9:]+\]"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

DOMAIN_RE: Final = re.compile(rf"^{_DOMAIN}$")
PATH_RE: Final = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
TAG_RE: Final = re.compile(rf"^{_TAG}$", re.ASCII)
DIGEST_RE: Final = re.compile(rf"^{_DIGEST}$")
REFERENCE_RE: Final = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$",
    re.ASCII,
)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
DIGEST_HEX_LENGTHS: Final = {"sha256": 64, "sha384": 96, "sha512": 128}


def _split_domain(name: str) -> tuple[str | None, str]:
    """(domain, path) as docker normalizes a name: a domain has a `.` or `:`, or is localhost."""
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        return first, rest
    return None, name


def _digest_problem(digest: str) -> str | None:
    algorithm, sep, value = digest.partition(":")
    if not sep or not DIGEST_RE.match(digest):
        return f"the digest {digest!r} is not ALGORITHM:HEX such as sha256: and 64 hex digits"
    expected = DIGEST_HEX_LENGTHS.get(algorithm)
    if expected is None:
        return f"the digest algorithm {algorithm!r} is not one of sha256, sha384 or sha512"
    if len(value) != expected or value != value.lower():
        return f"a {algorithm} digest is {expected} lowercase hex digits, not {value!r}"
    return None


def image_problem(reference: str) -> str | None:
    """Why `reference` is not an image reference, or None when it is one."""
    if not reference:
        return "it is empty"
    if reference != reference.strip() or any(char.isspace() for char in reference):
        return "it contains white space"
    name, at, digest = reference.partition("@")
    if at:
        problem = _digest_problem(digest)
        if problem is not None:
            return problem
    tag = None
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not TAG_RE.match(tag):
            return (
                f"the tag {tag!r} is not letters, digits, '_', '.' or '-' (at most "
                f"{TAG_LENGTH_MAX}, not starting with '.' or '-')"
            )
    if not name:
        return "it has no repository name"
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        return f"the name is longer than {NAME_TOTAL_LENGTH_MAX} characters"
    domain, path = _split_domain(name)
    if domain is not None and not DOMAIN_RE.match(domain):
        return f"the registry {domain!r} is not a host name with an optional :port"
    if path != path.lower():
        return "the repository name must be lowercase"
    if _HEX64.match(path):
        return "a 64-character hexadecimal string is an image id, not a repository name"
    if not PATH_RE.match(path):
        return (
            f"the repository {path!r} is not lowercase letters and digits separated by "
            "'/', '.', '_', '__' or '-'"
        )
    if not REFERENCE_RE.match(reference):  # pragma: no cover - the parts above cover it
        return "it does not follow the image reference grammar"
    return None


def describe_problem(what: str, reference: str) -> str:
    """One sentence for a refused reference: `what` names where it came from."""
    return (
        f"{what} {reference!r} is not an image reference: {image_problem(reference)}; use one "
        f"such as {EXAMPLE}."
    )
