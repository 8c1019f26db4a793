"""Read the Windows debug image's tool list and smoke checks without a Windows host.

verify.ps1 reads tools.txt and smoke-checks.txt inside the image; this reads them the same
way (tab-separated, `#` comment lines, the same columns and sources), so the lists can be
checked against the docs and each other on any machine. It is not copied into the image.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOOLS_FILE = HERE / "tools.txt"
SMOKE_CHECKS_FILE = HERE / "smoke-checks.txt"
SOURCES = ("windows", "host")
"""windows: built into Windows Server Core (the image); host: only on the node."""


@dataclass(frozen=True)
class Tool:
    """One line of tools.txt."""

    name: str
    source: str


@dataclass(frozen=True)
class SmokeCheck:
    """One line of smoke-checks.txt: a PowerShell command that proves the tool starts."""

    tool: str
    source: str
    command: str


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each non-comment line; a malformed one raises ValueError."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if (
            len(fields) != len(columns)
            or not all(field.strip() for field in fields)
            or fields[1] not in SOURCES
        ):
            raise ValueError(
                f"{path.name} line {number}: expected {', '.join(columns)} separated by tabs, "
                f"with source one of {', '.join(SOURCES)}, got {line!r}"
            )
        yield number, fields


def read_tools(path: Path = TOOLS_FILE) -> list[Tool]:
    """The tools in tools.txt, in order; a malformed or repeated line raises ValueError."""
    tools: list[Tool] = []
    seen: set[str] = set()
    for number, (name, source) in _rows(path, ("tool", "source")):
        if name in seen:
            raise ValueError(f"{path.name} line {number}: {name} is listed twice")
        seen.add(name)
        tools.append(Tool(name, source))
    return tools


def read_smoke_checks(path: Path = SMOKE_CHECKS_FILE) -> list[SmokeCheck]:
    """The checks in smoke-checks.txt, in order; a malformed line raises ValueError."""
    return [
        SmokeCheck(tool, source, command)
        for _, (tool, source, command) in _rows(path, ("tool", "source", "command"))
    ]
