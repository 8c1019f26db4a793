"""Run a few requests at once and fail like a single request would.

`asyncio.TaskGroup` wraps failures in an ExceptionGroup; callers of the kube layer expect
one `RetinaTuiError` they can show, so the first failure is re-raised on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def together(*calls: tuple[str, Coroutine[Any, Any, Any]]) -> list[Any]:
    """Await `(name, coroutine)` pairs concurrently; results in order, first error raised."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(call, name=name) for name, call in calls]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]
