"""schemas/manifest.schema.json: a valid 2020-12 schema, closed, described, and the loader's guide."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler.manifest import SCHEMA_FILE
from reconciler.manifest._schema import expected_types
from reconciler.rules.policy import ACTIONS

SCHEMA: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def subschemas(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            if key in ("enum", "const", "default", "required"):
                continue
            yield from subschemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from subschemas(value, f"{where}/{i}")


def test_is_a_valid_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)


def test_every_object_is_closed() -> None:
    for where, node in subschemas(SCHEMA):
        if "properties" in node:
            assert node.get("additionalProperties") is False, where


def test_every_property_is_described() -> None:
    for where, node in subschemas(SCHEMA):
        for name, prop in node.get("properties", {}).items() if isinstance(node.get("properties"), dict) else []:
            target = prop
            if "$ref" in prop:
                target = SCHEMA["$defs"][prop["$ref"].split("/")[-1]]
            assert target.get("description"), f"{where}/properties/{name}"


def test_free_form_parts_are_the_documented_ones() -> None:
    open_objects = [
        where for where, node in subschemas(SCHEMA)
        if node.get("type") == "object" and node.get("additionalProperties") is not False
    ]
    assert open_objects and all(
        w.startswith(("#/$defs/statement/properties/Condition", "#/$defs/principal/")) for w in open_objects
    ), open_objects


def test_actions_are_offered_to_editors() -> None:
    # examples, not an enum: patterns (tosvectors:Get*) are valid, and policy.action_problem
    # rejects a name the service lacks, with "did you mean"
    assert SCHEMA["$defs"]["action"]["examples"] == ["tosvectors:*", *ACTIONS]


@pytest.mark.parametrize(
    "path, types",
    [
        (("version",), ["integer"]),
        (("account",), ["string"]),
        (("buckets", 0, "preventDestroy"), ["boolean"]),
        (("buckets", 3, "indexes", 1, "dimension"), ["integer"]),
        (("buckets", 0, "indexes", 0, "nonFilterableMetadataKeys", 4), ["string"]),
        (("buckets", 0, "policy"), ["object", "string"]),
        (("buckets", 0, "policy", "Statement", 0, "Action"), ["string", "array"]),
        (("nope",), []),
    ],
)
def test_expected_types(path: tuple[Any, ...], types: list[str]) -> None:
    assert expected_types(path) == types
