"""Secrets at the edges of what the loader echoes: every cut comes after masking, and a value
equal to or containing a secret is refused whatever its variable is called."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from manifest_helpers import where

from reconciler.errors import Diagnostic, ManifestError
from reconciler.manifest import Manifest
from reconciler.util.text import cut

AK = "AKLTq7Wm2ZrVb9KcXe4NdTu8"
SK = "Zk8Qw3RtYu6PaS1dFg5HjK2lMn9BvC4xEr7Ti0Oq"
ENV = {"TOS_ACCESS_KEY": AK, "TOS_SECRET_KEY": SK}

Errors = Callable[..., list[Diagnostic]]


def starts_shown(text: str) -> list[int]:
    return [n for s in (AK, SK) for n in range(len(s), 3, -1) if s[:n] in text]


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)


@pytest.mark.usefixtures("secrets")
@pytest.mark.parametrize("pad", range(30, 64))
def test_a_cut_never_shows_the_start_of_a_secret(pad: int) -> None:
    # the whole secret, and only its first part (a truncated copy) running past the cut
    for text in ("a" * pad + AK + "z" * 50, "a" * pad + SK + "z", "a" * pad + AK[:70 - pad] + "-" * 10):
        shown = cut(text)
        assert starts_shown(shown) == [], shown
        assert len(shown) < 100


@pytest.mark.usefixtures("secrets")
def test_cut_masks_a_whole_secret_it_does_not_cut() -> None:
    assert cut("x" + AK) == "x****"
    assert cut("x" * 62 + AK) == "x" * 62 + "****…(66 chars)"  # a mask is kept whole


@pytest.mark.usefixtures("secrets")
def test_a_wildcard_lint_cuts_after_masking(load_errors: Errors) -> None:
    """rules/policy.py cut a Resource with too many wildcards at 40 characters: 18 of the
    access key's showed."""
    text = ("version: 1\nbuckets:\n  - name: abc\n    policy:\n      Version: '2025-12-01'\n      Statement:\n"
            "        - Effect: Allow\n          Principal: '2100000000/bot'\n          Action: 'tosvectors:GetIndex'\n"
            "          Resource: 'trn:*:*:*:*:*:*:*:*:*:${TOS_ACCESS_KEY}'\n")
    messages = [d.message for d in load_errors({"m.yaml": text}, environ=ENV)]
    assert any("wildcards" in m for m in messages) and starts_shown(" ".join(messages)) == []


@pytest.mark.parametrize("value, variables, env", [
    ("${COPY}", {}, {"COPY": SK}),
    ("prefix-${COPY}", {}, {"COPY": SK}),
    ("${A}${B}", {"A": SK[:10]}, {"B": SK[10:]}),
    ("${NOPE:-" + SK + "}", {}, {}),
    ("${FROM_FLAG}", {"FROM_FLAG": f" {SK} "}, {}),  # contains it
    (SK, {}, {}),  # written in the file itself
])
def test_a_secret_under_any_name_is_refused(load: Callable[..., Manifest], value: str, variables: dict[str, str],
                                            env: dict[str, str]) -> None:
    text = f"version: 1\nbuckets:\n  - name: abc\n    indexes:\n      - name: \"{value}\"\n" \
           "        dimension: 4\n        distanceMetric: cosine\n"
    with pytest.raises(ManifestError) as info:
        load({"m.yaml": text}, variables=variables, environ={**ENV, **env})
    [d] = [d for d in info.value.diagnostics if "secret" in d.message]
    assert where(d).startswith("m.yaml:5:")
    assert "TOS_SECRET_KEY" in d.message and SK[:4] not in str(info.value)


def test_a_short_secret_is_refused_only_when_equal(load: Callable[..., Manifest], load_errors: Errors) -> None:
    """A secret under 8 characters would be found in too much text by chance: only a value
    equal to it is refused."""
    env = {"TOS_SECRET_KEY": "abc", "V": "abc"}
    text = "version: 1\nbuckets:\n  - name: {}\n"
    assert load({"m.yaml": text.format("abcdef")}, environ=env).buckets[0].name == "abcdef"
    [d] = load_errors({"m.yaml": text.format("${V}")}, environ=env)
    assert "${V} holds the value of TOS_SECRET_KEY" in d.message


def test_the_access_key_may_be_interpolated(load: Callable[..., Manifest]) -> None:
    """An identifier, not a secret: allowed in a manifest (and masked in every output)."""
    m = load({"m.yaml": "version: 1\nbuckets:\n  - name: ${TOS_ACCESS_KEY}\n"}, environ={"TOS_ACCESS_KEY": "akabc123"})
    assert m.buckets[0].name == "akabc123"
