"""The plan as a pull-request comment: summary, a loud data-loss warning, collapsed details.

GitHub rejects comments over 65,536 characters; the output never exceeds `max_chars`
(65,000 by default). When the full plan would, change details are shortened to one
line each, then changes are left out, and a note says how many and how to see them all.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from reconciler.render._common import (
    ACCESS_SAME,
    ACTIONS,
    FORCES,
    KEPT,
    LEFT_ALONE,
    PREVENTED,
    PUBLIC,
    PUBLIC_REFUSED,
    SYMBOL,
    ChangeDict,
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

MAX_CHARS = 65_000
_NOTE_RESERVE = 600  # room kept for the truncation note
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")


def plan_markdown(plan: Plan, *, max_chars: int = MAX_CHARS) -> str:
    """Markdown for a PR comment, at most `max_chars` characters long."""
    doc = untrusted(plan.to_dict())
    changes: list[ChangeDict] = ordered(doc["changes"])
    head = [f"### reconciler {title(doc)}", "",
            f"**{plan_summary(doc['summary'])}**", "",
            f"Target: {escape(target_phrase(doc['target']))}", ""]
    partial = partial_warning(doc)
    if partial:
        head += ["> [!WARNING]", f"> {escape(partial)}", ""]
    if changes:
        head += ["| " + " | ".join(f"`{SYMBOL[a]}` {a}" for a in ACTIONS) + " |",
                 "|" + "---:|" * len(ACTIONS),
                 "| " + " | ".join(str(doc["summary"][a]) for a in ACTIONS) + " |", ""]
    budget = max_chars - _NOTE_RESERVE - size(head)
    warning = _warning(changes, budget // 4) + _public_warning(changes, budget // 8)
    unmanaged = address_list(f"{LEFT_ALONE.capitalize()} ({len(doc['unmanaged'])})", doc["unmanaged"], budget // 8)
    unmanaged = kept_list(doc["kept"], budget // 8) + unmanaged
    budget -= size(warning) + size(unmanaged)
    body, shown, brief = _changes(changes, budget)
    out = head + warning + body + unmanaged
    left_out = len(changes) - shown - brief
    if left_out or brief:
        out += truncation_note(len(changes), left_out, brief, max_chars, "changes", "reconciler plan", "plan")
    return finish(out)


def _warning(changes: list[ChangeDict], cap: int) -> list[str]:
    text = destroy_warning(changes)
    if not text:
        return []
    first = "It is" if sum(1 for c in changes if c["destroys_data"]) == 1 else "They are"
    lines = ["> [!CAUTION]", f"> **{escape(text)}** {first} listed first.", ">"]
    items = [f"> - {inline(c)}" for c in changes if c["destroys_data"]]
    kept, rest = fit(items, cap - size(lines) - 80)
    lines += kept
    if rest:
        lines.append(f"> - … and {rest} more")
    return lines + [""]


def _public_warning(changes: list[ChangeDict], cap: int) -> list[str]:
    text = public_warning(changes)
    if not text:
        return []
    lines = ["> [!CAUTION]", f"> **{escape(text)}**", ">"]
    kept, rest = fit([f"> - {inline(c)}" for c in changes if c.get("public")], cap - size(lines) - 80)
    return lines + kept + ([f"> - … and {rest} more"] if rest else []) + [""]


def _changes(changes: list[ChangeDict], budget: int) -> tuple[list[str], int, int]:
    """Every change with details if all fit; else details for half the room, then one
    line per change while they fit, so that a reviewer sees as many as possible.
    Returns (lines, shown with details, shown as one line)."""
    if not changes:
        return [], 0, 0
    out = [f"#### Changes ({len(changes)})", ""]
    room = budget - size(out)
    blocks: list[list[str]] = []
    used = 0
    for c in changes:  # sections are built only until they stop fitting
        blocks.append(section(c))
        used += size(blocks[-1])
        if used > room:
            break
    else:
        return out + [line for b in blocks for line in b], len(blocks), 0
    detail_room, full = room // 2, 0
    for block in blocks:
        if size(block) > detail_room:
            break
        out += block
        detail_room -= size(block)
        room -= size(block)
        full += 1
    lines, _ = fit([f"- {inline(c)}" for c in changes[full:]], room - 1)
    if lines:
        out += lines + [""]
    return out, full, len(lines)


def section(c: ChangeDict) -> list[str]:
    """One change in a collapsed <details> block: reason, attributes table, document diff."""
    summary = f"<code>{SYMBOL[c['action']]} {html.escape(c['address'])}</code> "
    summary += html.escape(headline(c).removeprefix(c["address"]).strip())
    if c["prevent_destroy"]:
        summary += " <b>(preventDestroy: will be refused)</b>"
    if c.get("public"):
        summary += f" <b>({PUBLIC.lower()})</b>"
    lines = [f"<details><summary>{summary}</summary>", "", f"**Reason:** {escape(c['reason'])}", ""]
    if c["prevent_destroy"]:
        lines += [f"**{escape(PREVENTED)}**", ""]
    if c.get("public"):
        lines += [f"**{PUBLIC}: grants anyone (`*`) access; {escape(PUBLIC_REFUSED)}.**", ""]
    rows = attr_rows(c)
    if rows and c["before"] is not None and c["after"] is not None:
        lines += ["| attribute | live | manifest | |", "|---|---|---|---|"]
        lines += [f"| {r.name} | {code(r.old())} | {code(r.new())} | {('**' + FORCES + '**') if r.forced else ''} |"
                  for r in rows]
        lines.append("")
    elif rows:
        lines += ["| attribute | value |", "|---|---|"]
        lines += [f"| {r.name} | {code(r.new() if r.tag == 'add' else r.old())} |" for r in rows]
        lines.append("")
    for name, diff in document_diffs(c):
        lines += [f"{code(name)}:", ""] + fenced("diff", diff) + [""]
    return lines + access_table(c) + ["</details>", ""]


def access_table(c: ChangeDict) -> list[str]:
    """A policy change's access delta as a table: who gains or loses which actions, where."""
    if c["kind"] != POLICY.name or "access_changes" not in c:
        return []
    grouped = access_lines(c["access_changes"])
    unknown = str(c.get("access_not_computed") or "")  # a bound was hit: never "unchanged"
    if not grouped:
        return [f"**Access:** {escape(unknown or ACCESS_SAME)}", ""]
    lines = [f"**Access:**{' ' + escape(unknown) if unknown else ''}", "", "| | principal | access | on |",
             "|---|---|---|---|"]
    for g in grouped:
        who = "`*` (anyone)" if g.principal == "*" else code(g.who)
        what = f"{g.verb} " + ", ".join(code(a) for a in g.actions) + escape(g.note)
        where = ", ".join(r if r == "any other index" else code(r) for r in g.resources)
        lines.append(f"| `{g.symbol}` | {who} | {what} | {where} |")
    return lines + [""]


def inline(c: ChangeDict) -> str:
    """One line: `-/+` `index.b/i` will be **DESTROYED** and re-created (…)."""
    rest = escape(headline(c).removeprefix(c["address"]).strip()).replace("DESTROYED", "**DESTROYED**")
    text = f"`{SYMBOL[c['action']]}` {code(c['address'])} {rest}"
    text += " — **preventDestroy: will be refused**" if c["prevent_destroy"] else ""
    return text + (f" — **{PUBLIC.lower()}**" if c.get("public") else "")


# --- helpers shared with the drift renderer ----------------------------------------------------


def finish(lines: list[str]) -> str:
    """Join, with runs of blank lines squeezed to one (no fence we emit holds blank lines)."""
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


def escape(text: str) -> str:
    """Free text (reasons, details) made inert: `rag-*` must not start emphasis."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def code(text: str) -> str:
    """An inline code span that survives backticks and table pipes in the value: its fence
    is longer than any run of backticks inside (CommonMark closes a span at the first run
    of the same length, so a name holding `` would end a `` span and go on as markup)."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if longest else ""
    return f"{ticks}{pad}{text}{pad}{ticks}".replace("|", "\\|")


def fenced(lang: str, lines: list[str]) -> list[str]:
    """A code fence longer than any backtick run inside it."""
    longest = max((len(m) for line in lines for m in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + lang, *lines, fence]


def size(lines: list[str]) -> int:
    """Characters these lines take once joined with newlines (one per line)."""
    return sum(len(line) + 1 for line in lines)


def fit(items: list[str], budget: int) -> tuple[list[str], int]:
    """The leading items whose lines fit in `budget`; and how many did not."""
    kept: list[str] = []
    used = 0
    for item in items:
        if used + len(item) + 1 > budget:
            break
        kept.append(item)
        used += len(item) + 1
    return kept, len(items) - len(kept)


def kept_list(kept: list[dict[str, str]], cap: int) -> list[str]:
    """The buckets of the prune scope that the plan keeps, with why, cut to `cap` characters."""
    if not kept:
        return []
    lines = [f"#### {escape(KEPT.capitalize())} ({len(kept)})", ""]
    items = [f"- {code(k['address'])}: {escape(kept_line(k).removeprefix(k['address'] + ': '))}" for k in kept]
    shown, rest = fit(items, cap - size(lines) - 40)
    return lines + shown + ([f"- … and {rest} more"] if rest else []) + [""]


def address_list(title: str, addresses: list[str], cap: int) -> list[str]:
    """A titled bullet list of addresses, cut to `cap` characters with a count of the rest."""
    if not addresses:
        return []
    lines = [f"#### {escape(title)}", ""]
    kept, rest = fit([f"- {code(a)}" for a in addresses], cap - size(lines) - 40)
    lines += kept + ([f"- … and {rest} more"] if rest else [])
    return lines + [""]


def truncation_note(total: int, left_out: int, brief: int, max_chars: int, what: str, command: str,
                    whole: str) -> list[str]:
    """Says what was cut to fit the comment and how to see everything."""
    parts = []
    if left_out:
        parts.append(f"{left_out:,} of {total:,} {what} {'is' if left_out == 1 else 'are'} not shown")
    if brief:
        parts.append(f"{brief:,} {'is' if brief == 1 else 'are'} shown without details")
    note = (f"> This comment is cut to stay under {max_chars:,} characters: {', and '.join(parts)}. "
            f"Run `{command}` locally for the full {whole}.")
    return ["> [!NOTE]", note, ""]
