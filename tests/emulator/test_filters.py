"""The QueryVectors filter language: each operator through the API, and its edge cases."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.emulator.errors import ValidationException
from reconciler.emulator.filters import check_filterable, parse_filter
from tests.emulator.helpers import Api

DOCS: dict[str, dict[str, Any]] = {
    "a": {"genre": "drama", "year": 1999, "tags": ["x", "y"], "rating": 4.5, "free": True},
    "b": {"genre": "comedy", "year": 2005, "tags": ["y"], "rating": 3.0, "free": False},
    "c": {"genre": "drama", "year": 2010, "tags": [], "rating": 1},
    "d": {"genre": "news", "year": "2010", "tags": ["z", 5]},
    "e": {},
}


@pytest.fixture(scope="module")
def catalogue() -> Any:
    from tests.emulator.helpers import asgi_api

    api, post = asgi_api()
    api.bucket("films")
    api.index("films", "idx", dimension=2, non_filterable=["body"])
    api.put("films", "idx", [{"key": k, "data": {"float32": [float(i), 0.0]}, **({"metadata": md} if md else {})}
                             for i, (k, md) in enumerate(DOCS.items())])
    yield api
    post.close()


CASES: list[tuple[dict[str, Any], str]] = [
    ({"genre": "drama"}, "ac"),  # implicit $eq
    ({"genre": {"$eq": "drama"}}, "ac"),
    ({"genre": {"$ne": "drama"}}, "bde"),  # $ne matches a missing key too
    ({"year": {"$gt": 2005}}, "c"),  # "2010" is a string: ranges compare numbers only
    ({"year": {"$gte": 2005}}, "bc"),
    ({"year": {"$lt": 2005}}, "a"),
    ({"year": {"$lte": 2005}}, "ab"),
    ({"year": {"$gte": 2000, "$lt": 2010}}, "b"),  # several operators on one key: all must hold
    ({"rating": {"$gt": 1.0}}, "ab"),  # int and float compare by value
    ({"rating": 1.0}, "c"),
    ({"genre": {"$in": ["comedy", "news"]}}, "bd"),
    ({"genre": {"$nin": ["comedy", "news"]}}, "ace"),
    ({"tags": "y"}, "ab"),  # $eq on an array value matches any element
    ({"tags": {"$in": ["z", "x"]}}, "ad"),
    ({"tags": {"$nin": ["y"]}}, "cde"),
    ({"tags": {"$gt": 4}}, "d"),  # ranges look at the numbers inside an array
    ({"tags": {"$ne": "y"}}, "cde"),
    ({"free": {"$exists": True}}, "ab"),
    ({"free": {"$exists": False}}, "cde"),
    ({"free": True}, "a"),
    ({"free": 1}, ""),  # JSON types stay apart: true is not 1
    ({"year": "2010"}, "d"),
    ({"$and": [{"genre": "drama"}, {"year": {"$gt": 2000}}]}, "c"),
    ({"$or": [{"genre": "comedy"}, {"year": 1999}]}, "ab"),
    ({"$not": {"genre": "drama"}}, "bde"),
    ({"$and": [{"$or": [{"genre": "drama"}, {"genre": "news"}]}, {"$not": {"year": 1999}}]}, "cd"),
    ({"genre": "drama", "year": 1999}, "a"),  # several keys: ANDed
    ({"missing": "x"}, ""),
    ({}, "abcde"),
]


@pytest.mark.parametrize("flt,expected", CASES, ids=[str(c[0]) for c in CASES])
def test_operator(catalogue: Api, flt: dict[str, Any], expected: str) -> None:
    got = catalogue.query("films", "idx", [0.0, 0.0], filter=flt)
    assert "".join(sorted(v["key"] for v in got)) == expected


def test_filtered_results_stay_ranked_and_limited(catalogue: Api) -> None:
    got = catalogue.query("films", "idx", [10.0, 0.0], top_k=2, filter={"genre": {"$ne": "news"}},
                          returnDistance=True, returnMetadata=True)
    assert [g["key"] for g in got] == ["e", "c"]
    assert got[0] == {"key": "e", "distance": 36.0}  # "e" has no metadata: the key is left out
    assert got[1]["metadata"]["genre"] == "drama"


def test_filters_see_new_metadata(catalogue: Api) -> None:
    catalogue.put("films", "idx", [{"key": "f", "data": {"float32": [9.0, 0.0]}, "metadata": {"genre": "fresh"}}])
    assert [g["key"] for g in catalogue.query("films", "idx", [0.0, 0.0], filter={"genre": "fresh"})] == ["f"]
    catalogue.ok("DeleteVectors", {"vectorBucketName": "films", "indexName": "idx", "keys": ["f"]})
    assert catalogue.query("films", "idx", [0.0, 0.0], filter={"genre": "fresh"}) == []


def test_parse_filter_names_the_bad_path() -> None:
    with pytest.raises(ValidationException, match=r"filter\.\$or\[1\]\.year\.\$lt must be a number"):
        parse_filter({"$or": [{"a": 1}, {"year": {"$lt": "x"}}]})
    with pytest.raises(ValidationException, match=r"filter\.\$not\.a: unknown operator '\$near'"):
        parse_filter({"$not": {"a": {"$near": 1}}})
    with pytest.raises(ValidationException, match="empty metadata key"):
        parse_filter({"": 1})


def test_check_filterable() -> None:
    flt = parse_filter({"$and": [{"a": 1}, {"$not": {"b": {"$exists": True}}}]})
    assert flt.keys() == {"a", "b"}
    check_filterable(flt, ("c",))
    with pytest.raises(ValidationException, match="non-filterable metadata key 'b'"):
        check_filterable(flt, ("b", "c"))


def test_nesting_is_limited() -> None:
    flt: dict[str, Any] = {"a": 1}
    for _ in range(32):
        flt = {"$not": flt}
    parse_filter(flt)
    with pytest.raises(ValidationException, match="more than 32 levels"):
        parse_filter({"$and": [flt]})
