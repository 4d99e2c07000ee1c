"""What every renderer shares: wording, ordering, attribute rows, document diffs, ANSI.

The plan renderers read the plan's JSON form (`Plan.to_dict()`, described by
schemas/plan.schema.json) and nothing else, as Terraform's human renderer reads its
JSON plan: what a person is shown is exactly what a saved plan holds.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from reconciler.rules.access import principal_label, resource_label
from reconciler.rules.kinds import BUCKET, KINDS
from reconciler.util.text import printable, printable_in, printable_json

ChangeDict = dict[str, Any]

ACTIONS = ("create", "update", "replace", "delete")
SYMBOL = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}
NO_CHANGES = "No changes. The live state matches the manifest."
LEFT_ALONE = "not managed by these manifests, left alone"
KEPT = "kept in the prune scope"
PREVENTED = "preventDestroy is set: this change will be refused, even with --allow-destroy"
FORCES = "forces replacement"

_PAST = {"create": "created", "update": "updated in place", "replace": "replaced (deleted, then created)",
         "delete": "deleted"}
_HOLDS = {True: "its vectors are lost: it holds vectors", False: "it holds no vectors",
          None: "any vectors in it are lost: whether it holds any is unknown"}


def target_phrase(target: dict[str, Any]) -> str:
    """'account 2100000000 in cn-beijing at https://…' (or the embedded emulator)."""
    where = target["endpoint"]
    if target.get("embedded"):
        where = "the embedded emulator (" + where.removeprefix("embedded:") + ")"
    return f"account {target['account_id']} in {target['region']} at {where}"


def title(doc: dict[str, Any], destroy: bool = False) -> str:
    """`plan` or `destroy plan`: what the plan was made for (`plan --destroy`, `destroy`)."""
    return "destroy plan" if destroy or doc.get("destroy") else "plan"


def partial_warning(doc: dict[str, Any]) -> str:
    """Terraform's "Resource targeting is in effect" for a plan limited by --target; empty
    for a full plan."""
    targets = doc.get("targets") or []
    if not targets:
        return ""
    shown = ", ".join(targets[:10]) + (f" and {len(targets) - 10} more" if len(targets) > 10 else "")
    needs = "what it needs" if len(targets) == 1 else "what they need"
    return (f"Resource targeting is in effect: this plan is partial, limited to --target {shown} and {needs}. "
            "It may not hold every change the manifests call for, nor name every live bucket they do not "
            "manage; run plan without --target to see them all.")


def kept_line(k: dict[str, Any]) -> str:
    return f"{k['address']}: {k['reason']}"


def untrusted(doc: dict[str, Any]) -> dict[str, Any]:
    """A plan's or drift report's JSON form with its text made safe for a terminal
    (`text.printable`): a plan file passes through other hands. Attribute values and
    documents (`before`, `after`) are shown as JSON, escaped there (`value`, `_pretty`)."""
    safe: dict[str, Any] = printable_in(doc, keep=frozenset({"before", "after"}))
    return safe


def ordered(changes: list[ChangeDict]) -> list[ChangeDict]:
    """Destroying and public changes first, as they are what a reviewer must see; plan order within."""
    first = [c for c in changes if c["destroys_data"] or c.get("public")]
    return first + [c for c in changes if not (c["destroys_data"] or c.get("public"))]


def plan_summary(counts: dict[str, int]) -> str:
    """The closing line: `Plan: N to create, …` or `No changes. …`."""
    if not any(counts.get(a, 0) for a in ACTIONS):
        return NO_CHANGES
    return "Plan: {create} to create, {update} to update, {replace} to replace, {delete} to delete.".format(
        **{a: counts.get(a, 0) for a in ACTIONS})


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def headline(c: ChangeDict) -> str:
    """'index.b/i will be DESTROYED and re-created (its vectors are lost: it holds vectors)'."""
    if not c["destroys_data"]:
        return f"{c['address']} will be {_PAST[c['action']]}"
    verb = "DESTROYED and re-created" if c["action"] == "replace" else "DESTROYED"
    return f"{c['address']} will be {verb}{data_note(c)}"


def data_note(c: ChangeDict) -> str:
    """What a destroying index change loses, with the ListVectors probe's answer."""
    probed = KINDS.get(c["kind"])
    if not (probed and probed.probe_vectors) and c["holds_vectors"] is None:
        return ""
    return f" ({_HOLDS[c['holds_vectors']]})"


def destroy_warning(changes: list[ChangeDict]) -> str:
    """One sentence on the destroying changes of a plan; empty when there are none."""
    destroying = [c for c in changes if c["destroys_data"]]
    if not destroying:
        return ""
    text = f"{plural(len(destroying), 'change')} destroy{'s' if len(destroying) == 1 else ''} data"
    prevented = sum(1 for c in destroying if c["prevent_destroy"])
    if prevented:
        text += f"; {prevented} of them {'has' if prevented == 1 else 'have'} preventDestroy and will be refused"
    return text + "."


PUBLIC = "PUBLIC ACCESS"
PUBLIC_REFUSED = "apply refuses it without --allow-public-access or allowPublicAccess: true on the bucket"
ACCESS_SAME = "unchanged: both documents allow and deny the same"


def public_warning(changes: list[ChangeDict]) -> str:
    """One sentence on the changes that grant anyone access; empty when there are none."""
    public = [c for c in changes if c.get("public")]
    if not public:
        return ""
    one = len(public) == 1
    return (f"{plural(len(public), 'change')} grant{'s' if one else ''} access to anyone (\"*\"): "
            f"apply refuses {'it' if one else 'them'} without --allow-public-access or "
            f"allowPublicAccess: true on the bucket. {'It is' if one else 'They are'} listed first.")


@dataclass(frozen=True)
class AccessLine:
    """Access changes that share a principal, a direction and a condition, grouped: the
    actions gained or lost, and the resources (labels) they are gained or lost on."""

    principal: str
    change: str  # "grant" | "revoke"
    conditional: bool
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    @property
    def symbol(self) -> str:
        return "+" if self.change == "grant" else "-"

    @property
    def who(self) -> str:
        return principal_label(self.principal)

    @property
    def verb(self) -> str:
        return "gains" if self.change == "grant" else "loses"

    @property
    def note(self) -> str:
        if not self.conditional:
            return ""
        return " (only under a Condition)" if self.change == "grant" else " (keeps it under a Condition)"

    def text(self) -> str:
        """`+ 2100000001/ci-bot gains tosvectors:PutVectors on index/docs-v1`."""
        what = f"{', '.join(self.actions)} on {', '.join(self.resources)}"
        return f"{self.symbol} {self.who} {self.verb} {what}{self.note}"


def access_lines(access: list[dict[str, Any]]) -> list[AccessLine]:
    """Group a change's access delta: first the actions of each (principal, direction,
    resource), then the resources that share the same actions. Keeps the delta's order."""
    per_resource: dict[tuple[str, str, bool, str], list[str]] = {}
    for a in access:
        key = (a["principal"], a["change"], bool(a.get("conditional")), resource_label(a["resource"]))
        per_resource.setdefault(key, []).append(a["action"])
    merged: dict[tuple[str, str, bool, tuple[str, ...]], list[str]] = {}
    for (principal, change, conditional, resource), actions in per_resource.items():
        merged.setdefault((principal, change, conditional, tuple(actions)), []).append(resource)
    return [AccessLine(p, ch, cond, actions, tuple(resources)) for (p, ch, cond, actions), resources in merged.items()]


# --- the difference inside one change --------------------------------------------------------

_ABSENT: Any = object()


@dataclass(frozen=True)
class AttrRow:
    """One scalar attribute of a change: its live and desired value (`_ABSENT` when none)."""

    name: str
    before: Any
    after: Any
    forced: bool = False

    @property
    def tag(self) -> str:
        if self.before is _ABSENT:
            return "add"
        if self.after is _ABSENT:
            return "del"
        return "same" if self.before == self.after else "chg"

    def old(self) -> str:
        return value(self.before)

    def new(self) -> str:
        return value(self.after)


def value(v: Any) -> str:
    """An attribute value as people read it: JSON for strings and lists, '(none)' when absent."""
    if v is _ABSENT or v is None:
        return "(none)"
    return printable_json(json.dumps(v, ensure_ascii=False))


def attr_rows(c: ChangeDict) -> list[AttrRow]:
    """Scalar attributes (not documents) worth showing; a bucket's only one is its name."""
    if c["kind"] == BUCKET.name:
        return []
    before, after = c["before"] or {}, c["after"] or {}
    names = list(dict.fromkeys([*after, *before]))
    forced = set(c["forces_replacement"])
    return [AttrRow(printable(n), before.get(n, _ABSENT), after.get(n, _ABSENT), n in forced)
            for n in names if not isinstance(before.get(n, after.get(n)), dict)]


def document_diffs(c: ChangeDict) -> list[tuple[str, list[str]]]:
    """(attribute, unified-diff lines) for each document-valued attribute (a policy).

    Documents are pretty-printed with sorted keys so that the diff shows meaning, not
    formatting; a created or deleted document is shown whole, every line + or -."""
    before, after = c["before"] or {}, c["after"] or {}
    out = []
    for name in dict.fromkeys([*after, *before]):
        old, new = before.get(name), after.get(name)
        if not isinstance(old if old is not None else new, dict):
            continue
        old_lines = _pretty(old) if old is not None else []
        new_lines = _pretty(new) if new is not None else []
        if old_lines and new_lines:
            lines = list(difflib.unified_diff(old_lines, new_lines, "live", "manifest", lineterm=""))
        else:
            lines = [("+" if new_lines else "-") + line for line in new_lines or old_lines]
        out.append((printable(name), lines))
    return out


def diff_view(c: ChangeDict) -> list[str]:
    """The whole difference as diff lines (`- dimension = 768`, `+ dimension = 1024`),
    for ```diff blocks where only a leading + or - is coloured."""
    lines = []
    for r in attr_rows(c):
        note = f"  # {FORCES}" if r.forced else ""
        if r.tag in ("del", "chg"):
            lines.append(f"- {r.name} = {r.old()}")
        if r.tag in ("add", "chg"):
            lines.append(f"+ {r.name} = {r.new()}{note}")
        if r.tag == "same":
            lines.append(f"  {r.name} = {r.old()}")
    for _, diff in document_diffs(c):
        lines += diff
    return lines


def _pretty(doc: Any) -> list[str]:
    return printable_json(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False)).splitlines()


# --- ANSI --------------------------------------------------------------------------------------

BOLD, DIM, RED, GREEN, YELLOW, MAGENTA, CYAN = "1", "2", "31", "32", "33", "35", "36"
ACTION_COLOR = {"create": GREEN, "update": YELLOW, "replace": MAGENTA, "delete": RED}


class Paint:
    """Wraps text in ANSI codes when enabled; a no-op otherwise (no escape ever leaks)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *codes: str) -> str:
        codes = tuple(c for c in codes if c)
        if not self.enabled or not text or not codes:
            return text
        return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"

    def diff_line(self, line: str) -> str:
        """Colour one unified-diff line by its first character."""
        if line.startswith(("---", "+++")):
            return self(line, BOLD)
        if line.startswith("@@"):
            return self(line, CYAN)
        if line.startswith("+"):
            return self(line, GREEN)
        if line.startswith("-"):
            return self(line, RED)
        return line
