"""The JSON Schema, the manifest loader, the client and the emulator give the same verdict
on a sweep of names and limits: each rule of the service (reconciler/rules/names.py) holds once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import reconciler
from reconciler.client.addressing import Endpoint
from reconciler.client.addressing import bucket_name_problem as client_bucket_problem
from reconciler.emulator.errors import ValidationException
from reconciler.emulator.validation import parse_create_index
from reconciler.manifest._rules import bucket_name_problem, index_name_problem
from reconciler.rules.names import default_endpoint, json_type

SCHEMA = json.loads((Path(reconciler.__file__).parent / "schemas" / "manifest.schema.json").read_text())


def _schema_ok(definition: str, value: Any) -> bool:
    validator = jsonschema.validators.validator_for(SCHEMA)({"$ref": f"#/$defs/{definition}", "$defs": SCHEMA["$defs"]})
    return validator.is_valid(value)


def _emulator_ok(**fields: Any) -> bool:
    body = {"vectorBucketName": "bkt", "indexName": "idx", "dataType": "float32", "dimension": 4,
            "distanceMetric": "cosine", **fields}
    try:
        parse_create_index(body)
    except ValidationException:
        return False
    return True


NAMES = [
    "", "a", "ab", "abc", "a" * 32, "a" * 33, "a" * 63, "a" * 64, "a-b", "a.b", "a..b", "a--b",
    "-ab", "ab-", ".ab", "ab.", "Abc", "abC", "a_b", "a b", "ab ", " ab", "abc\n", "\nabc",
    "é12", "ab\u0131", "12345", "0-0", "a.-", "1.2.3", "abc\x00", "ab/c", "ab:c", "ab\t",
    "a" * 31 + "-", "-" * 5, "." * 5, "a" * 62 + ".", "xn--abc",
]


@pytest.mark.parametrize("name", NAMES, ids=repr)
def test_bucket_names_one_verdict(name: str) -> None:
    verdicts = {
        "schema": _schema_ok("bucketName", name),
        "manifest": bucket_name_problem(name) is None,
        "client": client_bucket_problem(name) is None,
        "emulator": _emulator_ok(vectorBucketName=name),
    }
    assert len(set(verdicts.values())) == 1, verdicts


@pytest.mark.parametrize("name", NAMES, ids=repr)
def test_index_names_one_verdict(name: str) -> None:
    verdicts = {
        "schema": _schema_ok("indexName", name),
        "manifest": index_name_problem(name) is None,
        "emulator": _emulator_ok(indexName=name),
    }
    assert len(set(verdicts.values())) == 1, verdicts


def _index(**fields: Any) -> dict[str, Any]:
    return {"name": "idx", "dimension": 4, "distanceMetric": "cosine", **fields}


def _api_fields(**fields: Any) -> dict[str, Any]:
    """The manifest's index fields as CreateIndex sends them."""
    out = dict(fields)
    if "nonFilterableMetadataKeys" in out:
        out["metadataConfiguration"] = {"nonFilterableMetadataKeys": out.pop("nonFilterableMetadataKeys")}
    return out


LIMITS: list[dict[str, Any]] = [
    *({"dimension": d} for d in (-1, 0, 1, 2, 4095, 4096, 4097, 10**6, 1.5, True, "4")),
    *({"distanceMetric": m} for m in ("cosine", "euclidean", "dotproduct", "Cosine", "")),
    *({"dataType": t} for t in ("float32", "int8", "float16", "FLOAT32", "")),
    *({"nonFilterableMetadataKeys": [f"k{i}" for i in range(n)]} for n in (0, 1, 9, 10, 11, 50)),
    {"nonFilterableMetadataKeys": ["a" * 63]}, {"nonFilterableMetadataKeys": ["a" * 64]},
    {"nonFilterableMetadataKeys": [""]}, {"nonFilterableMetadataKeys": ["a", "a"]},
    {"nonFilterableMetadataKeys": [1]}, {"nonFilterableMetadataKeys": "a"},
]


@pytest.mark.parametrize("fields", LIMITS, ids=repr)
def test_index_limits_one_verdict(fields: dict[str, Any]) -> None:
    verdicts = {
        "schema": _schema_ok("index", _index(**fields)),
        "emulator": _emulator_ok(**_api_fields(**fields)),
    }
    assert len(set(verdicts.values())) == 1, verdicts


def test_the_sweep_has_both_verdicts() -> None:
    """A sweep that only passed (or only failed) would prove nothing."""
    bucket = {bucket_name_problem(n) is None for n in NAMES}
    index = {index_name_problem(n) is None for n in NAMES}
    limits = {_schema_ok("index", _index(**f)) for f in LIMITS}
    assert bucket == index == limits == {True, False}


@pytest.mark.parametrize("text", ["null", "true", "false", "0", "-7", "1.5", "1e400", '"s"', "[]", "[1]", "{}"])
def test_json_type_names_a_value_as_json_schema_does(text: str) -> None:
    """One naming of JSON types for every message; JSON Schema's own checker agrees with it."""
    value = json.loads(text)
    named = json_type(value, integer=True)
    checker = jsonschema.validators.validator_for(SCHEMA).TYPE_CHECKER
    assert checker.is_type(value, named)
    every = ("null", "boolean", "integer", "number", "string", "array", "object")
    types = {t for t in every if checker.is_type(value, t)}
    assert types - {"number"} == {named} - {"number"}  # only the one type (an integer is a number too)
    assert json_type(value) == ("number" if named == "integer" else named)


def test_the_client_defaults_to_the_one_default_endpoint() -> None:
    assert Endpoint.parse(None, "cn-guangzhou").url == default_endpoint("cn-guangzhou") \
        == "https://tosvectors-cn-guangzhou.volces.com"
