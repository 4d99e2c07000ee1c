"""A plain `pip install .` (as the GitHub Actions example does) must carry the schemas
the loader and saved plans are checked against, not only an editable checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_carries_the_schemas(tmp_path: Path) -> None:
    # build from a clean copy: a stale build/ directory in the checkout would hide a regression
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", ".reconciler", "__pycache__", ".pytest_cache", ".hypothesis"))
    out = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(out)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(out.glob("reconciler-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for schema in ("manifest", "plan", "saved-plan", "drift"):
        assert f"reconciler/schemas/{schema}.schema.json" in names
        packaged = zipfile.ZipFile(wheel).read(f"reconciler/schemas/{schema}.schema.json")
        assert packaged == (ROOT / "schemas" / f"{schema}.schema.json").read_bytes()
