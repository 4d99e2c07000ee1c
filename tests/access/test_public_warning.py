"""A wildcard principal that reaches identities nobody named is warned of at plan time, not
only refused at apply: the plan says first what apply will refuse."""

from __future__ import annotations

from reconciler.plan.model import Action, Change
from reconciler.render.text import plan_text
from tests.render.render_samples import TARGET


def _policy_change(principal: str) -> Change:
    doc = {"Version": "2025-12-01", "Statement": [{
        "Effect": "Allow", "Principal": [principal], "Action": ["tosvectors:QueryVectors"],
        "Resource": ["trn:tosvectors:cn-beijing:2100000000:bucket/app/index/*"]}]}
    return Change(address="policy.app", kind="policy", action=Action.CREATE, before=None,
                  after={"document": doc}, reason="declared; bucket has no policy", reason_code="not-found")


def test_a_wildcard_principal_is_public_in_the_plan_too() -> None:
    for principal in ("?*", "2*", "*/ci"):
        assert _policy_change(principal).public, principal
    assert not _policy_change("2100000001/ci-bot").public


def test_the_text_plan_warns_of_a_wildcard_principal() -> None:
    from reconciler.plan.model import Plan

    text = plan_text(Plan(target=TARGET, changes=(_policy_change("?*"),)))
    assert "grants access to anyone" in text
