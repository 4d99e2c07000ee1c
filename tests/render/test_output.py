"""`reconciler output`'s data and renderers: what the next job of a pipeline reads."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import jsonschema
import pytest

from reconciler.client.models import Index, VectorBucket
from reconciler.client.protocol import OutputApi
from reconciler.errors import NotFoundError
from reconciler.manifest import load_manifests
from reconciler.render.output import output_json, output_text
from reconciler.state.outputs import MissingResources, read_outputs

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "output.schema.json").read_text())
TARGET = {"endpoint": "https://tosvectors-cn-beijing.volces.com", "region": "cn-beijing",
          "account_id": "2100000000", "embedded": False}
MANIFEST = """\
version: 1
buckets:
  - name: rag-prod
    indexes:
      - {name: docs-v1, dimension: 768, distanceMetric: cosine, nonFilterableMetadataKeys: [body, src]}
      - {name: faq.v2, dimension: 8, distanceMetric: euclidean, dataType: int8}
  - name: rag-dev
"""


class Live:
    def __init__(self, buckets: set[str], indexes: set[tuple[str, str]]):
        self.buckets, self.indexes = buckets, indexes

    async def get_vector_bucket(self, bucket: str, /) -> VectorBucket:
        if bucket not in self.buckets:
            raise NotFoundError("GetVectorBucket", 404, "VectorBucketNotFound", "no such bucket", "req-1")
        return VectorBucket(bucket, f"trn:tosvectors:cn-beijing:2100000000:bucket/{bucket}", 1_765_000_000)

    async def get_index(self, bucket: str, index: str, /) -> Index:
        if (bucket, index) not in self.indexes:
            raise NotFoundError("GetIndex", 404, "VectorIndexNotFound", "no such index", "req-2")
        int8 = index == "faq.v2"
        return Index(bucket, index, f"trn:tosvectors:cn-beijing:2100000000:bucket/{bucket}/index/{index}",
                     1_765_000_100, "int8" if int8 else "float32", 8 if int8 else 768,
                     "euclidean" if int8 else "cosine", () if int8 else ("src", "body"))


_: OutputApi = Live(set(), set())


def _manifest(tmp_path: Path, text: str = MANIFEST):  # type: ignore[no-untyped-def]
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return load_manifests([str(path)], {})


def _read(live: Live, tmp_path: Path):  # type: ignore[no-untyped-def]
    return asyncio.run(read_outputs(live, _manifest(tmp_path), TARGET, lambda b: f"{b}-2100000000.tosvectors-cn-beijing.volces.com"))


def test_json_names_every_declared_resource_and_matches_the_schema(tmp_path: Path) -> None:
    live = Live({"rag-prod", "rag-dev"}, {("rag-prod", "docs-v1"), ("rag-prod", "faq.v2")})
    doc = json.loads(output_json(_read(live, tmp_path)))
    jsonschema.validate(doc, SCHEMA, format_checker=jsonschema.FormatChecker())
    prod = doc["buckets"]["rag-prod"]
    assert prod["trn"] == "trn:tosvectors:cn-beijing:2100000000:bucket/rag-prod"
    assert prod["endpoint"] == "rag-prod-2100000000.tosvectors-cn-beijing.volces.com"
    assert prod["creation_time"] == "2025-12-06T05:46:40Z"
    assert prod["indexes"]["docs-v1"]["non_filterable_metadata_keys"] == ["body", "src"]
    assert prod["indexes"]["faq.v2"]["data_type"] == "int8"
    assert doc["buckets"]["rag-dev"]["indexes"] == {}


def test_text_lines_are_variable_assignments_a_pipeline_can_append(tmp_path: Path) -> None:
    live = Live({"rag-prod", "rag-dev"}, {("rag-prod", "docs-v1"), ("rag-prod", "faq.v2")})
    lines = dict(line.split("=", 1) for line in output_text(_read(live, tmp_path)).splitlines())
    assert lines["BUCKET_RAG_PROD_TRN"] == "trn:tosvectors:cn-beijing:2100000000:bucket/rag-prod"
    assert lines["BUCKET_RAG_DEV_ENDPOINT"] == "rag-dev-2100000000.tosvectors-cn-beijing.volces.com"
    assert lines["INDEX_RAG_PROD__DOCS_V1_DIMENSION"] == "768"
    assert lines["INDEX_RAG_PROD__FAQ_V2_NON_FILTERABLE_METADATA_KEYS"] == ""
    assert lines["INDEX_RAG_PROD__DOCS_V1_NON_FILTERABLE_METADATA_KEYS"] == "body,src"
    assert all(k.replace("_", "").isalnum() and k.isupper() for k in lines)


def test_every_missing_resource_is_named_once(tmp_path: Path) -> None:
    live = Live({"rag-prod"}, {("rag-prod", "docs-v1")})
    with pytest.raises(MissingResources) as err:
        _read(live, tmp_path)
    # the missing bucket is named, not each of its indexes
    assert err.value.addresses == ["bucket.rag-dev", "index.rag-prod/faq.v2"]
    assert "2 declared resources not found: bucket.rag-dev, index.rag-prod/faq.v2" in str(err.value)
