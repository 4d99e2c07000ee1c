"""`access_matrix` (reconciler access) against `evaluate` cell by cell: the same Decision
(verdict, deciding statement and Sid) for every principal, action and resource, on random
small policies (the statements of test_delta_reference) and on the 140-tenant policy."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.rules import access
from reconciler.rules.access import access_matrix, evaluate, index_trn
from tests.access.policies import ACCOUNT, REGION, tenant_policy
from tests.access.test_delta_reference import BUCKET, PRINCIPALS, documents, index_sets


def _cell_by_cell(document: Any, indexes: list[str], principals: list[str] | None) -> list[Any]:
    rows = access_matrix(document, REGION, ACCOUNT, BUCKET, indexes, principals)
    other = access._other_index({*indexes, *access._named_index_parts(REGION, ACCOUNT, BUCKET, [document])})
    for row in rows:
        evaluated = index_trn(REGION, ACCOUNT, BUCKET, other) if row.resource.endswith("/index/*") else row.resource
        for principal, decisions in row.decisions.items():
            for action, decision in decisions.items():
                assert decision == evaluate(document, principal, action, evaluated), (principal, action, row.resource)
    return rows


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, index_sets, st.one_of(st.none(), st.lists(st.sampled_from(PRINCIPALS), min_size=1, max_size=4)))
def test_the_matrix_equals_evaluate_cell_by_cell(document: Any, indexes: list[str], who: list[str] | None) -> None:
    _cell_by_cell(document, indexes, who)


def test_the_matrix_of_the_tenant_policy_equals_evaluate() -> None:
    doc = tenant_policy(40, BUCKET)
    rows = _cell_by_cell(doc, ["i05-a", "i100", "i3"], None)
    assert rows[1].decisions["2100000005"]["tosvectors:QueryVectors"].describe() == "allowed by Statement[4]"
