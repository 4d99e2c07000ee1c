"""Each not-found error words its own message: every action that meets a missing bucket or
index says it in exactly the same words, whichever store path noticed."""

from __future__ import annotations

from typing import Any

from tests.emulator.helpers import Api

BUCKET_ACTIONS: dict[str, dict[str, Any]] = {
    "GetVectorBucket": {},
    "DeleteVectorBucket": {},
    "PutVectorBucketPolicy": {"policy": '{"Version": "1", "Statement": []}'},
    "GetVectorBucketPolicy": {},
    "DeleteVectorBucketPolicy": {},
    "CreateIndex": {"indexName": "idx", "dataType": "float32", "dimension": 3, "distanceMetric": "cosine"},
    "GetIndex": {"indexName": "idx"},
    "DeleteIndex": {"indexName": "idx"},
    "ListIndexes": {},
    "PutVectors": {"indexName": "idx", "vectors": [{"key": "k", "data": {"float32": [1.0, 2.0, 3.0]}}]},
    "GetVectors": {"indexName": "idx", "keys": ["k"]},
    "DeleteVectors": {"indexName": "idx", "keys": ["k"]},
    "ListVectors": {"indexName": "idx"},
    "QueryVectors": {"indexName": "idx", "topK": 1, "queryVector": {"float32": [1.0, 2.0, 3.0]}},
}
INDEX_ACTIONS = [a for a, body in BUCKET_ACTIONS.items() if "indexName" in body and a != "CreateIndex"]


def test_a_missing_bucket_is_worded_alike_by_every_action(asgi: Api) -> None:
    messages = {action: asgi.err(action, {"vectorBucketName": "gone-bkt", **body}, 404,
                                 "VectorBucketNotFound")["Message"]
                for action, body in BUCKET_ACTIONS.items()}
    assert set(messages.values()) == {"vector bucket 'gone-bkt' does not exist"}, messages


def test_a_missing_index_is_worded_alike_by_every_action(asgi: Api) -> None:
    asgi.bucket("here-bkt")
    messages = {action: asgi.err(action, {"vectorBucketName": "here-bkt", **BUCKET_ACTIONS[action]}, 404,
                                 "VectorIndexNotFound")["Message"]
                for action in INDEX_ACTIONS}
    assert set(messages.values()) == {"index 'idx' does not exist in vector bucket 'here-bkt'"}, messages


def test_a_missing_policy_is_worded_alike(asgi: Api) -> None:
    asgi.bucket("bare-bkt")
    messages = {asgi.err(action, {"vectorBucketName": "bare-bkt"}, 404, "VectorBucketPolicyNotFound")["Message"]
                for action in ("GetVectorBucketPolicy", "DeleteVectorBucketPolicy")}
    assert messages == {"vector bucket 'bare-bkt' has no policy"}
