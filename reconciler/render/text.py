"""The plan for a terminal: Terraform-like, destroying changes first, ANSI only on request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler.render._common import (
    ACCESS_SAME,
    ACTION_COLOR,
    BOLD,
    FORCES,
    GREEN,
    KEPT,
    LEFT_ALONE,
    PREVENTED,
    PUBLIC,
    PUBLIC_REFUSED,
    RED,
    SYMBOL,
    YELLOW,
    ChangeDict,
    Paint,
    access_lines,
    attr_rows,
    destroy_warning,
    document_diffs,
    headline,
    kept_line,
    ordered,
    partial_warning,
    plan_summary,
    public_warning,
    target_phrase,
    title,
    untrusted,
)
from reconciler.rules.kinds import POLICY

if TYPE_CHECKING:
    from reconciler.plan.model import Plan

_LEGEND = {"create": "create", "update": "update in place", "delete": "delete",
           "replace": "replace (delete, then create)"}
_ROW_SYMBOL = {"add": "+", "del": "-", "chg": "~", "same": " "}
_ROW_COLOR = {"add": GREEN, "del": RED, "chg": YELLOW, "same": ""}


def plan_text(plan: Plan, *, color: bool = False, destroy: bool = False) -> str:
    """The whole plan as terminal text, ending with the `Plan: …` / `No changes.` line;
    a plan made by `destroy` (or `plan --destroy`, or with `destroy`) is titled as such."""
    doc = untrusted(plan.to_dict())
    paint = Paint(color)
    changes: list[ChangeDict] = doc["changes"]
    out = [paint(f"reconciler {title(doc, destroy)} for {target_phrase(doc['target'])}", BOLD), ""]
    partial = partial_warning(doc)
    if partial:
        out += [paint("Warning:", BOLD, YELLOW) + f" {partial}", ""]
    if changes:
        used = {c["action"] for c in changes}
        out += ["Symbols: " + ", ".join(f"{paint(SYMBOL[a], ACTION_COLOR[a])} {text}"
                                         for a, text in _LEGEND.items() if a in used), ""]
        warning = destroy_warning(changes)
        if warning:
            first = "It is" if sum(1 for c in changes if c["destroys_data"]) == 1 else "They are"
            out += [paint("Warning:", BOLD, RED) + f" {warning} {first} listed first.", ""]
        public = public_warning(changes)
        if public:
            out += [paint("Warning:", BOLD, RED) + f" {public}", ""]
        for c in ordered(changes):
            out += change_block(c, paint) + [""]
    out += kept_lines(doc["kept"])
    out += unmanaged_lines(doc["unmanaged"])
    out.append(paint(plan_summary(doc["summary"]), BOLD))
    return "\n".join(out) + "\n"


def change_block(c: ChangeDict, paint: Paint) -> list[str]:
    """Comment lines (what happens, why), the symbol and address, then the difference."""
    head = headline(c).replace("DESTROYED", paint("DESTROYED", BOLD, RED), 1)
    lines = [f"  # {head}"]
    if c["prevent_destroy"]:
        lines.append("  # " + paint(PREVENTED, RED))
    if c.get("public"):
        lines.append("  # " + paint(f"{PUBLIC}: grants anyone (*) access;", BOLD, RED) + f" {PUBLIC_REFUSED}")
    lines.append(f"  # reason: {c['reason']}")
    symbol = SYMBOL[c["action"]]
    shown = f"{paint(symbol, ACTION_COLOR[c['action']], BOLD)} {paint(c['address'], BOLD)}"
    lines.append(" " * (3 - len(symbol)) + shown)
    return lines + body_lines(c, paint, indent=6)


def body_lines(c: ChangeDict, paint: Paint, *, indent: int) -> list[str]:
    """Attribute lines (`~ dimension = 768 → 1024  # forces replacement`) and document diffs."""
    pad = " " * indent
    rows = attr_rows(c)
    width = max((len(r.name) for r in rows), default=0)
    lines = []
    for r in rows:
        shown = f"{r.old()} → {r.new()}" if r.tag == "chg" else (r.old() if r.tag == "del" else r.new())
        line = f"{pad}{paint(_ROW_SYMBOL[r.tag], _ROW_COLOR[r.tag])} {r.name.ljust(width)} = {shown}"
        if r.forced:
            line += "  " + paint(f"# {FORCES}", RED)
        lines.append(line.rstrip())
    for name, diff in document_diffs(c):
        tag = "chg" if c["before"] and c["after"] else ("add" if c["after"] else "del")
        lines.append(f"{pad}{paint(_ROW_SYMBOL[tag], _ROW_COLOR[tag])} {name}:")
        lines += [f"{pad}    {paint.diff_line(d)}" for d in diff]
    return lines + access_block(c, paint, indent=indent)


def access_block(c: ChangeDict, paint: Paint, *, indent: int) -> list[str]:
    """A policy change's access delta: `+ P gains A on R` / `- P loses A on R`, grouped."""
    if c["kind"] != POLICY.name or "access_changes" not in c:
        return []
    pad = " " * indent
    grouped = access_lines(c["access_changes"])
    unknown = str(c.get("access_not_computed") or "")  # a bound was hit: never "unchanged"
    if not grouped:
        return [f"{pad}access: {paint(unknown, YELLOW) if unknown else ACCESS_SAME}"]
    color = {"+": GREEN, "-": RED}
    return [f"{pad}access:" + (f" {paint(unknown, YELLOW)}" if unknown else "")] + [
        f"{pad}  {paint(line.symbol, color[line.symbol], BOLD if line.principal == '*' else '')}"
        f"{line.text()[1:]}" for line in grouped]


def kept_lines(kept: list[dict[str, Any]]) -> list[str]:
    """Buckets of the prune scope that the plan keeps (prune.olderThan), with why."""
    if not kept:
        return []
    return [f"{KEPT.capitalize()} ({len(kept)}):"] + [f"  {kept_line(k)}" for k in kept] + [""]


def unmanaged_lines(addresses: list[Any]) -> list[str]:
    """The brief list of live resources seen but not owned, with a blank line after."""
    if not addresses:
        return []
    return [f"{LEFT_ALONE.capitalize()} ({len(addresses)}):"] + [f"  {a}" for a in addresses] + [""]
