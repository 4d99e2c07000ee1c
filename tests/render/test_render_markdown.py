"""plan_markdown and drift_markdown: warning first, collapsed details, never over the cap."""

from __future__ import annotations

import re

import pytest
from render_samples import READ, TARGET, big_plan, change, empty_plan, mixed_drift, mixed_plan, policy

from reconciler.plan.drift import DriftReport, drift_report
from reconciler.plan.model import Action, Plan
from reconciler.render import drift_markdown, plan_markdown
from reconciler.render.markdown import MAX_CHARS


def _well_formed(md: str) -> None:
    """Every <details> closed, every fence closed: a cut never breaks the comment's layout."""
    assert md.count("<details>") == md.count("</details>")
    fences = [line for line in md.splitlines() if line.strip().startswith("```")]
    assert len(fences) % 2 == 0
    assert "\x1b" not in md


def test_mixed_plan_layout() -> None:
    md = plan_markdown(mixed_plan())
    _well_formed(md)
    assert md.startswith("### reconciler plan\n")
    assert "**Plan: 3 to create, 1 to update, 1 to replace, 4 to delete.**" in md
    assert "| 3 | 1 | 1 | 4 |" in md
    warning = md.index("> [!CAUTION]")
    assert warning < md.index("<details>")
    block = md[warning:md.index("\n\n", warning)]
    assert "4 changes destroy data" in block and "preventDestroy" in block
    listed = re.findall(r"^> - `[^`]+` `([^`]+)`", block, re.MULTILINE)
    assert listed == [c.address for c in mixed_plan().changes if c.destroys_data]
    assert md.count("<details><summary>") == len(mixed_plan().changes)
    assert "```diff\n--- live\n+++ manifest\n@@" in md
    assert "Not managed by these manifests, left alone (3)" in md
    assert "forces replacement" in md
    assert "rag-\\*" in md  # free text is escaped: the glob does not start emphasis


def test_details_destroying_first() -> None:
    md = plan_markdown(mixed_plan())
    summaries = re.findall(r"<summary><code>\S+ ([^<]+)</code>", md)
    plan = mixed_plan()
    assert summaries == [c.address for c in plan.changes if c.destroys_data] + \
        [c.address for c in plan.changes if not c.destroys_data]


def test_no_changes() -> None:
    md = plan_markdown(empty_plan())
    _well_formed(md)
    assert "**No changes. The live state matches the manifest.**" in md
    assert "[!CAUTION]" not in md and "<details>" not in md


def test_five_thousand_changes_stay_under_the_cap() -> None:
    plan = big_plan(5000)
    md = plan_markdown(plan)
    assert len(md) <= MAX_CHARS == 65_000
    _well_formed(md)
    note = md[md.index("> [!NOTE]"):]
    shown_full = md.count("<details><summary>")
    shown_brief = len(re.findall(r"^- `[^`]+` `(?:index|policy|bucket)\.", md, re.MULTILINE))
    left_out = 5000 - shown_full - shown_brief
    assert left_out > 0 and shown_full > 0 and shown_brief > 0
    assert f"{left_out:,} of 5,000 changes are not shown" in note
    assert f"{shown_brief:,} are shown without details" in note
    assert "Run `reconciler plan` locally for the full plan." in note
    assert "2500 changes destroy data" in md
    assert "… and 1" in md  # the unmanaged list (2,000 entries) is cut with a count too


@pytest.mark.parametrize("limit", [3_000, 10_000, 30_000])
def test_any_cap_is_respected(limit: int) -> None:
    md = plan_markdown(big_plan(800), max_chars=limit)
    assert len(md) <= limit
    _well_formed(md)
    assert "reconciler plan` locally" in md


def test_one_huge_change_degrades_to_one_line() -> None:
    doc = policy("rag-huge", [f"2100000001/user-{i:05d}" for i in range(5000)], READ)
    plan = Plan(TARGET, (change("policy.rag-huge", Action.CREATE, None, doc, "declared; bucket has no policy"),
                         change("bucket.rag-x", Action.CREATE, None, {"name": "rag-x"}, "declared; does not exist")))
    md = plan_markdown(plan)
    assert len(md) <= MAX_CHARS
    _well_formed(md)
    assert "- `+` `policy.rag-huge` will be created" in md
    assert "2 are shown without details" in md


def test_small_plan_is_not_cut() -> None:
    md = plan_markdown(mixed_plan())
    assert "[!NOTE]" not in md


def test_backticks_in_values_do_not_break_fences_or_tables() -> None:
    doc = {"document": {"Statement": [], "Version": "```x|y"}}
    keys = {"dataType": "float32", "dimension": 8, "distanceMetric": "cosine",
            "nonFilterableMetadataKeys": ["a|b", "c`d"]}
    plan = Plan(TARGET, (change("policy.b1", Action.CREATE, None, doc, "r"),
                         change("index.b1/i1", Action.CREATE, None, keys, "r")))
    md = plan_markdown(plan)
    assert "````diff" in md  # a fence longer than the backticks inside
    row = next(line for line in md.splitlines() if line.startswith("| nonFilterableMetadataKeys"))
    assert row.count(" | ") == 1 and "\\|" in row


def test_drift_markdown() -> None:
    md = drift_markdown(mixed_drift())
    _well_formed(md)
    assert "**Drift: 2 changed, 3 missing, 4 unmanaged.**" in md
    assert "```diff" in md and "- dimension = 768" in md and "+ dimension = 1024" in md
    assert "Not managed by these manifests, for information (not drift) (3)" in md


def test_drift_markdown_in_sync() -> None:
    md = drift_markdown(DriftReport(TARGET, (), ()))
    assert "**No drift. The managed resources match the manifest.**" in md


def test_drift_markdown_cap() -> None:
    report = drift_report(big_plan(5000))
    md = drift_markdown(report)
    assert len(md) <= MAX_CHARS
    _well_formed(md)
    assert "Run `reconciler drift` locally for the full report." in md
    assert "#### Changed" in md and "#### Unmanaged in scope" in md  # every kind keeps a share
    assert md.count("- … and ") == 3  # both kinds and the outside-scope list say what was cut
