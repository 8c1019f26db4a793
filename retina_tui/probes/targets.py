"""What a check is asked about: sources and targets as the user types them.

Sources are `pod/NAME` or `node/NAME`; targets add `svc/NAME[:PORT]`, `pod/NAME[:PORT]`,
an `IP[:PORT]` and a DNS name (`web`, `web.shop`, `example.com[:PORT]`). A namespace may be
given inline (`pod/shop/web`) or with -n.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

from retina_tui.errors import RetinaTuiError

TargetKind = Literal["pod", "svc", "name", "ip", "node"]
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", re.IGNORECASE)


class TargetSyntaxError(RetinaTuiError):
    """A source or target that cannot be understood (a usage error: exit status 2)."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Source:
    kind: Literal["pod", "node"]
    name: str
    namespace: str = ""

    @property
    def label(self) -> str:
        return f"pod/{self.namespace}/{self.name}" if self.kind == "pod" else f"node/{self.name}"


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    name: str
    namespace: str = ""
    port: int | str | None = None
    text: str = ""

    @property
    def label(self) -> str:
        return self.text or self.name


def _split_port(text: str, what: str) -> tuple[str, int | str | None]:
    if text.count(":") != 1:
        return text, None
    name, _, port = text.partition(":")
    if port.isdigit() and 0 < int(port) < 65536:
        return name, int(port)
    if re.fullmatch(r"[a-z][-a-z0-9]{0,14}", port):
        return name, port
    raise TargetSyntaxError(
        f"The port in {what!r} is not a port number (1-65535) or a port name; write it as "
        "NAME:8080 or svc/NAME:http."
    )


def _namespaced(rest: str, namespace: str, what: str) -> tuple[str, str]:
    parts = rest.split("/")
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1]
    if len(parts) == 1 and parts[0]:
        return namespace, parts[0]
    raise TargetSyntaxError(
        f"{what!r} names no object; write it as pod/NAME or pod/NAMESPACE/NAME."
    )


def parse_source(text: str, namespace: str) -> Source:
    """`pod/NAME`, `pod/NS/NAME` or `node/NAME`."""
    kind, slash, rest = text.partition("/")
    if slash and kind in ("pod", "po", "pods") and rest:
        ns, name = _namespaced(rest, namespace, text)
        return Source("pod", name, ns)
    if slash and kind in ("node", "no", "nodes") and rest and "/" not in rest:
        return Source("node", rest)
    raise TargetSyntaxError(
        f"Cannot check from {text!r}: a source is pod/NAME or node/NAME (or select pods "
        "with -l SELECTOR)."
    )


def parse_target(text: str, namespace: str) -> Target:
    """One `--to` value."""
    kind, slash, rest = text.partition("/")
    if slash and kind in ("pod", "po", "pods", "svc", "service", "services"):
        where, port = _split_port(rest, text)
        ns, name = _namespaced(where, namespace, text)
        return Target("pod" if kind.startswith("po") else "svc", name, ns, port, text)
    if slash and kind in ("node", "no", "nodes") and rest and "/" not in rest:
        return Target("node", rest, "", None, text)
    if slash:
        raise TargetSyntaxError(
            f"Cannot check {text!r}: a target is pod/NAME, svc/NAME[:PORT], node/NAME, an "
            "IP[:PORT] or a DNS name."
        )
    host, port = _split_port(text, text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return Target("ip", host, "", port, text)
    if _NAME.fullmatch(host.rstrip(".")):
        return Target("name", host, namespace, port, text)
    raise TargetSyntaxError(
        f"Cannot check {text!r}: it is neither an IP address nor a DNS name; a target is "
        "pod/NAME, svc/NAME[:PORT], node/NAME, an IP[:PORT] or a name."
    )
