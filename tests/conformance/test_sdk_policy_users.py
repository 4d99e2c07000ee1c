"""`serve --user`: the official SDK, signed as extra principals, gets exactly what the bucket
policy grants; the policy itself is applied and later narrowed by the real CLI.

This is the proof a team runs locally: its CI principal can query and not write.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests.support` under plain `pytest`

tos = pytest.importorskip("tos")
from tos.exceptions import TosServerError
from tos.models2 import Vector, VectorData

from tests.support.emulator import ACCOUNT, RunningEmulator, running_emulator
from tests.support.sdk import EmulatorVectorClient, sdk_client

OWNER_AK, OWNER_SK = "AKLTownerKey", "owner-secret-7f3a"
CI_AK, CI_SK, CI = "AKLTciBot", "ci-secret-91bd", "2100000001/ci-bot"
INTERN_AK, INTERN_SK, INTERN = "AKLTintern", "intern-secret-c2e0", "2100000001/intern"
BUCKET, INDEX = "team-rag", "docs-v1"

MANIFEST = """\
version: 1
buckets:
  - name: team-rag
    policy:
      Version: "2025-12-01"
      Statement:
{statements}
    indexes:
      - name: docs-v1
        dimension: 2
        distanceMetric: cosine
"""
CI_READ = f"""\
        - Sid: CiRead
          Effect: Allow
          Principal: ["{CI}"]
          Action: ["tosvectors:QueryVectors", "tosvectors:GetVectors"]
          Resource: ["trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/team-rag/index/*"]
"""
INTERN_BUCKET = f"""\
        - Sid: InternLooks
          Effect: Allow
          Principal: ["{INTERN}"]
          Action: tosvectors:GetVectorBucket
          Resource: trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/team-rag
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with running_emulator(tmp_path_factory.mktemp("users"), "--access-key", OWNER_AK, "--secret-key", OWNER_SK,
                          "--user", f"{CI_AK}:{CI_SK}:{CI}", "--user", f"{INTERN_AK}:{INTERN_SK}:{INTERN}") as emu:
        yield emu


def apply(server: RunningEmulator, work: Path, statements: str) -> subprocess.CompletedProcess[str]:
    """`reconciler apply` through the real CLI, with the owner's keys."""
    (work / "m.yaml").write_text(MANIFEST.format(statements=statements.rstrip("\n")))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOS_")}
    env.update({"TOS_ENDPOINT": server.url, "TOS_ACCOUNT_ID": ACCOUNT, "TOS_ACCESS_KEY": OWNER_AK,
                "TOS_SECRET_KEY": OWNER_SK, "NO_COLOR": "1"})
    return subprocess.run([sys.executable, "-m", "reconciler", "apply", "-f", "m.yaml", "--auto-approve"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=120)


def denied(call: Callable[[], Any], principal: str, action: str) -> None:
    with pytest.raises(TosServerError) as info:
        call()
    e = info.value
    assert (e.status_code, e.code) == (403, "AccessDeniedException"), (e.status_code, e.code, e.message)
    assert principal in e.message and f"tosvectors:{action}" in e.message, e.message


def bucket_actions(sdk: EmulatorVectorClient) -> dict[str, Callable[[], Any]]:
    """Every bucket action but the two CiRead grants, as the SDK calls it."""
    vector = [Vector(key="new", data=VectorData(float32=[0.0, 1.0]))]
    return {
        "PutVectors": lambda: sdk.put_vectors(BUCKET, ACCOUNT, INDEX, vector),
        "DeleteVectors": lambda: sdk.delete_vectors(BUCKET, ACCOUNT, INDEX, ["a"]),
        "ListVectors": lambda: sdk.list_vectors(BUCKET, INDEX, ACCOUNT),
        "GetIndex": lambda: sdk.get_index(BUCKET, ACCOUNT, INDEX),
        "CreateIndex": lambda: sdk.create_index(BUCKET, ACCOUNT, "docs-v2", "float32", 2, "cosine"),
        "DeleteIndex": lambda: sdk.delete_index(BUCKET, ACCOUNT, INDEX),
        "ListIndexes": lambda: sdk.list_indexes(BUCKET, ACCOUNT),
        "GetVectorBucket": lambda: sdk.get_vector_bucket(BUCKET, ACCOUNT),
        "DeleteVectorBucket": lambda: sdk.delete_vector_bucket(BUCKET, ACCOUNT),
        "PutVectorBucketPolicy": lambda: sdk.put_vector_bucket_policy(BUCKET, ACCOUNT, '{"Statement": []}'),
        "GetVectorBucketPolicy": lambda: sdk.get_vector_bucket_policy(BUCKET, ACCOUNT),
        "DeleteVectorBucketPolicy": lambda: sdk.delete_vector_bucket_policy(BUCKET, ACCOUNT),
    }


def test_a_ci_principal_can_query_and_not_write(server: RunningEmulator, tmp_path: Path) -> None:
    first = apply(server, tmp_path, CI_READ + INTERN_BUCKET)
    assert first.returncode == 0, first.stderr
    owner, ci, intern = (sdk_client(server.url, ak, sk, max_retry_count=0)
                         for ak, sk in ((OWNER_AK, OWNER_SK), (CI_AK, CI_SK), (INTERN_AK, INTERN_SK)))
    try:
        owner.put_vectors(BUCKET, ACCOUNT, INDEX, [Vector(key="a", data=VectorData(float32=[1.0, 0.0]),
                                                          metadata={"lang": "en"})])
        query = lambda: ci.query_vectors(BUCKET, ACCOUNT, INDEX, VectorData(float32=[1.0, 0.0]),
                                         top_k=1, return_metadata=True)
        # allowed calls succeed, with the SDK's own signature and response parsing
        assert [v.key for v in query().vectors] == ["a"]
        assert [v.key for v in ci.get_vectors(BUCKET, ACCOUNT, INDEX, ["a"], return_data=True).vectors] == ["a"]
        assert intern.get_vector_bucket(BUCKET, ACCOUNT).vector_bucket.vector_bucket_name == BUCKET

        # every other bucket action, both region actions, and another principal: 403
        for action, call in bucket_actions(ci).items():
            denied(call, CI, action)
        denied(lambda: ci.list_vector_buckets(), CI, "ListVectorBuckets")
        denied(lambda: ci.create_vector_bucket("ci-own"), CI, "CreateVectorBucket")
        denied(lambda: intern.query_vectors(BUCKET, ACCOUNT, INDEX, VectorData(float32=[1.0, 0.0])),
               INTERN, "QueryVectors")
        # nothing the denied calls tried happened
        assert [b.vector_bucket_name for b in owner.list_vector_buckets().vector_buckets] == [BUCKET]
        assert [v.key for v in owner.list_vectors(BUCKET, INDEX, ACCOUNT).vectors] == ["a"]
        assert [i.index_name for i in owner.list_indexes(BUCKET, ACCOUNT).indexes] == [INDEX]

        # the grant is removed through apply: the same call is now denied
        second = apply(server, tmp_path, INTERN_BUCKET)
        assert second.returncode == 0, second.stderr
        denied(query, CI, "QueryVectors")
        assert intern.get_vector_bucket(BUCKET, ACCOUNT).vector_bucket.vector_bucket_name == BUCKET
        assert "not granted by any statement" in _message(query)
    finally:
        for client in (owner, ci, intern):
            client.close()
    log = server.stderr_text()
    assert all(secret not in log for secret in (OWNER_SK, CI_SK, INTERN_SK))


def _message(call: Callable[[], Any]) -> str:
    with pytest.raises(TosServerError) as info:
        call()
    return str(info.value.message)


def test_without_get_vectors_no_action_reads_vector_data_or_metadata(server: RunningEmulator) -> None:
    """The SDK, signed as a principal granted ListVectors and QueryVectors but not GetVectors:
    ListVectors with return_data/return_metadata and a QueryVectors that returns or filters
    on metadata are 403; a plain query answers keys and distances, without the data."""
    import json

    bucket = "leaky"
    owner, intern = (sdk_client(server.url, ak, sk, max_retry_count=0)
                     for ak, sk in ((OWNER_AK, OWNER_SK), (INTERN_AK, INTERN_SK)))
    try:
        owner.create_vector_bucket(bucket)
        owner.create_index(bucket, ACCOUNT, INDEX, "float32", 2, "cosine")
        owner.put_vectors(bucket, ACCOUNT, INDEX, [
            Vector(key="a", data=VectorData(float32=[1.0, 0.0]), metadata={"pin": "1234"}),
            Vector(key="b", data=VectorData(float32=[0.0, 1.0]), metadata={"pin": "9876"})])
        owner.put_vector_bucket_policy(bucket, ACCOUNT, json.dumps({"Version": "2025-12-01", "Statement": [
            {"Effect": "Allow", "Principal": [INTERN], "Action": ["tosvectors:ListVectors", "tosvectors:QueryVectors"],
             "Resource": f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/{bucket}/index/{INDEX}"}]}))

        assert [(v.key, v.metadata) for v in intern.list_vectors(bucket, INDEX, ACCOUNT).vectors] == [
            ("a", None), ("b", None)]
        for flags in ({"return_data": True}, {"return_metadata": True}):
            denied(lambda: intern.list_vectors(bucket, INDEX, ACCOUNT, **flags), INTERN, "GetVectors")
        query = VectorData(float32=[1.0, 0.0])
        hits = intern.query_vectors(bucket, ACCOUNT, INDEX, query, top_k=2, return_distance=True).vectors
        assert [(h.key, h.distance, h.data, h.metadata) for h in hits] == [("a", 0.0, None, None), ("b", 1.0, None, None)]
        denied(lambda: intern.query_vectors(bucket, ACCOUNT, INDEX, query, return_metadata=True), INTERN, "GetVectors")
        denied(lambda: intern.query_vectors(bucket, ACCOUNT, INDEX, query, filter={"pin": "1234"}), INTERN,
               "GetVectors")
        denied(lambda: intern.get_vectors(bucket, ACCOUNT, INDEX, ["a"], return_metadata=True), INTERN, "GetVectors")
        # the owner reads it all
        assert owner.query_vectors(bucket, ACCOUNT, INDEX, query, top_k=1).vectors[0].data.float32 == [1.0, 0.0]
    finally:
        owner.delete_vector_bucket_policy(bucket, ACCOUNT)
        owner.delete_vectors(bucket, ACCOUNT, INDEX, ["a", "b"])
        owner.delete_index(bucket, ACCOUNT, INDEX)
        owner.delete_vector_bucket(bucket, ACCOUNT)
        for client in (owner, intern):
            client.close()
