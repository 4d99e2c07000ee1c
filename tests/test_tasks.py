"""tasks.all_of: results in order and as their own types; a failure cancels the rest."""

from __future__ import annotations

import asyncio

import pytest

from reconciler.util.tasks import all_of


async def _value(v: object, *, after: int = 0) -> object:
    for _ in range(after):  # yield to the loop `after` times: an order without timing
        await asyncio.sleep(0)
    return v


def test_results_come_in_argument_order_whatever_order_they_finish_in() -> None:
    async def main() -> tuple[object, ...]:
        return await all_of(_value("slow", after=5), _value("fast"), _value(3, after=2))

    assert asyncio.run(main()) == ("slow", "fast", 3)


def test_the_first_failure_is_raised_as_itself_and_the_others_are_cancelled() -> None:
    cancelled: list[str] = []
    never_finished = asyncio.Event()

    async def waits_forever() -> None:
        try:
            await never_finished.wait()
        except asyncio.CancelledError:
            cancelled.append("waiter")
            raise

    async def fails() -> None:
        await asyncio.sleep(0)
        raise LookupError("the first failure")

    async def main() -> None:
        await all_of(waits_forever(), fails())

    with pytest.raises(LookupError, match="the first failure"):
        asyncio.run(main())
    assert cancelled == ["waiter"]  # awaited before all_of raised, not left running


def test_no_coroutines_give_no_results() -> None:
    assert asyncio.run(all_of()) == ()
