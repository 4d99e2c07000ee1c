"""The layout's import rules: each package imports only the packages below it.

Read from the source (every import statement, also those inside functions and under
TYPE_CHECKING, which importing a module would not run), so an upward arrow cannot hide
in a lazy import. The rules are those the package docstrings state.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "reconciler"

BASE = {"errors", "util"}
# package (or top-level module) -> the reconciler packages it may import, besides itself
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "util": {"errors"},
    "rules": {"util"},
    "manifest": {"rules"} | BASE,
    "client": {"rules"} | BASE,
    "emulator": {"rules"} | BASE,
    "state": {"client", "manifest", "rules"} | BASE,
    "plan": {"state", "manifest", "rules"} | BASE,
    "apply": {"plan", "client", "rules"} | BASE,
    "render": {"plan", "apply", "state", "rules"} | BASE,
    "engine": {"apply", "plan", "state", "manifest", "client", "rules"} | BASE,
    "cli": {"engine", "render", "apply", "plan", "state", "manifest", "client", "emulator", "rules"} | BASE,
    "watch": {"engine", "apply", "plan", "state", "manifest", "client", "rules"} | BASE,
    "__main__": {"cli"},
}
# modules held to less than their package: what the pure core may not reach
NARROWER: dict[str, set[str]] = {
    "state/model.py": {"rules"} | BASE,
    "apply/result.py": {"plan"},
    "plan/model.py": {"rules"} | BASE,
    "plan/build.py": {"state", "manifest", "rules"} | BASE,
}
ROOMS = sorted(ALLOWED)


def room_of(source: Path, root: Path = ROOT) -> str:
    rel = source.relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imported_rooms(source: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, package) for every reconciler package `source` imports, itself excepted."""
    found = []
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from reconciler import x` names the package x
            names = [f"reconciler.{a.name}" for a in node.names] if node.module == "reconciler" else [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "reconciler" and len(parts) > 1 and parts[1] != "__version__":
                found.append((node.lineno, parts[1]))
    return sorted((line, room) for line, room in found if room != room_of(source, root))


def violations(source: Path, root: Path = ROOT) -> list[str]:
    rel = source.relative_to(root).as_posix()
    allowed = NARROWER.get(rel, ALLOWED.get(room_of(source, root), set()))
    return [f"reconciler/{rel}:{line} imports reconciler.{room}"
            for line, room in imported_rooms(source, root) if room not in allowed]


SOURCES = sorted(p for p in ROOT.rglob("*.py") if p.name != "__init__.py" or p.parent != ROOT)


def test_every_module_lives_in_a_known_package() -> None:
    assert sorted({room_of(p) for p in SOURCES}) == ROOMS


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_imports_follow_the_layout(source: Path) -> None:
    assert violations(source) == []


def test_nothing_below_the_command_layer_imports_it() -> None:
    assert [room for room, allowed in ALLOWED.items() if "cli" in allowed] == ["__main__"]


def test_the_check_sees_an_upward_import_even_a_lazy_one(tmp_path: Path) -> None:
    fake = tmp_path / "reconciler"
    (fake / "plan").mkdir(parents=True)
    module = fake / "plan" / "model.py"
    module.write_text("from reconciler.rules.kinds import KINDS\n"
                      "def f():\n    from reconciler.client import VectorsClient\n"
                      "from reconciler import engine\n")
    assert violations(module, fake) == ["reconciler/plan/model.py:3 imports reconciler.client",
                                  "reconciler/plan/model.py:4 imports reconciler.engine"]


def test_every_package_says_what_it_owns_and_may_import() -> None:
    for package in sorted(p.parent for p in ROOT.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8"))) or ""
        assert "Owns:" in doc and "May import:" in doc, package
