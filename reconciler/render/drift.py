"""Drift reports as terminal text and as Markdown, from the report's JSON form."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler.plan.drift import STATUSES
from reconciler.render._common import BOLD, GREEN, RED, YELLOW, Paint, diff_view, target_phrase, untrusted
from reconciler.render.markdown import (
    MAX_CHARS,
    access_table,
    address_list,
    code,
    escape,
    fenced,
    finish,
    fit,
    kept_list,
    size,
    truncation_note,
)
from reconciler.render.text import body_lines, kept_lines
from reconciler.rules.kinds import KINDS, parse_address

if TYPE_CHECKING:
    from reconciler.plan.drift import DriftReport

_TITLE = {
    "changed": "Changed: managed, and different from the manifest",
    "missing": "Missing: declared in the manifest, but not found",
    "unmanaged": "Unmanaged in scope: inside the prune scope, but not declared",
}
_SYMBOL = {"changed": "~", "missing": "+", "unmanaged": "-"}
_COLOR = {"changed": YELLOW, "missing": GREEN, "unmanaged": RED}
OUTSIDE = "Not managed by these manifests, for information (not drift)"
IN_SYNC = "No drift. The managed resources match the manifest."


def drift_summary(summary: dict[str, int]) -> str:
    """The closing line: `Drift: N changed, N missing, N unmanaged.` or `No drift. …`."""
    if not any(summary.get(k, 0) for k in STATUSES):
        return IN_SYNC
    return "Drift: {changed} changed, {missing} missing, {unmanaged} unmanaged.".format(**summary)


def drift_text(report: DriftReport, *, color: bool = False) -> str:
    """The three statuses of drift, the difference for changed resources, then the verdict."""
    doc = untrusted(report.to_dict())
    paint = Paint(color)
    out = [paint(f"reconciler drift for {target_phrase(doc['target'])}", BOLD), ""]
    for status in STATUSES:
        items = [i for i in doc["items"] if i["kind"] == status]
        if not items:
            continue
        out.append(f"{_TITLE[status]} ({len(items)}):")
        for item in items:
            out.append(f"  {paint(_SYMBOL[status], _COLOR[status], BOLD)} {paint(item['address'], BOLD)}: "
                       f"{item['detail']}")
            if status == "changed":
                out += body_lines(_as_change(item), paint, indent=6)
        out.append("")
    out += kept_lines(doc["kept"])
    if doc["outside_scope"]:
        out += [f"{OUTSIDE} ({len(doc['outside_scope'])}):"] + [f"  {a}" for a in doc["outside_scope"]] + [""]
    out.append(paint(drift_summary(doc["summary"]), BOLD))
    return "\n".join(out) + "\n"


def drift_markdown(report: DriftReport, *, max_chars: int = MAX_CHARS) -> str:
    """Markdown for a PR or issue comment, at most `max_chars` characters long.

    Every drifted resource gets a line while they fit (each status its share of the room);
    the differences of changed ones are added, collapsed, with the room left over."""
    doc = untrusted(report.to_dict())
    out = ["### reconciler drift", "", f"**{escape(drift_summary(doc['summary']))}**", "",
           f"Target: {escape(target_phrase(doc['target']))}", ""]
    outside = address_list(f"{OUTSIDE} ({len(doc['outside_scope'])})", doc["outside_scope"], max_chars // 8)
    outside = kept_list(doc["kept"], max_chars // 8) + outside
    room = max_chars - 600 - size(out) - size(outside)
    groups = [(k, [i for i in doc["items"] if i["kind"] == k]) for k in STATUSES]
    groups = [(k, items) for k, items in groups if items]
    heads = {k: [f"#### {escape(_TITLE[k])} ({len(items)})", ""] for k, items in groups}
    lines = {k: [_md_line(k, i) for i in items] for k, items in groups}
    needed = sum(size(heads[k]) + size(lines[k]) + 1 for k, _ in groups)
    shown = 0
    if needed <= room:
        spare = room - needed
        for k, items in groups:
            out += heads[k]
            for item, line in zip(items, lines[k], strict=True):
                out.append(line)
                extra = _md_difference(item) if k == "changed" else []
                if extra and size(extra) <= spare:
                    out += extra
                    spare -= size(extra)
            out.append("")
        shown = len(doc["items"])
    else:
        for n, (k, _) in enumerate(groups):
            share = room // (len(groups) - n)
            kept, rest = fit(lines[k], share - size(heads[k]) - 40)
            block = heads[k] + kept + ([f"- … and {rest:,} more"] if rest else []) + [""]
            out += block
            room -= size(block)
            shown += len(kept)
    out += outside
    if shown < len(doc["items"]):
        out += truncation_note(len(doc["items"]), len(doc["items"]) - shown, 0, max_chars,
                               "drifted resources", "reconciler drift", "report")
    return finish(out)


def _md_line(status: str, item: dict[str, Any]) -> str:
    return f"- `{_SYMBOL[status]}` {code(item['address'])}: {escape(item['detail'])}"


def _md_difference(item: dict[str, Any]) -> list[str]:
    """The difference of a changed resource as a collapsed diff, indented under its line."""
    change = _as_change(item)
    return ["", "  <details><summary>difference (live → manifest)</summary>", "",
            *("  " + d for d in fenced("diff", diff_view(change))), "",
            *("  " + line if line else "" for line in access_table(change)), "  </details>", ""]


def _as_change(item: dict[str, Any]) -> dict[str, Any]:
    """A drift item in the shape the change-body renderer reads; the attributes that force
    a replacement are those the kind's description says so of."""
    kind = parse_address(item["address"])[0]
    before, after = item["before"] or {}, item["after"] or {}
    fixed = KINDS[kind].forces_replacement
    forced = [k for k in after if k in fixed and before.get(k) != after.get(k)]
    out = {"kind": kind, "before": item["before"], "after": item["after"], "forces_replacement": forced}
    if "access_changes" in item:
        out["access_changes"] = item["access_changes"]
    if "access_not_computed" in item:
        out["access_not_computed"] = item["access_not_computed"]
    return out

