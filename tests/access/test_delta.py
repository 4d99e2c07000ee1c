"""The access delta of a policy change and the public-access predicate (reconciler/rules/access.py)."""

from __future__ import annotations

from typing import Any

from reconciler.rules.access import AccessChange, access_delta, grants_public, resource_label

R = "trn:tosvectors:cn-beijing:2100000000:bucket/rag-prod"
CI = "2100000001/ci-bot"


def _allow(principal: Any, actions: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": actions, "Resource": resource, **extra}


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2025-12-01", "Statement": list(statements)}


def _delta(before: Any, after: Any, indexes: tuple[str, ...] = ("docs-v1",)) -> list[tuple[str, str, str, str]]:
    return [(c.principal, c.change, c.action.split(":")[1], resource_label(c.resource))
            for c in access_delta(before, after, "cn-beijing", "2100000000", "rag-prod", indexes)]


def test_widening_a_grant_lists_exactly_the_gained_and_lost_triples() -> None:
    before = _doc(_allow(CI, ["tosvectors:QueryVectors", "tosvectors:GetVectors"], f"{R}/index/*"))
    after = _doc(_allow(CI, ["tosvectors:QueryVectors", "tosvectors:PutVectors"], f"{R}/index/*"))
    assert _delta(before, after) == [
        (CI, "grant", "PutVectors", "index/docs-v1"),
        (CI, "grant", "PutVectors", "any other index"),
        (CI, "revoke", "GetVectors", "index/docs-v1"),
        (CI, "revoke", "GetVectors", "any other index"),
    ]


def test_an_unchanged_or_only_reworded_policy_has_no_delta() -> None:
    doc = _doc(_allow(CI, "tosvectors:QueryVectors", f"{R}/index/*"))
    reworded = _doc(_allow([CI], ["TOSVECTORS:queryvectors"], [f"{R}/index/*"]), _allow(CI, "tosvectors:QueryVectors",
                                                                                     f"{R}/index/docs-v1"))
    assert _delta(doc, doc) == []
    assert _delta(doc, reworded) == []


def test_creating_and_deleting_a_policy_grant_and_revoke_everything_it_allows() -> None:
    doc = _doc(_allow(CI, "tosvectors:ListIndexes", R))
    assert _delta(None, doc) == [(CI, "grant", "ListIndexes", "bucket/rag-prod")]
    assert _delta(doc, None) == [(CI, "revoke", "ListIndexes", "bucket/rag-prod")]


def test_the_delta_covers_live_and_named_indexes_and_patterns() -> None:
    before = _doc(_allow(CI, "tosvectors:GetIndex", f"{R}/index/*"),
                  {"Effect": "Deny", "Principal": CI, "Action": "tosvectors:GetIndex", "Resource": f"{R}/index/hr"})
    after = _doc(_allow(CI, "tosvectors:GetIndex", [f"{R}/index/docs-*", f"{R}/index/hr"]))
    assert _delta(before, after, indexes=("docs-v1", "legacy")) == [
        (CI, "grant", "GetIndex", "index/hr"),  # named only by the old Deny
        (CI, "revoke", "GetIndex", "index/legacy"),  # a live index the manifest does not declare
        (CI, "revoke", "GetIndex", "any other index"),
    ]


def test_a_grant_to_anyone_is_listed_once_for_anyone_and_is_public() -> None:
    before = _doc(_allow(CI, "tosvectors:QueryVectors", f"{R}/index/*"))
    after = _doc(_allow("*", "tosvectors:QueryVectors", f"{R}/index/*"), _allow(CI, "tosvectors:QueryVectors",
                                                                                f"{R}/index/*"))
    assert _delta(before, after) == [("*", "grant", "QueryVectors", "index/docs-v1"),
                                     ("*", "grant", "QueryVectors", "any other index")]
    assert grants_public(before, after, "cn-beijing", "2100000000", "rag-prod")
    assert not grants_public(after, after, "cn-beijing", "2100000000", "rag-prod")
    assert not grants_public(after, before, "cn-beijing", "2100000000", "rag-prod")


def test_public_access_is_found_through_patterns_no_index_matches_yet() -> None:
    after = _doc(_allow("*", "tosvectors:GetVectors", f"{R}/index/pub-*"))
    assert grants_public(None, after, "cn-beijing", "2100000000", "rag-prod", indexes=())
    assert _delta(None, after, indexes=()) == [("*", "grant", "GetVectors", "index/pub-*")]


def test_a_conditional_grant_is_marked_and_still_public() -> None:
    after = _doc(_allow("*", "tosvectors:QueryVectors", f"{R}/index/docs-v1",
                        Condition={"IpAddress": {"tos:SourceIp": "10.0.0.0/8"}}))
    changes = access_delta(None, after, "cn-beijing", "2100000000", "rag-prod", ("docs-v1",))
    assert changes == [AccessChange("*", "tosvectors:QueryVectors", f"{R}/index/docs-v1", "grant", conditional=True)]
    assert grants_public(None, after, "cn-beijing", "2100000000", "rag-prod")
    made_definite = _doc(_allow("*", "tosvectors:QueryVectors", f"{R}/index/docs-v1"))
    assert _delta(after, made_definite) == [("*", "grant", "QueryVectors", "index/docs-v1")]


def test_a_grant_on_another_bucket_or_account_is_no_access_here() -> None:
    other_bucket = _doc(_allow("*", "tosvectors:*", "trn:tosvectors:cn-beijing:2100000000:bucket/rag-dev/index/*"))
    other_account = _doc(_allow("*", "tosvectors:*", "trn:tosvectors:cn-beijing:2199999999:bucket/rag-prod/index/*"))
    assert _delta(None, other_bucket) == [] and _delta(None, other_account) == []
    assert not grants_public(None, other_bucket, "cn-beijing", "2100000000", "rag-prod")
    # the guard reads resources account- and region-agnostically: a plan's account or region
    # could be forged, so a grant naming this bucket anywhere counts as public
    assert grants_public(None, other_account, "cn-beijing", "2100000000", "rag-prod")
    assert grants_public(None, other_account, "cn-shanghai", "2100000000", "rag-prod")


def test_access_changes_round_trip_through_dicts() -> None:
    c = AccessChange("*", "tosvectors:GetIndex", f"{R}/index/a", "revoke", conditional=True)
    assert AccessChange.from_dict(c.to_dict()) == c
