"""schemas/manifest.schema.json as editors and CI linters use it: on the manifest as written,
before interpolation. check-jsonschema (the validator pre-commit hooks and CI jobs run; the
yaml-language-server reads the schema the same way) failed 3 of the 5 shipped examples on
their `${VAR}` in typed fields. A `${VAR}` is accepted where a number, a boolean, a name or
one of a list of words is expected; typos are still flagged; and the loader, which sees the
interpolated value, still checks its type."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from manifest_helpers import where

from reconciler.errors import Diagnostic
from reconciler.manifest import SCHEMA_FILE, Manifest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").rglob("*.y*ml")
                  if isinstance(doc := yaml.safe_load(p.read_text(encoding="utf-8")), dict) and "buckets" in doc)
CHECK = shutil.which("check-jsonschema") or str(Path(sys.executable).with_name("check-jsonschema"))

needs_check = pytest.mark.skipif(not os.access(CHECK, os.X_OK), reason="check-jsonschema is not installed")


def check_jsonschema(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CHECK, "--schemafile", str(SCHEMA_FILE), *map(str, files)],
                          capture_output=True, text=True, timeout=120)


def test_the_examples_are_found() -> None:
    assert len(EXAMPLES) >= 5, EXAMPLES


@needs_check
def test_every_shipped_example_passes_check_jsonschema() -> None:
    r = check_jsonschema(*EXAMPLES)
    assert r.returncode == 0, r.stdout + r.stderr


VARIABLES = """\
version: 1
account: "${TOS_ACCOUNT_ID}"
region: ${TOS_REGION:-cn-beijing}
buckets:
  - name: search-${ENV}
    preventDestroy: ${PROTECT:-true}
    pruneIndexes: "${PRUNE}"
    allowPublicAccess: ${PUBLIC:-false}
    accessTests:
      - principal: "${TOS_ACCOUNT_ID}/ci-bot"
        action: ${ACTION}
        index: docs-${ENV}
        expect: ${EXPECT:-deny}
    indexes:
      - name: docs-${ENV}
        dimension: ${EMBEDDING_DIM:-768}
        distanceMetric: ${METRIC}
        dataType: ${DATA_TYPE:-float32}
        preventDestroy: ${PROTECT_INDEX:-false}
"""

TYPOS = {
    "unknown-key.yaml": ("version: 1\nbuckets:\n  - name: abc\n    indexes:\n      - name: abc\n"
                         "        dimenson: 4\n        dimension: 4\n        distanceMetric: cosine\n"),
    "enum.yaml": ("version: 1\nbuckets:\n  - name: abc\n    indexes:\n      - name: abc\n"
                  "        dimension: 4\n        distanceMetric: cosin\n"),
    "dimension-word.yaml": ("version: 1\nbuckets:\n  - name: abc\n    indexes:\n      - name: abc\n"
                            "        dimension: abc\n        distanceMetric: cosine\n"),
    "unclosed-reference.yaml": ("version: 1\nbuckets:\n  - name: abc\n    indexes:\n      - name: abc\n"
                                "        dimension: \"${DIM\"\n        distanceMetric: cosine\n"),
    "yes.yaml": "version: 1\nbuckets:\n  - name: abc\n    preventDestroy: yes\n",
    "account-letters.yaml": "version: 1\naccount: abc\nbuckets: []\n",
    "effect.yaml": ("version: 1\nbuckets:\n  - name: abc\n    policy:\n      Version: '2025-12-01'\n      Statement:\n"
                    "        - Effect: Alow\n          Principal: '*'\n          Action: 'tosvectors:*'\n"
                    "          Resource: '*'\n"),
}


@needs_check
def test_variables_in_typed_fields_pass_check_jsonschema(tmp_path: Path) -> None:
    path = tmp_path / "vars.yaml"
    path.write_text(VARIABLES)
    r = check_jsonschema(path)
    assert r.returncode == 0, r.stdout + r.stderr


@needs_check
def test_typos_are_still_flagged_by_check_jsonschema(tmp_path: Path) -> None:
    for name, text in TYPOS.items():
        (tmp_path / name).write_text(text)
    r = check_jsonschema(*(tmp_path / name for name in TYPOS))
    assert r.returncode == 1
    flagged = {name for name in TYPOS if f"{name}::" in r.stdout}
    assert flagged == set(TYPOS), r.stdout


def test_the_loader_still_checks_what_a_variable_gives(load: Callable[..., Manifest],
                                                       load_errors: Callable[..., list[Diagnostic]]) -> None:
    env = {"TOS_ACCOUNT_ID": "2100000000", "ENV": "dev", "PRUNE": "true", "ACTION": "tosvectors:GetIndex",
           "METRIC": "cosine"}
    m = load({"m.yaml": VARIABLES}, environ=env)
    ix = m.buckets[0].indexes[0]
    assert (m.buckets[0].name, m.buckets[0].prevent_destroy, ix.dimension, ix.distance_metric) == \
        ("search-dev", True, 768, "cosine")
    bad = {**env, "EMBEDDING_DIM": "abc", "METRIC": "cosin", "PROTECT": "yes", "ENV": "DEV",
           "TOS_ACCOUNT_ID": "acct"}
    found = {(where(d), d.message.split(":")[0]) for d in load_errors({"m.yaml": VARIABLES}, environ=bad)}
    assert {("m.yaml:2:10", "account"), ("m.yaml:6:21", "preventDestroy"), ("m.yaml:16:20", "dimension"),
            ("m.yaml:17:25", "distanceMetric")} <= found, found
    assert ("m.yaml:5:11", "invalid bucket name 'search-DEV'") in found, found


def test_a_value_that_still_reads_like_a_reference_is_no_number(load_errors: Callable[..., list[Diagnostic]]) -> None:
    """The schema lets `${VAR}` stand for a number; what the loader checks is the value after
    interpolation, where `$${DIM}` (a literal) or a variable holding "${X}" is a string."""
    text = "version: 1\nbuckets:\n  - name: abc\n    indexes:\n      - name: abc\n        dimension: {}\n" \
           "        distanceMetric: cosine\n"
    for value, env in (("\"$${DIM}\"", {}), ("${DIM}", {"DIM": "${X}"})):
        [d] = load_errors({"m.yaml": text.format(value)}, environ=env)
        assert d.message == "dimension: expected an integer, got string '${X}'" if env else \
            d.message == "dimension: expected an integer, got string '${DIM}'", d.message
