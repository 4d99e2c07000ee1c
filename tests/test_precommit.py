"""The pre-commit hook a manifests repository points at (`.pre-commit-hooks.yaml`), run by
the real `pre-commit try-repo` in a scratch git repository, as a user's commit runs it.

pre-commit installs this checkout (committed to a scratch hook repository) into a virtualenv
of its own, from the package index, under a PRE_COMMIT_HOME in tmp: the hook works without
reconciler installed anywhere else (PYTHONPATH is dropped, so the tests' checkout is not
what runs). The install happens once per module; each test then stages a change in a fresh
manifests repository and runs the hook on what is staged, as `git commit` would.

- a valid repository passes;
- a manifest with broken YAML fails, at its file:line:col;
- a commit that changes only the policy JSON, broken, fails too (the policy is checked
  through the manifest that references it, from outside manifests/);
- a commit that touches neither manifests nor JSON skips the hook.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / ".pre-commit-hooks.yaml"
INSTALL_TIMEOUT = 900  # the first run installs the package and its dependencies from the index
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}

MANIFEST = """\
version: 1
account: "2100000000"
region: cn-beijing
buckets:
  - name: rag-prod
    policyFile: ../policies/rag-prod.json
    indexes:
      - name: docs-v2
        dimension: 1024
        distanceMetric: cosine
"""

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def environ(pre_commit_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PRE_COMMIT_HOME", "VIRTUAL_ENV")}
    return {**env, **GIT_ENV, "PRE_COMMIT_HOME": str(pre_commit_home), "NO_COLOR": "1"}


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args], cwd=cwd,
                   env={**os.environ, **GIT_ENV}, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout as its files are now, committed to a scratch repository (try-repo of a
    path takes its HEAD commit: uncommitted and untracked files would be left out)."""
    repo = tmp_path_factory.mktemp("hooks") / "reconciler"
    shutil.copytree(ROOT, repo, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", ".reconciler", "__pycache__", ".pytest_cache",
        ".hypothesis", ".mypy_cache", ".ruff_cache"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hooks under test")
    return repo


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def manifests_repo(tmp_path: Path) -> Path:
    """A manifests-only repository: its policy lives beside manifests/, not in it."""
    repo = tmp_path / "infra"
    (repo / "manifests").mkdir(parents=True)
    (repo / "policies").mkdir()
    (repo / "manifests" / "rag.yaml").write_text(MANIFEST)
    shutil.copy(ROOT / "examples" / "policies" / "rag-prod.json", repo / "policies" / "rag-prod.json")
    (repo / "README.md").write_text("# infra\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "valid manifests")
    return repo


def try_repo(hook_repo: Path, manifests_repo: Path, home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`pre-commit try-repo HOOKS reconciler-validate` in the manifests repository: on the
    staged files, as a commit runs it (or on every file with --all-files)."""
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "reconciler-validate",
                           "--color", "never", *extra],
                          cwd=manifests_repo, env=environ(home), capture_output=True, text=True,
                          timeout=INSTALL_TIMEOUT)


def stage(repo: Path, path: str, text: str) -> None:
    (repo / path).write_text(text)
    git(repo, "add", path)


def test_the_hook_manifest_is_what_pre_commit_reads() -> None:
    [hook] = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    assert hook["id"] == "reconciler-validate" and hook["language"] == "python"
    assert hook["entry"].split()[0] == "reconciler"
    assert hook["pass_filenames"] is False and hook["args"] == ["-f", "manifests/"]


def test_a_valid_repository_passes(hook_repo: Path, manifests_repo: Path, pre_commit_home: Path) -> None:
    r = try_repo(hook_repo, manifests_repo, pre_commit_home, "--all-files")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "reconciler validate" in r.stdout and "Passed" in r.stdout, r.stdout


def test_broken_yaml_fails(hook_repo: Path, manifests_repo: Path, pre_commit_home: Path) -> None:
    stage(manifests_repo, "manifests/rag.yaml", MANIFEST.replace("dimension: 1024", "dimension: [1024"))
    r = try_repo(hook_repo, manifests_repo, pre_commit_home)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Failed" in r.stdout
    assert "manifests/rag.yaml:" in r.stdout, r.stdout
    assert "Traceback" not in r.stdout


def test_a_broken_policy_json_alone_fails(hook_repo: Path, manifests_repo: Path, pre_commit_home: Path) -> None:
    policy = (manifests_repo / "policies" / "rag-prod.json").read_text()
    stage(manifests_repo, "policies/rag-prod.json", policy.replace('"Effect": "Allow",', '"Effect": "Allow"', 1))
    r = try_repo(hook_repo, manifests_repo, pre_commit_home)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Failed" in r.stdout
    assert "policies/rag-prod.json:" in r.stdout and "invalid JSON" in r.stdout, r.stdout


def test_a_valid_policy_change_passes(hook_repo: Path, manifests_repo: Path, pre_commit_home: Path) -> None:
    policy = (manifests_repo / "policies" / "rag-prod.json").read_text()
    stage(manifests_repo, "policies/rag-prod.json", policy.replace('"tosvectors:ListVectors"', '"tosvectors:GetIndex"'))
    r = try_repo(hook_repo, manifests_repo, pre_commit_home)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Passed" in r.stdout, r.stdout


def test_an_unrelated_change_skips_the_hook(hook_repo: Path, manifests_repo: Path, pre_commit_home: Path) -> None:
    stage(manifests_repo, "README.md", "# infra\n\nmore\n")
    r = try_repo(hook_repo, manifests_repo, pre_commit_home)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Skipped" in r.stdout, r.stdout
