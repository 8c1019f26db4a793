"""The README's screenshots: the script that makes them still runs and draws the cluster.

`scripts/screenshots.py` drives the app against the sandbox; if a change to the app
broke it, the images in README.md and the docs would silently go stale.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from scripts.screenshots import BROWSER_SVG, SESSION_SVG, take_screenshots

SVG = "{http://www.w3.org/2000/svg}"


def svg_text(path: Path) -> str:
    """The text an SVG screenshot shows, a line per row of the screen (parsing it as XML)."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    rows: dict[float, list[str]] = {}
    for node in root.iter(f"{SVG}text"):
        rows.setdefault(float(node.get("y", "0")), []).append("".join(node.itertext()))
    return "\n".join("".join(rows[y]) for y in sorted(rows)).replace("\xa0", " ")


async def test_screenshots_show_the_sandbox_pods_and_a_shell(tmp_path: Path) -> None:
    paths = await take_screenshots(tmp_path)
    assert paths == [tmp_path / BROWSER_SVG, tmp_path / SESSION_SVG]

    browser = svg_text(tmp_path / BROWSER_SVG)
    for pod in ("web", "api", "client", "db", "coredns-5d78c"):
        assert pod in browser
    assert "Running" in browser
    assert "shop/web" in browser  # the details panel of the selected pod

    session = svg_text(tmp_path / SESSION_SVG)
    assert "pod shop/client" in session
    assert "root@client:/# ip -brief address" in session
