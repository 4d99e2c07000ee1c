"""Run awaitables together so that none outlives the first failure.

`asyncio.gather` leaves its other tasks running when one raises. A refresh that fails on a
403 then has reads still in flight while the CLI shuts its loop down, and when one of those
ends in its own error in that moment (its cancel lost to a result already on its way),
asyncio prints that error's traceback. A TaskGroup cancels the rest and waits for them.
"""

from __future__ import annotations

import asyncio
from typing import Any, Coroutine, TypeVar

T = TypeVar("T")


async def all_of(*coros: Coroutine[Any, Any, T]) -> list[T]:
    """The results in order; on a failure, the others are cancelled and awaited, then the
    first failure is raised as itself (not wrapped in an ExceptionGroup)."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coros]
    except BaseExceptionGroup as failed:  # in the order they happened: [0] came first
        first = failed.exceptions[0]
    else:
        return [t.result() for t in tasks]
    raise first  # outside the handler: its __cause__ and __context__ stay its own
