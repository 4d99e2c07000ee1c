"""The wheel a pipeline installs: its name on the package index is `tosvectors-reconciler`
(`reconciler` there is an unrelated project), it gives the `reconciler` command and the
`reconciler` import package, and it carries the schemas the loader and saved plans are
checked against, not only an editable checkout does."""

from __future__ import annotations

import configparser
import email.parser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import reconciler

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    tmp_path = tmp_path_factory.mktemp("wheel")
    # build from a clean copy: a stale build/ directory in the checkout would hide a regression
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", ".reconciler", "__pycache__", ".pytest_cache", ".hypothesis"))
    out = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(out)],
                   check=True, capture_output=True, timeout=300)
    [built] = out.glob("*.whl")
    return zipfile.ZipFile(built)


def dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    [path] = [n for n in wheel.namelist() if n.endswith(f".dist-info/{name}")]
    return wheel.read(path).decode()


def test_wheel_is_named_tosvectors_reconciler(wheel: zipfile.ZipFile) -> None:
    assert Path(wheel.filename or "").name.startswith(f"tosvectors_reconciler-{reconciler.__version__}-")
    metadata = email.parser.Parser().parsestr(dist_info(wheel, "METADATA"))
    assert metadata["Name"] == "tosvectors-reconciler"
    # `reconciler --version` and the User-Agent say reconciler.__version__: the same release
    assert metadata["Version"] == reconciler.__version__


def test_wheel_installs_the_reconciler_command_and_package(wheel: zipfile.ZipFile) -> None:
    entry_points = configparser.ConfigParser()
    entry_points.read_string(dist_info(wheel, "entry_points.txt"))
    assert dict(entry_points["console_scripts"]) == {"reconciler": "reconciler.cli:main"}
    names = set(wheel.namelist())
    assert {"reconciler/__init__.py", "reconciler/__main__.py", "reconciler/cli/__init__.py"} <= names
    assert dist_info(wheel, "top_level.txt").split() == ["reconciler"]


def test_wheel_declares_the_watch_metrics_dependency(wheel: zipfile.ZipFile) -> None:
    metadata = email.parser.Parser().parsestr(dist_info(wheel, "METADATA"))
    runtime = [r for r in metadata.get_all("Requires-Dist") or [] if "extra ==" not in r]
    assert any(r.startswith("prometheus-client") for r in runtime), runtime


def test_wheel_carries_the_schemas(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for schema in ("manifest", "plan", "saved-plan", "drift"):
        assert f"reconciler/schemas/{schema}.schema.json" in names
        packaged = wheel.read(f"reconciler/schemas/{schema}.schema.json")
        assert packaged == (ROOT / "schemas" / f"{schema}.schema.json").read_bytes()
