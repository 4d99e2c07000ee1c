"""The fast validator (jsonschema-rs) may only say "valid" when jsonschema agrees: a wrong
"valid" would let a bad manifest or plan file through without its error. Checked on every
broken-manifest row, every example, the policy documents, and random documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_manifest_cases import CASES
from test_manifest_fuzz import scalars, strategies

from reconciler.manifest import _schema
from reconciler.util.schemacheck import SchemaCheck
from reconciler.util.text import lone_surrogate_in

ROOT = Path(__file__).resolve().parents[2]


def documents(text: str) -> list[Any]:
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError:
        return []


def agree(check: SchemaCheck, instance: Any) -> tuple[bool, bool]:
    fast = check.surely_valid(instance)
    full = not any(True for _ in check.full.iter_errors(instance))
    assert full or not fast, f"jsonschema-rs accepts what jsonschema rejects: {instance!r}"
    return fast, full


def corpus() -> list[Any]:
    out: list[Any] = []
    for case in CASES:
        for name, text in case.files.items():
            if name.endswith((".yaml", ".yml")) and isinstance(text, str):
                out.extend(documents(text))
    for path in sorted((ROOT / "examples").rglob("*.y*ml")):
        out.extend(d for d in documents(path.read_text(encoding="utf-8")) if isinstance(d, dict) and "version" in d)
    return out


def test_the_corpus_has_both_kinds() -> None:
    docs = corpus()
    verdicts = [agree(_schema.manifest_validator(), doc) for doc in docs]
    assert sum(full for _, full in verdicts) >= 5  # the examples, at least
    assert sum(not full for _, full in verdicts) >= 20
    # on this corpus the two validators give the same answer, not just a safe one, except
    # on strings that are not Unicode (lone surrogates), which only jsonschema can read
    assert all(fast == full for (fast, full), doc in zip(verdicts, docs) if lone_surrogate_in(doc) is None)


@pytest.mark.parametrize("text", [
    '{"Version": "1", "Statement": []}',
    '{"Version": "1", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "tosvectors:*", "Resource": "*"}}',
    '{"Version": "1", "Statement": {"Effect": "Maybe"}}',
    '{"Version": 1, "Statement": [{"Effect": "Deny", "Principal": ["a"], "Action": ["tosvectors:Nope"], "Resource": []}]}',
])
def test_policy_documents(text: str) -> None:
    agree(_schema.policy_validator(), json.loads(text))


def test_values_it_cannot_represent_fall_back_to_jsonschema() -> None:
    check = _schema.manifest_validator()
    doc = {"version": 1, "buckets": [{"name": "abc", "indexes": [
        {"name": "i", "dimension": 10**30, "distanceMetric": "cosine"}]}]}
    assert agree(check, doc) == (False, False)
    doc["buckets"][0]["indexes"][0]["dimension"] = float("nan")
    assert agree(check, doc) == (False, False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.one_of(strategies(junk=False), strategies(junk=True), scalars))
def test_random_documents(doc: Any) -> None:
    agree(_schema.manifest_validator(), doc)


def test_plan_file_schema() -> None:
    check = SchemaCheck(json.loads((ROOT / "schemas" / "plan.schema.json").read_text()))
    assert agree(check, {"format_version": 1}) == (False, False)


def _patterns(node: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        found = [(path, node["pattern"])] if isinstance(node.get("pattern"), str) else []
        return found + [p for k, v in node.items() for p in _patterns(v, f"{path}/{k}")]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _patterns(v, f"{path}/{i}")]
    return []


MANIFEST_PATTERNS = _patterns(_schema.manifest_schema())


def test_every_manifest_pattern_is_covered() -> None:
    assert {path for path, _ in MANIFEST_PATTERNS} == {
        "/properties/account", "/properties/region", "/$defs/bucketName", "/$defs/indexName",
        "/$defs/bucket/properties/accessTests/items/properties/principal", "/properties/prune/properties/olderThan"}


@pytest.mark.parametrize("path, pattern", MANIFEST_PATTERNS, ids=[p for p, _ in MANIFEST_PATTERNS])
@pytest.mark.parametrize("tail", ["\n", "\r\n", "\n\n", "\u2028"])
def test_patterns_are_anchored_at_the_very_end(path: str, pattern: str, tail: str) -> None:
    # Python's re (jsonschema) lets `$` match before a final newline; ECMA-262 and
    # jsonschema-rs do not: the schema must be read the same way by both
    check = SchemaCheck({"type": "string", "pattern": pattern})
    good = ("2100000000" if path == "/properties/account" else "2100000001/ci-bot" if "principal" in path
            else "7d" if path.endswith("olderThan") else "docs-v1")
    assert agree(check, good) == (True, True)
    assert agree(check, good + tail) == (False, False)
    assert agree(check, tail + good) == (False, False)
