"""The plan's dependency graph as Mermaid (renders in GitHub Markdown) and Graphviz DOT.

One node per change, labelled with its symbol and address; an edge runs from each
dependency to the change that waits for it, so arrows follow the order of execution.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from reconciler.render._common import SYMBOL

if TYPE_CHECKING:
    from reconciler.plan.model import Plan

_STYLE = {  # (mermaid classDef, dot colour)
    "create": ("stroke:#1a7f37,color:#1a7f37", "darkgreen"),
    "update": ("stroke:#9a6700,color:#9a6700", "darkgoldenrod"),
    "replace": ("stroke:#8250df,color:#8250df", "purple"),
    "delete": ("stroke:#cf222e,color:#cf222e", "red3"),
}
_NO_CHANGES = "No changes"


def graph_mermaid(plan: Plan) -> str:
    """A `flowchart LR` with sanitised node ids, coloured by action, destroying ones bold."""
    doc = plan.to_dict()
    taken: set[str] = set()
    ids = _node_ids([c["address"] for c in doc["changes"]], taken)
    out = ["flowchart LR"]
    if not doc["changes"]:
        out.append(f'  empty["{_NO_CHANGES}"]')
    for c in doc["changes"]:
        label = _mermaid_label(SYMBOL[c["action"]] + " " + c["address"])
        out.append(f'  {ids[c["address"]]}["{label}"]:::{c["action"]}')
    for c in doc["changes"]:
        for dep in c["depends_on"]:
            if dep not in ids:  # not in the plan (never made by the planner): show it plainly
                ids[dep] = _node_ids([dep], taken)[dep]
                out.append(f'  {ids[dep]}["{_mermaid_label(dep)}"]')
            out.append(f"  {ids[dep]} --> {ids[c['address']]}")
    used = {c["action"] for c in doc["changes"]}
    out += [f"  classDef {a} {style}" for a, (style, _) in _STYLE.items() if a in used]
    destroying = [ids[c["address"]] for c in doc["changes"] if c["destroys_data"]]
    if destroying:
        out += ["  classDef destroys stroke-width:3px", f"  class {','.join(destroying)} destroys"]
    return "\n".join(out) + "\n"


def graph_dot(plan: Plan) -> str:
    """`digraph plan { … }` with every id quoted; destroying changes drawn bold."""
    doc = plan.to_dict()
    out = ["digraph plan {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
    if not doc["changes"]:
        out.append(f'  "{_NO_CHANGES}" [shape=plaintext];')
    for c in doc["changes"]:
        attrs = [f"label={_dot_quote(SYMBOL[c['action']] + ' ' + c['address'])}",
                 f"color={_STYLE[c['action']][1]}"]
        if c["destroys_data"]:
            attrs.append("style=bold")
        out.append(f"  {_dot_quote(c['address'])} [{', '.join(attrs)}];")
    for c in doc["changes"]:
        out += [f"  {_dot_quote(dep)} -> {_dot_quote(c['address'])};" for dep in c["depends_on"]]
    return "\n".join(out + ["}"]) + "\n"


def _node_ids(addresses: list[str], taken: set[str] | None = None) -> dict[str, str]:
    """Address → a Mermaid-safe id (letters, digits, _), unique even when sanitising collides."""
    taken = set() if taken is None else taken
    ids: dict[str, str] = {}
    for address in addresses:
        base = re.sub(r"[^A-Za-z0-9]", "_", address)
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        ids[address] = candidate
        taken.add(candidate)
    return ids


def _mermaid_label(text: str) -> str:
    return text.replace('"', "#quot;")


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
