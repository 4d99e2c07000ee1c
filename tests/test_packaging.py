"""The wheel a pipeline installs: its name on the package index is `tosvectors-reconciler`
(`reconciler` there is an unrelated project), it gives the `reconciler` command and the
`reconciler` import package, and it carries the schemas the loader and saved plans are
checked against, not only an editable checkout does."""

from __future__ import annotations

import configparser
import email.parser
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import reconciler

ROOT = Path(__file__).resolve().parents[1]
_NOT_SOURCE = (".git", ".venv", "build", "dist", "*.egg-info", ".reconciler", "__pycache__", ".pytest_cache",
               ".hypothesis", ".mypy_cache", ".ruff_cache")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    tmp_path = tmp_path_factory.mktemp("wheel")
    # build from a clean copy: a stale build/ directory in the checkout would hide a regression
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
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


def test_the_examples_install_line_builds_this_package(tmp_path: Path) -> None:
    """The pinned line the CI examples use, pointed at a scratch copy of this checkout
    tagged as the release: pip resolves the tag, builds it, and checks that the name in
    the line is the name in the metadata (a line that said `reconciler @ ...` fails)."""
    workflow = (ROOT / "examples" / "github-actions" / "reconciler.yml").read_text(encoding="utf-8")
    [line] = set(re.findall(r'pip install "([^"]+)"', workflow))
    repo = tmp_path / "reconciler"
    shutil.copytree(ROOT, repo, symlinks=True, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
    git_env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
               "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (["init", "-q"], ["add", "-A"], ["-c", "commit.gpgsign=false", "commit", "-q", "-m", "release"],
                 ["tag", f"v{reconciler.__version__}"], ["commit", "-q", "--allow-empty", "-m", "after the tag"]):
        subprocess.run(["git", *args], cwd=repo, env=git_env, check=True, capture_output=True, timeout=60)
    spec = re.sub(r"git\+https://\S+/reconciler@", f"git+file://{repo.as_posix()}@", line)
    assert spec != line and spec.endswith(f"@v{reconciler.__version__}"), spec
    out = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), spec],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    [whl] = out.glob("*.whl")
    wheel = zipfile.ZipFile(whl)
    assert email.parser.Parser().parsestr(dist_info(wheel, "METADATA"))["Name"] == "tosvectors-reconciler"
    entry_points = configparser.ConfigParser()
    entry_points.read_string(dist_info(wheel, "entry_points.txt"))
    assert entry_points["console_scripts"]["reconciler"] == "reconciler.cli:main"
