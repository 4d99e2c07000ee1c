"""Issue 19: the import circle rules/policy.py <-> rules/access.py is gone. The evaluator
(access) imports no lint (policy), at any level, so no import can be dodging a circle. The
lint imports the evaluator in one place, where a document has a Deny to weigh: `validate`
of a policy without one never loads it (issue 18, start-up)."""

from __future__ import annotations

import ast
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "reconciler" / "rules"


def _imports(module: str) -> list[tuple[str, bool]]:
    """(imported module, at module level?) for each import of reconciler/rules/MODULE.py."""
    tree = ast.parse((RULES / f"{module}.py").read_text())
    top = {id(node) for node in tree.body}
    return [(node.module or "", id(node) in top) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("reconciler")]


def test_the_evaluator_does_not_import_the_lint() -> None:
    assert all(not m.startswith("reconciler.rules.policy") for m, _ in _imports("access"))


def test_the_lint_imports_the_evaluator_only_to_weigh_a_deny() -> None:
    found = _imports("policy")
    assert [(m, top) for m, top in found if not top] == [("reconciler.rules.access", False)]
    assert all(m == "reconciler.rules.access" or top for m, top in found)


def test_actions_are_one_tuple() -> None:
    from reconciler.rules import access, policy

    assert policy.ACTIONS is access.ACTIONS and len(access.ACTIONS) == 16
