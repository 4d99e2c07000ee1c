"""${VAR} interpolation, typed conversion, and --var parsing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from manifest_helpers import where, write

from reconciler.errors import ConfigError, Diagnostic
from reconciler.manifest import Manifest, load_manifests, parse_var_assignments
from reconciler.manifest._interpolate import Interpolator

Load = Callable[..., Manifest]
Errors = Callable[..., list[Diagnostic]]

INDEX = """\
version: 1
region: ${REGION:-cn-beijing}
buckets:
  - name: ${PREFIX}-docs
    preventDestroy: ${PROTECT:-false}
    indexes:
      - name: docs
        dimension: ${DIM}
        distanceMetric: "${METRIC:-cosine}"
        preventDestroy: "${PROTECT:-false}"
"""


def test_defaults_env_and_typed_conversion(load: Load) -> None:
    m = load({"m.yaml": INDEX}, environ={"PREFIX": "rag", "DIM": "768"})
    b = m.buckets[0]
    ix = b.indexes[0]
    assert (m.region, b.name, b.prevent_destroy) == ("cn-beijing", "rag-docs", False)
    assert (ix.dimension, ix.distance_metric, ix.prevent_destroy) == (768, "cosine", False)
    assert type(ix.dimension) is int


def test_var_flags_win_over_environment(load: Load) -> None:
    m = load({"m.yaml": INDEX}, variables={"PREFIX": "cli", "PROTECT": "true"},
             environ={"PREFIX": "env", "DIM": "8", "PROTECT": "false", "REGION": "cn-shanghai"})
    b = m.buckets[0]
    assert (m.region, b.name, b.prevent_destroy, b.indexes[0].prevent_destroy) == (
        "cn-shanghai", "cli-docs", True, True)


def test_os_environ_is_the_default(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFIX", "osenv")
    monkeypatch.setenv("DIM", "4")
    write(workdir, {"m.yaml": INDEX})
    m = load_manifests(["m.yaml"])
    assert m.buckets[0].name == "osenv-docs"


def test_empty_value_uses_default_with_colon_dash(load: Load) -> None:
    m = load({"m.yaml": INDEX}, environ={"PREFIX": "abc", "DIM": "8", "REGION": ""})
    assert m.region == "cn-beijing"


def test_escape_and_literal_dollars(load: Load) -> None:
    m = load({"m.yaml": """\
        version: 1
        buckets:
          - name: abc
            policy:
              Version: "1"
              Id: "$${NOT_A_VAR} costs $5 and $$ stays"
              Statement: []
        """})
    assert m.buckets[0].policy["Id"] == "${NOT_A_VAR} costs $5 and $$ stays"  # type: ignore[index]


def test_interpolation_inside_policy_mapping_and_json_string(load: Load) -> None:
    m = load({"m.yaml": """\
        version: 1
        buckets:
          - name: abc
            policy:
              Version: "1"
              Statement:
                Effect: Allow
                Principal: ${ACCT}/bot
                Action: tosvectors:GetIndex
                Resource: trn:tosvectors:cn-beijing:${ACCT}:bucket/abc
          - name: def
            policy: '{"Version": "1", "Statement": {"Effect": "Allow", "Principal": "${ACCT}/bot",
              "Action": "tosvectors:GetIndex", "Resource": "trn:tosvectors:cn-beijing:${ACCT}:bucket/def"}}'
        """}, variables={"ACCT": "2100000000"})
    abc, de = (b.policy for b in m.buckets)
    assert abc["Statement"]["Principal"] == de["Statement"]["Principal"] == "2100000000/bot"  # type: ignore[index]


def test_keys_are_not_interpolated(load_errors: Errors) -> None:
    diagnostics = load_errors({"m.yaml": "version: 1\nbuckets: []\n${KEY}: 1\n"}, environ={"KEY": "region"})
    assert [(where(d), d.message) for d in diagnostics] == [("m.yaml:3:1", "unknown key '${KEY}' in the manifest")]


def test_every_undefined_variable_is_reported_where_it_is(load_errors: Errors) -> None:
    diagnostics = load_errors({"m.yaml": """\
        version: 1
        region: "${A}-${B:-x}-${C}"
        buckets:
          - name: ${D}
        """})
    assert [(where(d), d.message.split(":")[0]) for d in diagnostics] == [
        ("m.yaml:2:10", "undefined variable 'A'"),
        ("m.yaml:2:23", "undefined variable 'C'"),
        ("m.yaml:4:11", "undefined variable 'D'"),
    ]
    assert "--var A=VALUE" in diagnostics[0].message


def test_typed_conversion_only_for_interpolated_values(load_errors: Errors) -> None:
    diagnostics = load_errors({"m.yaml": """\
        version: 1
        buckets:
          - name: abc
            preventDestroy: "true"
            indexes:
              - {name: docs, dimension: "768", distanceMetric: cosine}
        """})
    assert [d.message for d in diagnostics] == [
        "preventDestroy: expected a boolean (true or false), got string 'true'",
        "dimension: expected an integer, got string '768'",
    ]


@pytest.mark.parametrize("value, expected", [("true", True), ("TRUE", True), ("False", False), ("0", None),
                                             ("yes", None), ("ON", None), ("no", None)])
def test_boolean_spellings(load: Load, load_errors: Errors, value: str, expected: bool | None) -> None:
    """One rule for booleans, written or interpolated: true or false (any case), as YAML 1.2
    and the JSON Schema (so every editor) read them. YAML 1.1's yes/no/on/off are refused
    with a hint rather than read one way by the CLI and the other by the editor."""
    files = {"m.yaml": "version: 1\nbuckets:\n  - name: abc\n    pruneIndexes: ${P}\n"}
    if expected is None:
        message = load_errors(files, variables={"P": value})[0].message
        assert "expected a boolean" in message
        assert ("write true or false" in message) is (value.lower() in ("yes", "on", "no"))
    else:
        assert load(files, variables={"P": value}).buckets[0].prune_indexes is expected


@pytest.mark.parametrize("spelling", ["yes", "No", "on", "OFF"])
def test_yaml_1_1_booleans_are_refused_as_the_schema_refuses_them(load_errors: Errors, spelling: str) -> None:
    """`preventDestroy: yes` was accepted by the CLI (PyYAML reads YAML 1.1) and rejected
    by the schema (editors read YAML 1.2, where it is a string): now both refuse it."""
    files = {"m.yaml": f"version: 1\nbuckets:\n  - name: abc\n    preventDestroy: {spelling}\n"}
    [d] = load_errors(files)
    assert (where(d), d.message) == ("m.yaml:4:21", f"preventDestroy: expected a boolean (true or false), got string "
                                     f"'{spelling}' (yes/no/on/off are YAML 1.1 spellings, strings in YAML 1.2 as "
                                     f"editors read them: write true or false)")


def test_yaml_1_1_boolean_words_are_strings_where_a_string_is_wanted(load: Load) -> None:
    m = load({"m.yaml": "version: 1\nbuckets:\n  - name: abc\n    indexes:\n      - name: yes\n"
                        "        dimension: 4\n        distanceMetric: cosine\n"})
    assert m.buckets[0].indexes[0].name == "yes"


def test_version_from_a_variable(load: Load) -> None:
    assert load({"m.yaml": "version: ${V}\nbuckets: []\n"}, variables={"V": "1"}).buckets == ()


def test_interpolator_reports_offsets() -> None:
    interp = Interpolator({"A": "1"}, {"B": "2"})
    assert interp.expand("x${A}${B}$${C}") == ("x12${C}", True, [])
    text, _, problems = interp.expand("ab${C}")
    assert text == "ab" and [(p.offset, p.token) for p in problems] == [(2, "${C}")]


def test_parse_var_assignments() -> None:
    assert parse_var_assignments(["A=1", "B=x=y", "C=", "A=2"]) == {"A": "2", "B": "x=y", "C": ""}
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_var_assignments(["NOVALUE"])
    with pytest.raises(ConfigError, match="KEY must be"):
        parse_var_assignments(["1A=x"])
    with pytest.raises(ConfigError):
        parse_var_assignments(["=x"])
