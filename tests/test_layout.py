"""The layout's import rules: each package imports only the packages below it, and no
two modules of a package import each other, directly or round a longer circle.

Read from the source (every import statement, also those inside functions and under
TYPE_CHECKING, which importing a module would not run), so an upward arrow or a circle
cannot hide in a lazy import. The rules are those the package docstrings state. Above the package, the top level of the
repository is fixed too.
"""

from __future__ import annotations

import ast
import subprocess
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
    "cli": {"engine", "watch", "render", "apply", "plan", "state", "manifest", "client", "emulator", "rules"} | BASE,
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


# --- circles inside a package --------------------------------------------------------------------

# No circle inside a package is allowed (issue 19 removed the last three); the list stays empty.
ALLOWED_CIRCLES: list[tuple[str, ...]] = []


def _module_file(dotted: str, root: Path) -> str | None:
    """`reconciler.a.b` as the file that defines it, relative to `root` (None: not a module)."""
    parts = dotted.split(".")[1:]
    if not parts:
        return None
    base = root.joinpath(*parts)
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py").relative_to(root).as_posix()
    if (base / "__init__.py").is_file():
        return (base / "__init__.py").relative_to(root).as_posix()
    return None


def imported_modules(source: Path, root: Path = ROOT) -> set[str]:
    """The reconciler modules `source` imports (module-level or lazy), as files under `root`:
    `from reconciler.a import b` names the module a/b.py when there is one, else a/__init__.py."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            module = node.module
            if node.level:  # relative: from the package that holds `source`
                package = source.relative_to(root.parent).with_suffix("").parts[:-1]
                module = ".".join([*package[:len(package) - node.level + 1], node.module])
            names = [f"{module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if not name.startswith("reconciler."):
                continue
            target = None
            while target is None and "." in name:
                target = _module_file(name, root)
                name = name.rpartition(".")[0]
            if target is not None:
                found.add(target)
    found.discard(source.relative_to(root).as_posix())
    return found


def circles(root: Path = ROOT) -> list[tuple[str, ...]]:
    """Each set of modules of one package that import one another round a circle, sorted."""
    edges: dict[str, set[str]] = {}
    for source in sorted(root.rglob("*.py")):
        rel = source.relative_to(root).as_posix()
        package = rel.rpartition("/")[0]
        if package:  # a top-level module has no package to be circular inside
            edges[rel] = {m for m in imported_modules(source, root) if m.rpartition("/")[0] == package}
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[tuple[str, ...]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(tuple(sorted(component)))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found)


def test_no_import_circles_inside_a_package() -> None:
    found = circles()
    assert [c for c in found if c not in ALLOWED_CIRCLES] == []
    # an allowed circle that is gone comes off the list, so that it cannot come back unseen
    assert [c for c in ALLOWED_CIRCLES if c not in found] == []


def test_the_circle_check_sees_a_circle_even_through_a_lazy_import(tmp_path: Path) -> None:
    fake = tmp_path / "reconciler"
    (fake / "cli").mkdir(parents=True)
    (fake / "cli" / "__init__.py").write_text("")
    (fake / "cli" / "parser.py").write_text("def main():\n    from reconciler.cli import commands\n")
    (fake / "cli" / "commands.py").write_text("from reconciler.cli.output import say\n")
    (fake / "cli" / "output.py").write_text("from reconciler.cli.parser import LOST\n")
    (fake / "cli" / "flags.py").write_text("from reconciler.cli import output\n")  # into the circle, not round it
    (fake / "engine.py").write_text("import reconciler.cli.flags\n")
    assert circles(fake) == [("cli/commands.py", "cli/output.py", "cli/parser.py")]
    (fake / "cli" / "output.py").write_text("LOST = []\n")  # what both need, in a module of its own
    assert circles(fake) == []


# The top level is fixed; besides it, only what a tool requires at the root: CI's entry
# point, git's ignore list and the hook manifest pre-commit reads from a repository's root.
TOP_LEVEL = {"pyproject.toml", "reconciler", "schemas", "examples", "tests", "README.md"}
TOOLS_AT_THE_ROOT = {".ci", ".gitignore", ".pre-commit-hooks.yaml"}


def test_the_top_level_is_the_fixed_one() -> None:
    try:
        tracked = subprocess.run(["git", "ls-files"], cwd=ROOT.parent, capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip("no git: nothing says which files are the project's")
    if tracked.returncode != 0:
        pytest.skip("not a git checkout: nothing says which files are the project's")
    top = {line.split("/", 1)[0] for line in tracked.stdout.splitlines() if line}
    assert top - TOOLS_AT_THE_ROOT == TOP_LEVEL, sorted(top - TOOLS_AT_THE_ROOT ^ TOP_LEVEL)
