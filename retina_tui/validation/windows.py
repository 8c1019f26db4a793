"""Windows Server releases: the build a node runs and the build an image was made for.

Shared by the sessions, which refuse a mismatch before anything is created, and the
sandbox's kubelet, which fails such a container as a Windows node does.
"""

from __future__ import annotations

import re
from typing import Final

RELEASES: Final[dict[int, tuple[str, str]]] = {
    17763: ("ltsc2019", "Windows Server 2019"),
    20348: ("ltsc2022", "Windows Server 2022"),
    26100: ("ltsc2025", "Windows Server 2025"),
}
"""Build number -> (image tag of the release, its name)."""
_TAG_BUILDS: Final = {"ltsc2019": 17763, "1809": 17763, "ltsc2022": 20348, "ltsc2025": 26100}
_KERNEL_RE: Final = re.compile(r"^10\.0\.(\d{5})\b")
_TAG_BUILD_RE: Final = re.compile(r"10\.0\.(\d{5})")


def kernel_build(kernel: object) -> int | None:
    """The build of a Windows kernel version (`10.0.20348.2227` -> 20348), else None."""
    if isinstance(kernel, str) and (match := _KERNEL_RE.match(kernel)):
        return int(match.group(1))
    return None


def image_build(image: str) -> int | None:
    """The build an image's tag names (`...:0.1.0-ltsc2022` -> 20348), if it names one."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    tag = last.rsplit(":", 1)[1].lower()
    if match := _TAG_BUILD_RE.search(tag):
        return int(match.group(1))
    for part in re.split(r"[-_.]", tag):
        if part in _TAG_BUILDS:
            return _TAG_BUILDS[part]
    return None
