"""Steps the sandbox lets finish even when cancelled, because stopping them halfway breaks more.

Handing sockets to the event loop is one: cancelled halfway, the loop already watches a
socket its owner then closes by hand, and the next socket or pipe given that descriptor
number is never watched, so whatever reads it waits forever. A netfilter batch is another:
it is atomic and quick. Such a step runs in a task of its own; a cancellation waits for it
(however often it is repeated), undoes what it made, and then goes through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def finish(
    step: Coroutine[Any, Any, T], name: str, undo: Callable[[T], None] | None = None
) -> T:
    """Await `step` to its end; if cancelled meanwhile, `undo` its result and re-raise."""
    task = asyncio.create_task(step, name=name)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                continue
            except Exception:
                break
        if not task.cancelled() and task.exception() is None and undo is not None:
            undo(task.result())
        raise
