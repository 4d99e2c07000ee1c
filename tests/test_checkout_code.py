"""The processes tests start run this checkout's `reconciler`, not an installed one.

An editable install of another checkout (or a stale wheel) sits on sys.path after
PYTHONPATH; tests/conftest.py puts this checkout first on PYTHONPATH, so the children
must import from here even when started elsewhere and with another copy on the path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import Cli

CHECKOUT = Path(__file__).resolve().parents[1]
WHERE = "import reconciler, reconciler.cli.parser; print(reconciler.__file__); print(reconciler.cli.parser.__file__)"


def _imported_from(env: dict[str, str], cwd: Path) -> list[Path]:
    done = subprocess.run([sys.executable, "-c", WHERE], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    return [Path(line).resolve() for line in done.stdout.splitlines()]


def test_a_cli_subprocess_imports_the_checkout(tmp_path: Path) -> None:
    """With the environment the integration tests give the CLI, run from another directory."""
    env = Cli("http://127.0.0.1:1", tmp_path, {}).env()
    for path in _imported_from(env, tmp_path):
        assert path.is_relative_to(CHECKOUT), path


def test_the_checkout_wins_over_another_copy_on_the_path(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "reconciler"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise SystemExit('the shadow copy was imported')\n")
    (shadow / "cli.py").write_text("")
    env = dict(os.environ, PYTHONPATH=os.environ.get("PYTHONPATH", "") + os.pathsep + str(shadow.parent))
    for path in _imported_from(env, tmp_path):
        assert path.is_relative_to(CHECKOUT), path
    # the control: without the checkout in front, the other copy is what a child would run
    alone = subprocess.run([sys.executable, "-c", WHERE], cwd=tmp_path, capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, PYTHONPATH=str(shadow.parent)))
    assert "the shadow copy was imported" in alone.stderr
