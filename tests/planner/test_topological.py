"""plan.topological: dependencies first, otherwise the given order (the golden plans and
the executor rely on this order), and a cycle or a missing dependency refused."""

from __future__ import annotations

import pytest

from reconciler.plan.model import Action, Change, topological


def _c(address: str, *deps: str) -> Change:
    return Change(address=address, kind="policy", action=Action.UPDATE, before={}, after={},
                  reason="r", depends_on=deps)


def _order(changes: list[Change]) -> list[str]:
    return [c.address for c in topological(changes)]


def test_dependencies_first_otherwise_the_given_order_in_waves() -> None:
    changes = [_c("d", "c"), _c("a"), _c("c", "a"), _c("b"), _c("e", "a", "b")]
    # wave 1: a, b (given order); wave 2: c, e (given order); wave 3: d
    assert _order(changes) == ["a", "b", "c", "e", "d"]


def test_a_chain_given_backwards_comes_out_forwards() -> None:
    n = 200
    changes = [_c(f"x{i}", f"x{i - 1}") for i in range(n - 1, 0, -1)] + [_c("x0")]
    assert _order(changes) == [f"x{i}" for i in range(n)]


@pytest.mark.parametrize("changes, named", [
    ([_c("a", "b"), _c("b", "a"), _c("c")], "a, b"),
    ([_c("a", "a")], "a"),
    ([_c("a", "gone"), _c("b", "a"), _c("c")], "a, b"),
])
def test_a_cycle_or_a_missing_dependency_is_refused_naming_what_is_stuck(changes: list[Change], named: str) -> None:
    with pytest.raises(ValueError, match=f"dependency cycle among {named}$"):
        topological(changes)
