"""Shared test hygiene: every async test must leave no asyncio task behind."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from hypothesis import settings

# CI explores the same examples on every run, so a red build always replays; local runs
# keep exploring new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail the test if it leaves tasks running on its event loop."""
    before = asyncio.all_tasks()
    yield
    for _ in range(3):
        await asyncio.sleep(0)
    leaked = [
        task for task in asyncio.all_tasks() - before - {asyncio.current_task()} if not task.done()
    ]
    for task in leaked:
        task.cancel()
    if leaked:
        names = ", ".join(sorted(_describe(task) for task in leaked))
        pytest.fail(f"test leaked {len(leaked)} asyncio task(s): {names}")


def _describe(task: asyncio.Task[object]) -> str:
    """A task's name and where it waits, so an unnamed leak can be traced."""
    frames = task.get_stack(limit=1)
    where = f" at {frames[0].f_code.co_qualname}:{frames[0].f_lineno}" if frames else ""
    coro = getattr(task.get_coro(), "__qualname__", "?")
    return f"{task.get_name()} ({coro}{where})"


pytest_plugins = ["tests.fixtures_sandbox"]
