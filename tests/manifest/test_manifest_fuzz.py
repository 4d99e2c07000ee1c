"""Random manifest-like YAML: loading returns a Manifest or raises ManifestError, nothing else."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.errors import ManifestError
from reconciler.manifest import Manifest, load_manifests
from reconciler.manifest._rules import bucket_name_problem, index_name_problem
from reconciler.rules.policy import ACTIONS

VARIABLES = {"DIM": "768", "NAME": "abc", "FLAG": "true", "EMPTY": ""}

interesting_text = st.sampled_from([
    "", "abc", "rag-prod", "docs-v1", "-x-", "A", "a" * 40, "cosine", "euclidean", "dot", "float32", "int8",
    "${DIM}", "${NAME}-x", "${UNDEF}", "${EMPTY:-def}", "$${DIM}", "${", "${1}", "${A:-}", "true", "768",
    "2100000000", "cn-beijing", "*", "rag-*", "[a-", "tosvectors:*", "tosvectors:QueryVectors", "Allow", "deny",
    "trn:tosvectors:cn-beijing:2100000000:bucket/abc/index/*", "{", '{"Version": "1", "Statement": []}', "p.json",
    "../nope.json", "\u00e9\u4e2d", "line\nbreak", "x: y", "- a", "#", "!!python/object:os.system",
])
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-5, max_value=5000),
    st.floats(allow_nan=True, allow_infinity=True), interesting_text, st.text(max_size=12),
)
junk_key = st.sampled_from(["nmae", "Name", "x", "", "dimensions", "<<", "indices", "policyfile"])


def strategies(junk: bool) -> st.SearchStrategy[Any]:
    """A manifest document strategy: mostly right (`junk` False) or anything goes (`junk` True)."""

    def loose(keys: dict[str, st.SearchStrategy[Any]], required: tuple[str, ...] = ()) -> st.SearchStrategy[dict[str, Any]]:
        """A mapping with some of `keys`; with junk, any value may be wrong and an unknown key may appear."""
        if not junk:
            return st.fixed_dictionaries(
                {k: v for k, v in keys.items() if k in required},
                optional={k: v for k, v in keys.items() if k not in required},
            )
        return st.fixed_dictionaries(
            {}, optional={**{k: st.one_of(v, scalars) for k, v in keys.items()}, "_junk": scalars}
        ).map(lambda d: {("x-junk" if k == "_junk" else k): v for k, v in d.items()})

    text = interesting_text if junk else st.sampled_from(["abc", "rag-prod", "docs.v1", "x-1-y"])
    items = (lambda s: st.one_of(s, scalars)) if junk else (lambda s: s)
    statement = loose({
        "Effect": st.sampled_from(["Allow", "Deny", "allow"] if junk else ["Allow", "Deny"]),
        "Principal": st.one_of(interesting_text, st.lists(interesting_text, max_size=3),
                               st.dictionaries(st.just("TOS"), st.lists(interesting_text, min_size=1, max_size=2),
                                               min_size=1, max_size=1)),
        "Action": st.one_of(st.sampled_from(["tosvectors:*", "tosvectors:QueryVectors", "tosvectors:GetVectors"]),
                            st.lists(interesting_text if junk else st.sampled_from(ACTIONS), min_size=1, max_size=3)),
        "Resource": st.one_of(interesting_text, st.lists(interesting_text, max_size=2)),
        "Sid": interesting_text,
    }, required=("Effect", "Principal", "Action", "Resource"))
    policy_doc = loose({
        "Version": st.sampled_from(["1", "2025-12-01"]) if not junk else interesting_text,
        "Statement": st.one_of(statement, st.lists(statement, max_size=3)),
    }, required=("Version", "Statement"))
    index = loose({
        "name": text,
        "dimension": st.one_of(st.integers(min_value=1 - junk, max_value=4096 + junk), st.just("${DIM}")),
        "distanceMetric": st.sampled_from(["cosine", "euclidean", "dot"][: 3 if junk else 2]),
        "dataType": st.sampled_from(["float32", "int8", "int16"][: 3 if junk else 2]),
        "nonFilterableMetadataKeys": st.lists(text, max_size=12 if junk else 10, unique=not junk),
        "preventDestroy": st.one_of(st.booleans(), st.just("${FLAG}")),
    }, required=("name", "dimension", "distanceMetric"))
    bucket = loose({
        "name": text,
        "preventDestroy": st.booleans(),
        "pruneIndexes": st.booleans(),
        "policy": st.one_of(policy_doc, policy_doc.map(json.dumps)),
        "policyFile": st.sampled_from(["p.json", "missing.json", "", "."] if junk else ["p.json"]),
        "indexes": st.lists(items(index), max_size=3),
    }, required=("name",))
    if not junk:  # policy and policyFile are exclusive
        bucket = bucket.map(lambda b: {k: v for k, v in b.items() if k != "policyFile" or "policy" not in b})
    return loose({
        "version": st.sampled_from([1, 2, "1", "${V:-1}"] if junk else [1, "${V:-1}"]),
        "account": interesting_text if junk else st.sampled_from(["2100000000", "${EMPTY}"]),
        "region": interesting_text if junk else st.just("cn-beijing"),
        "prune": loose({"buckets": st.lists(interesting_text if junk else st.just("rag-*"), max_size=3)}),
        "buckets": st.lists(items(bucket), max_size=4),
    }, required=("version", "buckets"))


POLICY_FILES = st.sampled_from([
    json.dumps({"Version": "1", "Statement": []}),
    json.dumps({"Version": "1", "Statement": {"Effect": "Allow", "Principal": "${NAME}", "Action": "tosvectors:*",
                                              "Resource": "*"}}),
    json.dumps({"Version": "1", "Statement": {"Effect": "Maybe"}}),
    "{",
])


@st.composite
def manifest_text(draw: st.DrawFn) -> str:
    junk = draw(st.booleans())
    documents = st.one_of(strategies(junk), scalars, st.lists(scalars, max_size=2)) if junk else strategies(junk)
    docs = draw(st.lists(documents, min_size=1, max_size=3))
    text = yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)
    if junk and draw(st.booleans()):  # break it a little, textually
        pos = draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:pos] + draw(st.sampled_from(["", ":", "[", "\t", "&a ", "*a", "!!python/tuple ", "${X}", "\n- "])) + text[pos:]
    return text


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=manifest_text(), policy=st.one_of(POLICY_FILES, interesting_text))
def test_random_manifests_load_or_raise_manifest_error(text: str, policy: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        with open(os.path.join(d, "p.json"), "w", encoding="utf-8") as f:
            f.write(policy)
        try:
            result = load_manifests([path], VARIABLES, environ={})
        except ManifestError as e:
            assert any(diag.severity == "error" for diag in e.diagnostics)
            for diag in e.diagnostics:
                assert diag.severity in ("error", "warning") and diag.message
                assert diag.line >= 1 and diag.col >= 1
        else:
            assert isinstance(result, Manifest)
            for b in result.buckets:
                assert bucket_name_problem(b.name) is None
                for ix in b.indexes:
                    assert index_name_problem(ix.name) is None
                    assert isinstance(ix.dimension, int) and 1 <= ix.dimension <= 4096
                    assert ix.distance_metric in ("euclidean", "cosine")
                    assert len(ix.non_filterable_metadata_keys) <= 10
                assert b.policy is None or isinstance(b.policy, dict)
