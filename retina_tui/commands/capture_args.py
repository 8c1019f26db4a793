"""The values `retina-tui capture` takes: targets, sizes and durations, refused clearly."""

from __future__ import annotations

import re

from retina_tui.commands.shell_args import parse_duration, parse_target
from retina_tui.commands.usage import UsageProblem

__all__ = ["parse_duration", "parse_size", "parse_targets"]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)(b?)\s*$", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def parse_size(text: str) -> int:
    """`100MB`, `1.5G`, `512KiB`, `4096` -> bytes (kB = 1000, KiB = 1024)."""
    match = _SIZE.match(text)
    if match is None or (match.group(3) and not match.group(2)):
        raise UsageProblem(f"--max-size {text!r} is not a size such as 100MB, 1GiB or 500k.")
    number, prefix, binary, _bytes = match.groups()
    base = 1024 if binary else 1000
    size = int(float(number) * base ** _POWERS[prefix.lower()])
    if size < 4096:
        raise UsageProblem(f"--max-size {text!r} is too small for a capture; give 4kB or more.")
    return size


def parse_targets(texts: tuple[str, ...]) -> list[str]:
    """Each target as `pod/NAME` or `node/NAME`; a bare name is a node, as for shells."""
    return [f"{kind}/{name}" for kind, name in map(parse_target, texts)]
