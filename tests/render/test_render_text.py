"""plan_text and drift_text beyond the goldens: ordering, wording, counts, colour."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from render_samples import big_plan, create_plan, empty_drift, empty_plan, mixed_drift, mixed_plan

from reconciler.plan.model import Plan
from reconciler.plan.planfile import from_saved, to_saved
from reconciler.render import drift_text, plan_text

SUMMARY = re.compile(r"^Plan: (\d+) to create, (\d+) to update, (\d+) to replace, (\d+) to delete\.$")


def _change_lines(text: str) -> list[str]:
    """The symbol+address line of each change, in the order shown."""
    return [line for line in text.splitlines() if re.match(r"^( {2}[+~-]|-/\+) [a-z]+\.", line)]


@pytest.mark.parametrize("plan", [mixed_plan(), create_plan(), empty_plan(), big_plan(300)],
                         ids=["mixed", "create", "empty", "big"])
def test_no_escape_codes_without_colour(plan: Plan) -> None:
    assert "\x1b" not in plan_text(plan)
    assert "\x1b" not in plan_text(plan, color=False)


def test_colour_only_changes_escape_codes() -> None:
    coloured = plan_text(mixed_plan(), color=True)
    assert "\x1b[" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plan_text(mixed_plan())


def test_output_ignores_no_color_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR is the CLI's business: renderers only obey their color flag."""
    before = plan_text(mixed_plan(), color=True), drift_text(mixed_drift(), color=True)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
    assert (plan_text(mixed_plan(), color=True), drift_text(mixed_drift(), color=True)) == before


def test_destroying_changes_come_first() -> None:
    plan = mixed_plan()
    shown = [line.split()[-1] for line in _change_lines(plan_text(plan))]
    destroying = [c.address for c in plan.changes if c.destroys_data]
    others = [c.address for c in plan.changes if not c.destroys_data]
    assert shown == destroying + others
    assert shown[0] != plan.changes[0].address  # the plan itself starts with a create


def test_every_change_is_shown_once_with_its_reason() -> None:
    plan = mixed_plan()
    text = plan_text(plan)
    assert len(_change_lines(text)) == len(plan.changes)
    for c in plan.changes:
        block = text.split(f"# {c.address} will be", 1)[1].split("\n\n", 1)[0]
        assert f"# reason: {c.reason}" in block


def test_summary_line_counts() -> None:
    plan = mixed_plan()
    last = plan_text(plan).rstrip("\n").splitlines()[-1]
    m = SUMMARY.match(last)
    assert m, last
    assert tuple(int(n) for n in m.groups()) == (3, 1, 1, 4)
    assert tuple(int(n) for n in m.groups()) == tuple(plan.counts()[a] for a in ("create", "update", "replace",
                                                                                 "delete"))


def test_no_changes_line() -> None:
    text = plan_text(empty_plan())
    assert text.rstrip("\n").splitlines()[-1] == "No changes. The live state matches the manifest."
    assert "Plan:" not in text


@pytest.mark.parametrize("holds, words", [(True, "it holds vectors"), (False, "it holds no vectors"),
                                          (None, "unknown")])
def test_says_whether_a_destroyed_index_holds_vectors(holds: bool | None, words: str) -> None:
    plan = mixed_plan()
    c = next(c for c in plan.changes if c.address == "index.rag-prod/docs-v1")
    text = plan_text(plan.with_changes((replace(c, holds_vectors=holds),)))
    line = next(line for line in text.splitlines() if "will be DESTROYED and re-created" in line)
    assert line.startswith("  # index.rag-prod/docs-v1 will be DESTROYED and re-created (")
    assert words in line


def test_replace_names_the_forcing_attributes() -> None:
    text = plan_text(mixed_plan())
    assert '~ dimension                 = 768 → 1024  # forces replacement' in text
    assert '~ distanceMetric            = "cosine" → "euclidean"  # forces replacement' in text
    assert text.count("# forces replacement") == 2


def test_prevent_destroy_is_flagged() -> None:
    text = plan_text(mixed_plan())
    block = text.split("# index.rag-prod/docs-v1 will be", 1)[1].split("\n\n", 1)[0]
    assert "preventDestroy" in block
    assert "preventDestroy" in text.split("\n\n")[2]  # the warning at the top counts it too


def test_policy_update_is_a_unified_diff() -> None:
    text = plan_text(mixed_plan())
    block = text.split("# policy.rag-prod will be updated in place", 1)[1].split("\n\n", 1)[0]
    assert "--- live" in block and "+++ manifest" in block and "@@ " in block
    assert '-        "2100000001/ci-bot"' in block
    assert '+        "2100000001/search-api"' in block


def test_unmanaged_listed_after_changes() -> None:
    text = plan_text(mixed_plan())
    i = text.index("Not managed by these manifests, left alone (3):")
    assert i > text.rindex("# policy.rag-dev will be created")
    assert "  bucket.analytics\n  index.rag-prod/experiments\n  policy.team-shared\n" in text[i:]


def test_text_is_a_function_of_the_json_plan() -> None:
    plan = mixed_plan()
    # what only the saved form holds (fingerprints) does not reach the text
    assert plan_text(replace(plan, fingerprints={})) == plan_text(plan)
    assert plan_text(from_saved(to_saved(plan))) == plan_text(plan)


def test_drift_text_counts_and_kinds() -> None:
    text = drift_text(mixed_drift())
    assert "\x1b" not in text
    assert text.rstrip("\n").splitlines()[-1] == "Drift: 2 changed, 3 missing, 4 unmanaged."
    for title in ("Changed", "Missing", "Unmanaged in scope", "Not managed by these manifests"):
        assert f"\n{title}" in text
    assert "~ dimension                 = 768 → 1024" in text  # the difference is shown
    assert "+        \"2100000001/search-api\"" in text


def test_drift_text_in_sync() -> None:
    text = drift_text(empty_drift())
    assert text.rstrip("\n").splitlines()[-1].startswith("No drift.")
    assert "bucket.analytics" in text  # outside-scope info is still listed
