"""The QueryVectors filter language: each operator through the API, and its edge cases."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.emulator.errors import ValidationException
from reconciler.emulator.filters import Columns, check_filterable, parse_filter
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


# --- the vectorised evaluator against the filter language's plain definition ------------------

def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return bool(a == b)
    return isinstance(a, str) and isinstance(b, str) and a == b


def _holds(op: str, operand: Any, elements: list[Any]) -> bool:
    nums = [e for e in elements if isinstance(e, (int, float)) and not isinstance(e, bool)]
    if op == "$exists":
        return bool(operand)
    if op in ("$eq", "$ne"):
        return any(_same(e, operand) for e in elements) == (op == "$eq")
    if op in ("$in", "$nin"):
        return any(_same(e, x) for e in elements for x in operand) == (op == "$in")
    compare = {"$gt": lambda a, b: a > b, "$gte": lambda a, b: a >= b,
               "$lt": lambda a, b: a < b, "$lte": lambda a, b: a <= b}[op]
    return any(compare(e, operand) for e in nums)


def _oracle(flt: Any, md: dict[str, Any]) -> bool:
    """The module docstring's semantics, one document at a time, written the obvious way."""
    results = []
    for key, value in flt.items():
        if key == "$and":
            results.append(all(_oracle(f, md) for f in value))
        elif key == "$or":
            results.append(any(_oracle(f, md) for f in value))
        elif key == "$not":
            results.append(not _oracle(value, md))
        else:
            for op, operand in (value if isinstance(value, dict) else {"$eq": value}).items():
                if key not in md:
                    results.append(op in ("$ne", "$nin") or (op == "$exists" and not operand))
                else:
                    v = md[key]
                    results.append(_holds(op, operand, v if isinstance(v, list) else [v]))
    return all(results)


_scalars = st.one_of(st.sampled_from(["a", "b", "c", ""]), st.integers(-3, 3), st.sampled_from([0.5, 1.0, -2.5]),
                     st.booleans())
_keys = st.sampled_from(["k1", "k2", "k3"])
_values = st.one_of(_scalars, st.lists(_scalars, max_size=4))
_docs = st.lists(st.dictionaries(_keys, _values, max_size=3), min_size=1, max_size=25)
_numbers = st.one_of(st.integers(-3, 3), st.sampled_from([0.5, -2.5, 1.0]))
_conditions = st.one_of(
    _scalars,
    st.dictionaries(st.sampled_from(["$eq", "$ne"]), _scalars, min_size=1, max_size=2),
    st.dictionaries(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), _numbers, min_size=1, max_size=2),
    st.dictionaries(st.sampled_from(["$in", "$nin"]), st.lists(_scalars, min_size=1, max_size=4), min_size=1),
    st.builds(lambda b: {"$exists": b}, st.booleans()),
)
_filters = st.recursive(
    st.dictionaries(_keys, _conditions, max_size=2),
    lambda inner: st.one_of(st.builds(lambda fs: {"$and": fs}, st.lists(inner, min_size=1, max_size=3)),
                            st.builds(lambda fs: {"$or": fs}, st.lists(inner, min_size=1, max_size=3)),
                            st.builds(lambda f: {"$not": f}, inner)),
    max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(docs=_docs, flt=_filters)
def test_vectorised_filters_agree_with_the_plain_definition(docs: list[dict[str, Any]], flt: dict[str, Any]) -> None:
    mask = parse_filter(flt).mask(Columns(docs))
    assert mask.tolist() == [_oracle(flt, md) for md in docs]


def test_filters_are_bounded_in_size() -> None:
    parse_filter({"tag": {"$in": [f"t{i}" for i in range(10_000)]}})
    with pytest.raises(ValidationException, match="at most 10000 conditions"):
        parse_filter({"tag": {"$in": [f"t{i}" for i in range(9_999)]}, "other": {"$eq": 1, "$ne": 2}})
    with pytest.raises(ValidationException, match="at most 10000 conditions"):
        parse_filter({"$and": [{"a": i} for i in range(5_001)]})


class _CountingList(list[dict[str, Any]]):
    passes = 0

    def __iter__(self) -> Any:
        type(self).passes += 1
        return super().__iter__()


def test_a_filter_naming_many_keys_reads_the_metadata_once() -> None:
    """10,000 keys in one filter must not mean 10,000 passes over every vector's metadata."""
    docs = _CountingList({"k1": i, "tag": ["a", "b"]} for i in range(50))
    flt = parse_filter({"$or": [{"tag": "b"}] + [{f"absent{i}": 1} for i in range(2000)]})
    columns = Columns(docs)
    _CountingList.passes = 0
    columns.prepare(flt.keys())
    assert flt.mask(columns).all() and _CountingList.passes == 1
    assert parse_filter({"k1": {"$gte": 40}}).mask(columns).sum() == 10 and _CountingList.passes == 2
