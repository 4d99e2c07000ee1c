"""A plain `pip install .` (as the GitHub Actions example does) must carry the schemas
the loader and saved plans are checked against, not only an editable checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_carries_the_schemas(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                    "-q", "-w", str(tmp_path)], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("reconciler-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for schema in ("manifest", "plan", "drift"):
        assert f"reconciler/schemas/{schema}.schema.json" in names
        packaged = zipfile.ZipFile(wheel).read(f"reconciler/schemas/{schema}.schema.json")
        assert packaged == (ROOT / "schemas" / f"{schema}.schema.json").read_bytes()
