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
        names = ", ".join(sorted(task.get_name() for task in leaked))
        pytest.fail(f"test leaked {len(leaked)} asyncio task(s): {names}")


pytest_plugins = ["tests.fixtures_sandbox"]
