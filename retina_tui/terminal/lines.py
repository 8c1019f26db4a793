"""Raw text lines (printable characters and SGR sequences) turned into attribute runs."""

from __future__ import annotations

import re

from retina_tui.terminal.attrs import Attr, sgr

SGR_SPLIT = re.compile(r"\x1b\[([0-9;:]*)m")


def render_raw_runs(raw: str, attr: Attr) -> list[tuple[str, Attr]]:
    """Runs of a raw line that starts with pen ``attr``."""
    out: list[tuple[str, Attr]] = []
    for i, part in enumerate(SGR_SPLIT.split(raw)):
        if i % 2:
            attr = sgr(attr, part)
        elif part:
            if out and out[-1][1] is attr:
                out[-1] = (out[-1][0] + part, attr)
            else:
                out.append((part, attr))
    return out
