"""Every documented limit, one table row each: 400 ValidationException naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.helpers import Api

B, IX = "lim-bucket", "idx"  # the index: dimension 3, cosine, nonFilterableMetadataKeys ["body"]
INDEX = {"vectorBucketName": B, "indexName": IX}
V3 = {"float32": [1.0, 2.0, 3.0]}
CREATE = {"vectorBucketName": B, "indexName": "new-index", "dataType": "float32", "dimension": 3,
          "distanceMetric": "euclidean"}
QUERY = {**INDEX, "topK": 5, "queryVector": V3}
IX8 = "idx8"  # dimension 3, euclidean, dataType int8
INDEX8 = {"vectorBucketName": B, "indexName": IX8}
QUERY8 = {**INDEX8, "topK": 5, "queryVector": {"int8": [1, 2, 3]}}


def int8_put(values: Any) -> dict[str, Any]:
    return {**INDEX8, "vectors": [{"key": "a", "data": {"int8": values}}]}


def nested_policy(depth: int) -> str:
    """A valid policy document whose JSON nests `depth` levels (the object itself is level 1;
    at least 6): the value of a Condition key holds the arrays."""
    arrays = depth - 5
    return ('{"Version": "2025-12-01", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "tosvectors:*", '
            '"Resource": "*", "Condition": {"StringEquals": {"k": ' + "[" * arrays + "]" * arrays + "}}}]}")


def vectors(n: int, **item: Any) -> list[dict[str, Any]]:
    return [{"key": f"k{i}", "data": V3, **item} for i in range(n)]


CASES: list[tuple[str, str, dict[str, Any], str]] = [
    # (id, action, body, fragment of the message)
    ("bucket-short", "CreateVectorBucket", {"vectorBucketName": "ab"}, "vectorBucketName length must be between 3 and 32"),
    ("bucket-long", "CreateVectorBucket", {"vectorBucketName": "a" * 33}, "between 3 and 32 characters, got 33"),
    ("bucket-upper", "CreateVectorBucket", {"vectorBucketName": "Abc"}, "lowercase letters, digits and '-'"),
    ("bucket-underscore", "CreateVectorBucket", {"vectorBucketName": "a_bc"}, "vectorBucketName may contain only"),
    ("bucket-dot", "CreateVectorBucket", {"vectorBucketName": "a.bc"}, "vectorBucketName may contain only"),
    ("bucket-leading-dash", "CreateVectorBucket", {"vectorBucketName": "-abc"}, "must not start or end with '-'"),
    ("bucket-trailing-dash", "CreateVectorBucket", {"vectorBucketName": "abc-"}, "must not start or end with '-'"),
    ("bucket-missing", "CreateVectorBucket", {}, "vectorBucketName is required"),
    ("bucket-null", "CreateVectorBucket", {"vectorBucketName": None}, "vectorBucketName is required"),
    ("bucket-number", "CreateVectorBucket", {"vectorBucketName": 123}, "vectorBucketName must be a string, got number"),
    ("index-short", "CreateIndex", {**CREATE, "indexName": "ab"}, "indexName length must be between 3 and 63"),
    ("index-long", "CreateIndex", {**CREATE, "indexName": "a" * 64}, "between 3 and 63 characters, got 64"),
    ("index-chars", "CreateIndex", {**CREATE, "indexName": "a_b_c"}, "indexName may contain only"),
    ("index-upper", "CreateIndex", {**CREATE, "indexName": "Index"}, "indexName may contain only"),
    ("index-edge", "CreateIndex", {**CREATE, "indexName": ".abc"}, "start and end with a letter or digit"),
    ("index-edge-dash", "CreateIndex", {**CREATE, "indexName": "abc-"}, "start and end with a letter or digit"),
    ("index-missing", "GetIndex", {"vectorBucketName": B}, "indexName is required"),
    ("delete-index-null", "DeleteIndex", {"vectorBucketName": B, "indexName": None}, "indexName is required"),
    ("dimension-zero", "CreateIndex", {**CREATE, "dimension": 0}, "dimension must be between 1 and 4096, got 0"),
    ("dimension-big", "CreateIndex", {**CREATE, "dimension": 5000}, "dimension must be between 1 and 4096, got 5000"),
    ("dimension-string", "CreateIndex", {**CREATE, "dimension": "3"}, "dimension must be an integer, got string"),
    ("dimension-bool", "CreateIndex", {**CREATE, "dimension": True}, "dimension must be an integer, got boolean"),
    ("dimension-float", "CreateIndex", {**CREATE, "dimension": 3.5}, "dimension must be an integer"),
    ("dimension-missing", "CreateIndex", {k: v for k, v in CREATE.items() if k != "dimension"}, "dimension is required"),
    ("datatype-bad", "CreateIndex", {**CREATE, "dataType": "int16"}, "dataType must be one of float32, int8, got 'int16'"),
    ("datatype-missing", "CreateIndex", {k: v for k, v in CREATE.items() if k != "dataType"}, "dataType is required"),
    ("metric-bad", "CreateIndex", {**CREATE, "distanceMetric": "dot"}, "distanceMetric must be one of euclidean, cosine"),
    ("metric-missing", "CreateIndex", {k: v for k, v in CREATE.items() if k != "distanceMetric"}, "distanceMetric is required"),
    ("metadata-config-type", "CreateIndex", {**CREATE, "metadataConfiguration": []}, "metadataConfiguration must be an object"),
    ("nonfilterable-type", "CreateIndex", {**CREATE, "metadataConfiguration": {"nonFilterableMetadataKeys": "a"}},
     "nonFilterableMetadataKeys must be an array"),
    ("nonfilterable-many", "CreateIndex",
     {**CREATE, "metadataConfiguration": {"nonFilterableMetadataKeys": [f"k{i}" for i in range(11)]}},
     "nonFilterableMetadataKeys must have at most 10 keys, got 11"),
    ("nonfilterable-empty-key", "CreateIndex", {**CREATE, "metadataConfiguration": {"nonFilterableMetadataKeys": [""]}},
     "nonFilterableMetadataKeys[0] length must be between 1 and 63"),
    ("nonfilterable-long-key", "CreateIndex",
     {**CREATE, "metadataConfiguration": {"nonFilterableMetadataKeys": ["k" * 64]}}, "between 1 and 63 characters, got 64"),
    ("nonfilterable-dup", "CreateIndex", {**CREATE, "metadataConfiguration": {"nonFilterableMetadataKeys": ["a", "a"]}},
     "must be unique"),
    ("nonfilterable-number", "CreateIndex", {**CREATE, "metadataConfiguration": {"nonFilterableMetadataKeys": [1]}},
     "nonFilterableMetadataKeys[0] must be a string"),
    ("policy-missing", "PutVectorBucketPolicy", {"vectorBucketName": B}, "policy is required"),
    ("policy-object", "PutVectorBucketPolicy", {"vectorBucketName": B, "policy": {"Version": "1"}}, "policy must be a string"),
    ("policy-not-json", "PutVectorBucketPolicy", {"vectorBucketName": B, "policy": "Version: 1"}, "not valid JSON"),
    ("policy-not-object", "PutVectorBucketPolicy", {"vectorBucketName": B, "policy": '"text"'}, "policy must be a JSON object"),
    ("policy-empty", "PutVectorBucketPolicy", {"vectorBucketName": B, "policy": ""}, "policy length must be"),
    # one document for every reader: a reader that matches keys case-insensitively (Go's
    # encoding/json, last one wins) would see a grant another reader does not
    ("policy-no-statement", "PutVectorBucketPolicy", {"vectorBucketName": B, "policy": '{"Version": "1"}'},
     "policy must have a Statement"),
    ("policy-key-case", "PutVectorBucketPolicy",
     {"vectorBucketName": B, "policy": '{"Statement": [], "statement": [{"Effect": "Allow"}]}'},
     "policy key 'statement' must be written 'Statement'"),
    ("policy-key-twice", "PutVectorBucketPolicy",
     {"vectorBucketName": B, "policy": '{"Statement": [], "Statement": [{"Effect": "Allow"}]}'},
     "policy has the key 'Statement' more than once"),
    ("policy-statement-key-case", "PutVectorBucketPolicy",
     {"vectorBucketName": B, "policy": '{"Version": "1", "Statement": [{"Effect": "Allow", "principal": ["*"]}]}'},
     "policy statement key 'principal' must be written 'Principal'"),
    ("lb-max-zero", "ListVectorBuckets", {"maxResults": 0}, "maxResults must be between 1 and 500, got 0"),
    ("lb-max-big", "ListVectorBuckets", {"maxResults": 501}, "maxResults must be between 1 and 500, got 501"),
    ("lb-max-string", "ListVectorBuckets", {"maxResults": "5"}, "maxResults must be an integer"),
    ("lb-token-empty", "ListVectorBuckets", {"nextToken": ""}, "nextToken length must be between 1 and 512"),
    ("lb-token-long", "ListVectorBuckets", {"nextToken": "a" * 513}, "nextToken length must be between 1 and 512"),
    ("lb-prefix-empty", "ListVectorBuckets", {"prefix": ""}, "prefix length must be between 1 and 63"),
    ("lb-prefix-long", "ListVectorBuckets", {"prefix": "a" * 64}, "prefix length must be between 1 and 63"),
    ("li-max-big", "ListIndexes", {"vectorBucketName": B, "maxResults": 501}, "maxResults must be between 1 and 500"),
    ("li-token-long", "ListIndexes", {"vectorBucketName": B, "nextToken": "a" * 513}, "between 1 and 512"),
    ("li-prefix-long", "ListIndexes", {"vectorBucketName": B, "prefix": "a" * 64}, "prefix length must be between 1 and 63"),
    ("lv-max-zero", "ListVectors", {**INDEX, "maxResults": 0}, "maxResults must be between 1 and 1000, got 0"),
    ("lv-max-big", "ListVectors", {**INDEX, "maxResults": 1001}, "maxResults must be between 1 and 1000, got 1001"),
    ("lv-token-long", "ListVectors", {**INDEX, "nextToken": "a" * 2049}, "nextToken length must be between 1 and 2048"),
    ("lv-return-data-type", "ListVectors", {**INDEX, "returnData": "yes"}, "returnData must be a boolean, got string"),
    ("put-none", "PutVectors", {**INDEX, "vectors": []}, "vectors must have between 1 and 500 items, got 0"),
    ("put-too-many", "PutVectors", {**INDEX, "vectors": vectors(501)}, "between 1 and 500 items, got 501"),
    ("put-missing", "PutVectors", INDEX, "vectors is required"),
    ("put-not-list", "PutVectors", {**INDEX, "vectors": {}}, "vectors must be an array"),
    ("put-item-type", "PutVectors", {**INDEX, "vectors": [1]}, "vectors[0] must be an object"),
    ("put-key-missing", "PutVectors", {**INDEX, "vectors": [{"data": V3}]}, "vectors[0].key is required"),
    ("put-key-empty", "PutVectors", {**INDEX, "vectors": [{"key": "", "data": V3}]}, "vectors[0].key length must be between 1 and 1024"),
    ("put-key-long", "PutVectors", {**INDEX, "vectors": [{"key": "k" * 1025, "data": V3}]}, "between 1 and 1024 characters, got 1025"),
    ("put-key-dup", "PutVectors", {**INDEX, "vectors": [{"key": "a", "data": V3}] * 2}, "vectors[1].key 'a' appears more than once"),
    ("put-data-missing", "PutVectors", {**INDEX, "vectors": [{"key": "a"}]}, "vectors[0].data is required"),
    ("put-data-list", "PutVectors", {**INDEX, "vectors": [{"key": "a", "data": [1, 2, 3]}]}, "vectors[0].data must be an object"),
    ("put-float32-missing", "PutVectors", {**INDEX, "vectors": [{"key": "a", "data": {}}]}, "vectors[0].data.float32 is required"),
    ("put-int8-into-float32", "PutVectors", {**INDEX, "vectors": [{"key": "a", "data": {"int8": [1, 2, 3]}}]},
     "vectors[0].data.int8 is int8 data but index 'idx' has dataType float32: send vectors[0].data.float32"),
    ("put-float32-into-int8", "PutVectors", {**INDEX8, "vectors": [{"key": "a", "data": V3}]},
     "vectors[0].data.float32 is float32 data but index 'idx8' has dataType int8: send vectors[0].data.int8"),
    ("put-int8-above", "PutVectors", int8_put([1, 128, 3]),
     "vectors[0].data.int8[1] must be an integer between -128 and 127, got 128"),
    ("put-int8-below", "PutVectors", int8_put([-129, 0, 3]), "vectors[0].data.int8[0] must be an integer between -128 and 127, got -129"),
    ("put-int8-huge", "PutVectors", int8_put([1, 2, 10 ** 100]), "int8[2] must be an integer between -128 and 127, got an integer of"),
    ("put-int8-fraction", "PutVectors", int8_put([1, 2.5, 3]), "int8[1] must be an integer between -128 and 127, got 2.5"),
    ("put-int8-float", "PutVectors", int8_put([1.0, 2, 3]), "int8[0] must be an integer between -128 and 127, got 1.0"),
    ("put-int8-bool", "PutVectors", int8_put([1, True, 3]), "int8[1] must be an integer between -128 and 127, got boolean"),
    ("put-int8-string", "PutVectors", int8_put(["1", 2, 3]), "int8[0] must be an integer between -128 and 127, got string"),
    ("put-int8-dimension", "PutVectors", int8_put([1, 2]), "vectors[0].data.int8 has 2 dimensions but index 'idx8' has dimension 3"),
    ("put-int8-type", "PutVectors", int8_put("123"), "vectors[0].data.int8 must be an array, got string"),
    ("put-both-types", "PutVectors", {**INDEX8, "vectors": [{"key": "a", "data": {"int8": [1, 2, 3], "float32": [1, 2, 3]}}]},
     "vectors[0].data must have one of float32 and int8, not both"),
    ("query-float32-on-int8", "QueryVectors", {**QUERY8, "queryVector": V3},
     "queryVector.float32 is float32 data but index 'idx8' has dataType int8: send queryVector.int8"),
    ("query-int8-on-float32", "QueryVectors", {**QUERY, "queryVector": {"int8": [1, 2, 3]}},
     "queryVector.int8 is int8 data but index 'idx' has dataType float32: send queryVector.float32"),
    ("query-int8-range", "QueryVectors", {**QUERY8, "queryVector": {"int8": [1, 2, 300]}},
     "queryVector.int8[2] must be an integer between -128 and 127, got 300"),
    ("query-vector-empty", "QueryVectors", {**QUERY, "queryVector": {}}, "queryVector.float32 is required"),
    ("filter-too-big", "QueryVectors", {**QUERY, "filter": {"a": {"$in": list(range(10_001))}}},
     "filter must have at most 10000 conditions"),
    ("filter-too-many-parts", "QueryVectors", {**QUERY, "filter": {"$or": [{}] * 10_001}},
     "filter must have at most 10000 conditions"),
    ("policy-deep", "PutVectorBucketPolicy", {"vectorBucketName": B, "policy": nested_policy(700)},
     "policy must not nest more than 10 levels deep, got 700"),
    ("policy-deeper-than-the-parser", "PutVectorBucketPolicy", {"vectorBucketName": B, "policy": nested_policy(5000)},
     "policy must not nest more than 10 levels deep"),
    ("policy-11", "PutVectorBucketPolicy", {"vectorBucketName": B, "policy": nested_policy(11)},
     "policy must not nest more than 10 levels deep, got 11"),
    ("policy-big", "PutVectorBucketPolicy", {"vectorBucketName": B, "policy": '{"Sid": "' + "x" * 20480 + '"}'},
     "policy length must be between 1 and 20480 characters"),
    ("put-string-value", "PutVectors", {**INDEX, "vectors": [{"key": "a", "data": {"float32": [1, "2", 3]}}]},
     "vectors[0].data.float32[1] must be a number, got string"),
    ("put-bool-value", "PutVectors", {**INDEX, "vectors": [{"key": "a", "data": {"float32": [True, 2, 3]}}]},
     "float32[0] must be a number, got boolean"),
    ("put-null-value", "PutVectors", {**INDEX, "vectors": [{"key": "a", "data": {"float32": [1, None, 3]}}]},
     "float32[1] must be a number, got null"),
    ("put-overflow", "PutVectors", {**INDEX, "vectors": [{"key": "a", "data": {"float32": [1, 1e39, 3]}}]},
     "float32[1] must be a finite float32 value"),
    ("put-wrong-dimension", "PutVectors", {**INDEX, "vectors": [{"key": "a", "data": {"float32": [1, 2]}}]},
     "vectors[0].data.float32 has 2 dimensions but index 'idx' has dimension 3"),
    ("put-zero-cosine", "PutVectors", {**INDEX, "vectors": [{"key": "a", "data": {"float32": [0, 0, 0]}}]},
     "must not be a zero vector"),
    ("put-metadata-type", "PutVectors", {**INDEX, "vectors": [{"key": "a", "data": V3, "metadata": [1]}]},
     "vectors[0].metadata must be an object"),
    ("put-metadata-nested", "PutVectors", {**INDEX, "vectors": [{"key": "a", "data": V3, "metadata": {"m": {"x": 1}}}]},
     "vectors[0].metadata.m must be a string, number, boolean or an array"),
    ("put-metadata-too-many", "PutVectors",
     {**INDEX, "vectors": [{"key": "a", "data": V3, "metadata": {f"m{i}": i for i in range(51)}}]}, "at most 50 keys"),
    ("put-metadata-too-big", "PutVectors",
     {**INDEX, "vectors": [{"key": "a", "data": V3, "metadata": {"m": "x" * 41000}}]}, "at most 40960 bytes"),
    ("get-keys-missing", "GetVectors", INDEX, "keys is required"),
    ("get-keys-empty", "GetVectors", {**INDEX, "keys": []}, "keys must have between 1 and 100 items, got 0"),
    ("get-keys-many", "GetVectors", {**INDEX, "keys": [f"k{i}" for i in range(101)]}, "between 1 and 100 items, got 101"),
    ("get-key-long", "GetVectors", {**INDEX, "keys": ["k" * 1025]}, "keys[0] length must be between 1 and 1024"),
    ("get-key-type", "GetVectors", {**INDEX, "keys": [1]}, "keys[0] must be a string, got number"),
    ("get-keys-string", "GetVectors", {**INDEX, "keys": "k1"}, "keys must be an array, got string"),
    ("get-return-type", "GetVectors", {**INDEX, "keys": ["a"], "returnMetadata": 1}, "returnMetadata must be a boolean"),
    ("delete-keys-many", "DeleteVectors", {**INDEX, "keys": [f"k{i}" for i in range(101)]}, "between 1 and 100 items, got 101"),
    ("delete-keys-empty", "DeleteVectors", {**INDEX, "keys": []}, "between 1 and 100 items, got 0"),
    ("topk-zero", "QueryVectors", {**QUERY, "topK": 0}, "topK must be between 1 and 1000, got 0"),
    ("topk-big", "QueryVectors", {**QUERY, "topK": 1001}, "topK must be between 1 and 1000, got 1001"),
    ("topk-missing", "QueryVectors", {k: v for k, v in QUERY.items() if k != "topK"}, "topK is required"),
    ("topk-string", "QueryVectors", {**QUERY, "topK": "5"}, "topK must be an integer, got string"),
    ("query-vector-missing", "QueryVectors", {**INDEX, "topK": 1}, "queryVector is required"),
    ("query-wrong-dimension", "QueryVectors", {**QUERY, "queryVector": {"float32": [1.0]}}, "has 1 dimensions but index"),
    ("query-zero-cosine", "QueryVectors", {**QUERY, "queryVector": {"float32": [0, 0, 0]}}, "must not be a zero vector"),
    ("query-overflow", "QueryVectors", {**QUERY, "queryVector": {"float32": [1, 2, -3.5e38]}},
     "queryVector.float32[2] must be a finite float32 value"),
    ("query-return-distance-type", "QueryVectors", {**QUERY, "returnDistance": "true"}, "returnDistance must be a boolean"),
    ("filter-type", "QueryVectors", {**QUERY, "filter": [1]}, "filter must be an object"),
    ("filter-unknown-op", "QueryVectors", {**QUERY, "filter": {"a": {"$regex": "x"}}}, "unknown operator '$regex'"),
    ("filter-unknown-top-op", "QueryVectors", {**QUERY, "filter": {"$nor": []}}, "unknown operator '$nor'"),
    ("filter-non-filterable", "QueryVectors", {**QUERY, "filter": {"body": "x"}}, "non-filterable metadata key 'body'"),
    ("filter-nested-non-filterable", "QueryVectors", {**QUERY, "filter": {"$or": [{"a": 1}, {"body": {"$exists": True}}]}},
     "non-filterable metadata key 'body'"),
    ("filter-gt-string", "QueryVectors", {**QUERY, "filter": {"year": {"$gt": "2000"}}}, "filter.year.$gt must be a number"),
    ("filter-in-empty", "QueryVectors", {**QUERY, "filter": {"a": {"$in": []}}}, "filter.a.$in must be a non-empty array"),
    ("filter-in-scalar", "QueryVectors", {**QUERY, "filter": {"a": {"$nin": "x"}}}, "filter.a.$nin must be a non-empty array"),
    ("filter-exists-type", "QueryVectors", {**QUERY, "filter": {"a": {"$exists": 1}}}, "filter.a.$exists must be a boolean"),
    ("filter-and-type", "QueryVectors", {**QUERY, "filter": {"$and": {"a": 1}}}, "filter.$and must be a non-empty array"),
    ("filter-or-empty", "QueryVectors", {**QUERY, "filter": {"$or": []}}, "filter.$or must be a non-empty array"),
    ("filter-not-type", "QueryVectors", {**QUERY, "filter": {"$not": [1]}}, "filter.$not must be an object"),
    ("filter-eq-array", "QueryVectors", {**QUERY, "filter": {"a": [1, 2]}}, "filter.a must be a string, number or boolean"),
    ("filter-eq-null", "QueryVectors", {**QUERY, "filter": {"a": {"$eq": None}}}, "filter.a.$eq must be a string"),
    ("filter-empty-ops", "QueryVectors", {**QUERY, "filter": {"a": {}}}, "filter.a must have at least one operator"),
]


@pytest.fixture(scope="module")
def limits_api() -> Any:
    from tests.emulator.helpers import asgi_api

    api, post = asgi_api()
    api.bucket(B)
    api.index(B, IX, dimension=3, metric="cosine", non_filterable=["body"])
    api.index(B, IX8, dimension=3, data_type="int8")
    yield api
    post.close()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_limit(limits_api: Api, case: tuple[str, str, dict[str, Any], str]) -> None:
    _, action, body, fragment = case
    host = "127.0.0.1" if action in ("CreateVectorBucket", "ListVectorBuckets") else f"{B}-2100000000.127.0.0.1"
    limits_api.err(action, body, 400, "ValidationException", fragment, host=host)


@pytest.mark.parametrize("case", [
    ("bucket-3", "CreateVectorBucket", {"vectorBucketName": "a-1"}),
    ("bucket-32", "CreateVectorBucket", {"vectorBucketName": "b" * 32}),
    ("index-63", "CreateIndex", {**CREATE, "indexName": "a." + "b" * 59 + "-1"}),
    ("dimension-1", "CreateIndex", {**CREATE, "indexName": "dim-one", "dimension": 1}),
    ("dimension-4096", "CreateIndex", {**CREATE, "indexName": "dim-max", "dimension": 4096}),
    ("nonfilterable-10", "CreateIndex", {**CREATE, "indexName": "nf-ten",
                                         "metadataConfiguration": {"nonFilterableMetadataKeys": [f"k{i}" for i in range(10)]}}),
    ("nonfilterable-empty", "CreateIndex", {**CREATE, "indexName": "nf-none", "metadataConfiguration": {}}),
    ("put-500", "PutVectors", {**INDEX, "vectors": vectors(500)}),
    ("put-key-1024", "PutVectors", {**INDEX, "vectors": [{"key": "k" * 1024, "data": V3}]}),
    ("put-metadata-kinds", "PutVectors", {**INDEX, "vectors": [{"key": "m", "data": V3, "metadata": {
        "s": "x", "i": 1, "f": 1.5, "b": True, "l": ["a", 1, False]}}]}),
    ("get-keys-100", "GetVectors", {**INDEX, "keys": [f"k{i}" for i in range(100)]}),
    ("delete-keys-100", "DeleteVectors", {**INDEX, "keys": [f"x{i}" for i in range(100)]}),
    ("topk-1000", "QueryVectors", {**QUERY, "topK": 1000}),
    ("topk-1", "QueryVectors", {**QUERY, "topK": 1}),
    ("put-int8-range", "PutVectors", int8_put([-128, 0, 127])),
    ("query-int8", "QueryVectors", {**QUERY8, "queryVector": {"int8": [-128, 0, 127]}}),
    ("filter-10000", "QueryVectors", {**QUERY, "filter": {"a": {"$in": list(range(10_000))}}}),
    ("policy-10", "PutVectorBucketPolicy", {"vectorBucketName": B, "policy": nested_policy(10)}),
    ("policy-20480", "PutVectorBucketPolicy",
     {"vectorBucketName": B, "policy": '{"Version": "1", "Statement": [], "Id": "' + "x" * 20437 + '"}'}),
    ("lv-max-1000", "ListVectors", {**INDEX, "maxResults": 1000}),
    ("lb-max-500", "ListVectorBuckets", {"maxResults": 500, "prefix": "a" * 63, "nextToken": "YQ=="}),
], ids=lambda c: c[0])
def test_limit_edges_are_accepted(limits_api: Api, case: tuple[str, str, dict[str, Any]]) -> None:
    _, action, body = case
    host = "127.0.0.1" if action in ("CreateVectorBucket", "ListVectorBuckets") else f"{B}-2100000000.127.0.0.1"
    limits_api.ok(action, body, host=host)


@pytest.mark.parametrize("literal,fragment", [
    ("NaN", "not valid JSON"), ("Infinity", "not valid JSON"), ("-Infinity", "not valid JSON"),
    ("1e400", "queryVector.float32[1] must be a finite float32 value"),
    ("1" * 400, "queryVector.float32[1] must be a finite float32 value"),
])
def test_non_finite_numbers_are_refused(limits_api: Api, literal: str, fragment: str) -> None:
    raw = ('{"vectorBucketName": "%s", "indexName": "%s", "topK": 1, "queryVector": {"float32": [1, %s, 3]}}'
           % (B, IX, literal)).encode()
    limits_api.err("QueryVectors", None, 400, "ValidationException", fragment, raw=raw,
                   host=f"{B}-2100000000.127.0.0.1")


def test_quota_of_100_buckets_per_account(asgi: Api) -> None:
    for i in range(100):
        asgi.bucket(f"quota-{i:03d}")
    asgi.err("CreateVectorBucket", {"vectorBucketName": "quota-100"}, 402, "ServiceQuotaExceededException", "100")
    asgi.ok("DeleteVectorBucket", {"vectorBucketName": "quota-000"})
    asgi.bucket("quota-100")
