"""What the loader says: the YAML problem it names is the one in the file, and every problem
of a manifest comes out in one run (schema errors beside the policy's own)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from manifest_helpers import where

from reconciler.errors import Diagnostic

Errors = Callable[..., list[Diagnostic]]


@pytest.mark.parametrize("value, char", [("@abc", "'@'"), ("`abc`", "'`'")])
def test_a_reserved_character_is_named_not_called_a_tab(load_errors: Errors, value: str, char: str) -> None:
    """`name: @abc` and a leading backtick were reported as "a tab character"."""
    [d] = load_errors({"m.yaml": f"version: 1\nbuckets:\n  - name: {value}\n"})
    assert where(d) == "m.yaml:3:11"
    assert d.message == (f"invalid YAML: {char} is reserved in YAML and cannot start an unquoted value: "
                         "put the value in quotes")


def test_a_tab_is_still_a_tab(load_errors: Errors) -> None:
    [d] = load_errors({"m.yaml": "version: 1\nbuckets:\n\t- name: abc\n"})
    assert (where(d), d.message) == ("m.yaml:3:1", "invalid YAML: a tab character: YAML indents with spaces only")


POLICY = """\
version: 1
buckets:
  - name: abc
    policy:
      Version: "2025-12-01"
      Statement:
        - Efect: Allow
          Principal: ["2100000000/bot"]
          Action: ["tosvectors:QueryVector"]
          Resource: ["trn:tosvectors:cn-beijing:2100000000:bucket/abc"]
"""


def test_an_action_typo_is_reported_with_an_effect_typo(load_errors: Errors) -> None:
    """The Action typo came out only once the `Efect:` typo was fixed: now both at once."""
    found = [(where(d), d.message) for d in load_errors({"m.yaml": POLICY})]
    assert found == [
        ("m.yaml:7:11", "policy statement is missing required key 'Effect'"),
        ("m.yaml:7:11", "unknown key 'Efect' in policy statement; did you mean 'Effect'?"),
        ("m.yaml:9:20", "Action[0]: 'tosvectors:QueryVector' is not a TOS Vectors action; "
                        "did you mean 'tosvectors:QueryVectors'?"),
    ]


def test_a_broken_policy_gets_no_warnings_read_into_it(load: Callable[..., object], load_errors: Errors) -> None:
    """Only certain mistakes are added for a document the schema rejected: a warning (here:
    QueryVectors without GetVectors) reads a meaning into it that it does not have yet."""
    from reconciler.errors import ManifestError

    text = POLICY.replace("QueryVector\"", "QueryVectors\"")
    with pytest.raises(ManifestError) as info:
        load({"m.yaml": text})
    assert [d.message for d in info.value.diagnostics if d.severity != "error"] == []
    assert len(info.value.diagnostics) == 2


def test_a_policy_file_gets_every_problem_too(load_errors: Errors) -> None:
    policy = ('{"Version": "2025-12-01", "Statement": [{"Effect": "Alow", "Principal": "2100000000/bot",\n'
              ' "Action": "tosvectors:GetVectorz", "Resource": "*"}]}')
    text = "version: 1\nbuckets:\n  - name: abc\n    policyFile: p.json\n"
    messages = [d.message for d in load_errors({"m.yaml": text, "p.json": policy})]
    assert any("Effect" in m and "Alow" in m for m in messages), messages
    assert any("GetVectorz" in m for m in messages), messages
