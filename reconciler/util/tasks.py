"""Run awaitables together so that none outlives the first failure.

`asyncio.gather` leaves its other tasks running when one raises. A refresh that fails on a
403 then has reads still in flight while the CLI shuts its loop down, and when one of those
ends in its own error in that moment (its cancel lost to a result already on its way),
asyncio prints that error's traceback. A TaskGroup cancels the rest and waits for them.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar, overload

T = TypeVar("T")
T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")


# Fixed arities keep each result's own type (`listing, policy = await all_of(a, b)`);
# the variadic form is for many results of one type.
@overload
async def all_of(c1: Coroutine[Any, Any, T1], c2: Coroutine[Any, Any, T2], /) -> tuple[T1, T2]: ...
@overload
async def all_of(c1: Coroutine[Any, Any, T1], c2: Coroutine[Any, Any, T2], c3: Coroutine[Any, Any, T3],
                 /) -> tuple[T1, T2, T3]: ...
@overload
async def all_of(*coros: Coroutine[Any, Any, T]) -> tuple[T, ...]: ...


async def all_of(*coros: Coroutine[Any, Any, Any]) -> tuple[Any, ...]:
    """The results in order; on a failure, the others are cancelled and awaited, then the
    first failure is raised as itself (not wrapped in an ExceptionGroup)."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coros]
    except BaseExceptionGroup as failed:  # in the order they happened: [0] came first
        first = failed.exceptions[0]
    else:
        return tuple(t.result() for t in tasks)
    raise first  # outside the handler: its __cause__ and __context__ stay its own


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to its end on uvloop where it exists (not on Windows): a third less CPU per
    request than asyncio's own loop, which is what a refresh of thousands of reads spends
    its CPU on. Every command and the watch run their event loop through here."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def can_trap_signals() -> bool:
    """asyncio takes signal handlers only in the main thread, and not on Windows loops."""
    return sys.platform != "win32" and threading.current_thread() is threading.main_thread()
