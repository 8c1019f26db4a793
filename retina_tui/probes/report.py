"""A check's result as data: the stable JSON document (docs/check.md) and the exit status.

Exit status: 0 when every cell's observation equals its prediction (or the expectation),
1 when one does not, 2 when a cell could not be probed at all.
"""

from __future__ import annotations

from typing import Any

from retina_tui.probes.plan import Cell, Expect, ProbeCheck

SCHEMA_VERSION = 1
OK, MISMATCH, ERROR = 0, 1, 2


def exit_status(cells: list[Cell], expect: Expect | None) -> int:
    if any(cell.failed for cell in cells):
        return ERROR
    return OK if all(cell.match(expect) for cell in cells) else MISMATCH


def _check(check: ProbeCheck, expect: Expect | None) -> dict[str, Any]:
    probe, seen = check.probe, check.observation
    return {
        "probe": probe.kind,
        "address": probe.address,
        "port": probe.port,
        "predicted": {
            "verdict": check.prediction.verdict,
            "reason": check.prediction.reason,
            "policies": list(check.prediction.policies),
        },
        "observed": None
        if seen is None
        else {
            "outcome": seen.outcome,
            "summary": seen.summary,
            "figures": seen.figures,
            "raw": seen.raw,
        },
        "match": check.match(expect),
        "explanation": check.explanation(expect),
    }


def document(
    cells: list[Cell], *, context: str, expect: Expect | None, seconds: float
) -> dict[str, Any]:
    """The whole check as JSON-ready data."""
    sources = list(dict.fromkeys(c.source.label for c in cells))
    targets = list(dict.fromkeys(c.target.label for c in cells))
    return {
        "version": SCHEMA_VERSION,
        "context": context,
        "expect": expect,
        "sources": sources,
        "targets": targets,
        "cells": [
            {
                "source": cell.source.label,
                "target": cell.target.label,
                "match": cell.match(expect),
                "error": cell.error,
                "explanations": cell.explanations(expect),
                "checks": [_check(check, expect) for check in cell.checks],
            }
            for cell in cells
        ],
        "summary": {
            "cells": len(cells),
            "matching": sum(1 for c in cells if c.match(expect)),
            "mismatches": sum(1 for c in cells if not c.failed and not c.match(expect)),
            "errors": sum(1 for c in cells if c.failed),
            "seconds": round(seconds, 3),
        },
        "exit_status": exit_status(cells, expect),
    }


def cell_text(cell: Cell, expect: Expect | None) -> str:
    """A cell in a few words: the observation, the prediction, a mark when they differ."""
    if cell.error is not None:
        return "ERROR"
    parts = []
    for check in cell.checks:
        seen = check.observation
        said = expect or check.prediction.verdict
        if seen is None:
            parts.append(f"{check.probe.kind} … (pred {said})")
            continue
        mark = "ok" if check.match(expect) else ("ERROR" if seen.outcome == "error" else "MISMATCH")
        parts.append(f"{check.probe.kind} {seen.outcome} (pred {said}) {mark}")
    return "; ".join(parts)
