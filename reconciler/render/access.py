"""`reconciler access`: who may do what on each declared bucket and index, as terminal
text (one matrix of actions x principals per resource) or JSON. Pure functions of the
matrices that `access.access_matrix` computes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from reconciler.render._common import BOLD, GREEN, RED, YELLOW, Paint
from reconciler.rules.access import (
    BucketAccess,
    ResourceAccess,
    Verdict,
    principal_label,
    printable,
    resource_label,
)

# "MAJOR.MINOR", as every JSON output of reconciler (plan, drift, output); 2.0 since it was the
# integer 1, which a reader comparing with 1 must notice.
FORMAT_VERSION = "2.0"
_CELL = {Verdict.ALLOW: "allow", Verdict.DENY: "deny", Verdict.CONDITIONAL: "conditional", Verdict.NOT_GRANTED: "-"}
_COLOR = {Verdict.ALLOW: GREEN, Verdict.DENY: RED, Verdict.CONDITIONAL: YELLOW, Verdict.NOT_GRANTED: ""}
LEGEND = ("allow: allowed; deny: denied by a Deny statement; conditional: allowed only under a Condition; "
          "-: not granted.")


def _who(principal: str) -> str:
    return principal_label(principal)


def access_text(buckets: Sequence[BucketAccess], account: str, region: str, *, color: bool = False) -> str:
    paint = Paint(color)
    out = [paint(f"reconciler access for account {account} in {region}, from the declared policies "
                 "(no API call)", BOLD), ""]
    for b in buckets:
        if not b.policy_declared:
            out += [paint(f"bucket {printable(b.name)}", BOLD)
                    + ": no policy declared; the bucket policy grants nothing", ""]
            continue
        out.append(paint(f"bucket {printable(b.name)}", BOLD))
        principals = list(b.resources[0].decisions) if b.resources else []
        widths = [max(len(_who(p)), len("conditional")) for p in principals]
        first = max(max(len(resource_label(r.resource)), 2 + max(len(a) - len("tosvectors:") for a in r.actions))
                    for r in b.resources)
        for r in b.resources:
            head = "  ".join(_who(p).ljust(w) for p, w in zip(principals, widths, strict=True))
            out.append(f"  {paint(resource_label(r.resource).ljust(first), BOLD)}  {head}".rstrip())
            for action in r.actions:
                cells = []
                for p, w in zip(principals, widths, strict=True):
                    verdict = r.decisions[p][action].verdict
                    cells.append(paint(_CELL[verdict], _COLOR[verdict]) + " " * (w - len(_CELL[verdict])))
                name = "  " + action.split(":", 1)[1]
                out.append(f"  {name.ljust(first)}  {'  '.join(cells)}".rstrip())
        out.append("")
    out.append(LEGEND)
    return "\n".join(out) + "\n"


def access_json(buckets: Sequence[BucketAccess], account: str, region: str) -> str:
    def resource(r: ResourceAccess) -> dict[str, Any]:
        return {"resource": r.resource, "label": resource_label(r.resource), "access": [
            {"principal": p, "action": a, "verdict": d.verdict.value, "statement": d.statement, "sid": d.sid}
            for p, by_action in r.decisions.items() for a, d in by_action.items()]}

    doc = {"format_version": FORMAT_VERSION, "account": account, "region": region,
           "buckets": [{"name": b.name, "policy_declared": b.policy_declared,
                        "resources": [resource(r) for r in b.resources]} for b in buckets]}
    return json.dumps(doc, indent=2) + "\n"
