"""The emulator stands on its own: importing it, or any of its modules, loads no module of
the client (the CLI's in-process sender joins the two for the embedded target)."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import reconciler.emulator

MODULES = ["reconciler.emulator"] + [
    f"reconciler.emulator.{m.name}" for m in pkgutil.iter_modules(reconciler.emulator.__path__)]

PROBE = """
import importlib, sys
importlib.import_module({module!r})
{touch}
loaded = sorted(m for m in sys.modules if m == "reconciler.client" or m.startswith("reconciler.client."))
print(",".join(loaded))
"""


def test_the_sweep_covers_the_emulator() -> None:
    assert {"reconciler.emulator.app", "reconciler.emulator.store", "reconciler.emulator.server",
            "reconciler.emulator.responses", "reconciler.emulator.validation"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_importing_loads_no_client_module(module: str, tmp_path: Path) -> None:
    # the package's lazy names and embedded_app are used too, not just imported
    touch = ("import reconciler.emulator as e; e.create_app; e.EmulatorConfig; "
             f"e.embedded_app({str(tmp_path)!r})") if module == "reconciler.emulator" else ""
    probe = subprocess.run([sys.executable, "-c", PROBE.format(module=module, touch=touch)],
                           capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "", f"{module} loaded {probe.stdout.strip()}"


def test_the_probe_sees_a_client_import() -> None:
    """The probe is not blind: the in-process sender (the CLI's), which speaks the client's wire, is reported."""
    probe = subprocess.run([sys.executable, "-c", PROBE.format(module="reconciler.cli.inprocess", touch="")],
                           capture_output=True, text=True, timeout=120)
    assert "reconciler.client.wire" in probe.stdout.strip().split(",")


def _client_imports(source: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        found += [f"{source.name}:{node.lineno}" for n in names if n.split(".")[:2] == ["reconciler", "client"]]
    return found


def test_no_emulator_source_imports_the_client() -> None:
    """Also lazy imports inside functions and under TYPE_CHECKING, which no import runs."""
    sources = sorted(Path(reconciler.emulator.__file__).parent.glob("*.py"))
    assert [hit for source in sources for hit in _client_imports(source)] == []


def test_the_source_check_sees_a_client_import(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from reconciler.client.wire import Reply\n")
    assert _client_imports(source) == ["m.py:2"]
