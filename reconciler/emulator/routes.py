"""The one table of actions (moto's urls.py + responses dispatch): adding an action is one
Route here, over one parser (validation.py) and one handler (responses.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.emulator import responses as r
from reconciler.emulator import validation as v


@dataclass(frozen=True)
class Route:
    """How one action is served: `parse` turns the JSON body into a request (or a 400),
    `handle` answers it; `region` actions go to the region endpoint, the rest to a bucket's."""

    parse: Callable[[Mapping[str, Any]], Any]
    handle: Callable[[r.Context, Any], r.Answer]
    region: bool = False


ROUTES: dict[str, Route] = {
    "CreateVectorBucket": Route(v.parse_bucket, r.create_vector_bucket, region=True),
    "DeleteVectorBucket": Route(v.parse_bucket, r.delete_vector_bucket),
    "GetVectorBucket": Route(v.parse_bucket, r.get_vector_bucket),
    "ListVectorBuckets": Route(v.parse_list_buckets, r.list_vector_buckets, region=True),
    "PutVectorBucketPolicy": Route(v.parse_put_policy, r.put_vector_bucket_policy),
    "GetVectorBucketPolicy": Route(v.parse_bucket, r.get_vector_bucket_policy),
    "DeleteVectorBucketPolicy": Route(v.parse_bucket, r.delete_vector_bucket_policy),
    "CreateIndex": Route(v.parse_create_index, r.create_index),
    "DeleteIndex": Route(v.parse_index, r.delete_index),
    "GetIndex": Route(v.parse_index, r.get_index),
    "ListIndexes": Route(v.parse_list_indexes, r.list_indexes),
    "PutVectors": Route(v.parse_put_vectors, r.put_vectors),
    "GetVectors": Route(v.parse_get_vectors, r.get_vectors),
    "DeleteVectors": Route(v.parse_delete_vectors, r.delete_vectors),
    "ListVectors": Route(v.parse_list_vectors, r.list_vectors),
    "QueryVectors": Route(v.parse_query, r.query_vectors),
}
