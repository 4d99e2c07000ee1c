"""Every line that installs reconciler, in the examples and the README, installs the tool
and not a stranger's package, pinned.

The distribution is `tosvectors-reconciler` (pyproject.toml); `reconciler` on the package
index is an unrelated project with no `reconciler` command. An install line is any
`pip install` / `python -m pip install` / `pipx install` / `uv pip install` on any line of
README.md, .ci/run, .pre-commit-hooks.yaml and every file under examples/ (comments
included: a commented suggestion is copied as readily as a command). Each one that
installs reconciler must name `tosvectors-reconciler` and pin it: `==X.Y.Z`, or
`@ git+URL@vX.Y.Z` / `@ git+URL@<commit>`, at this checkout's version. Installing `.`
(a checkout) is for this repository's own README and CI only: in an example it would
install the user's manifests repository. A pre-commit `rev:` is a tag or a commit.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
NAME = PROJECT["name"]
VERSION = PROJECT["version"]
# Files of this repository run from its own checkout, where installing `.` is the point.
CHECKOUT_FILES = {"README.md", ".ci/run"}

_INSTALL = re.compile(r"(?:\bpython[0-9.]*\s+-m\s+pip|\buv\s+pip|\bpip[0-9.]*|\bpipx)\s+install\b(?P<rest>.*)")
_OPTIONS_WITH_VALUE = {"-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url",
                       "-f", "--find-links", "-t", "--target", "--prefix", "--root", "--python"}
_REF = re.compile(r"@(?P<ref>[^@/]+)$")
_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Install:
    where: str  # path:line
    line: str
    spec: str


def install_specs(line: str) -> list[str]:
    """The requirement arguments of the install commands on one line (of a script, a YAML
    value or comment, or Markdown, where an inline `code span` ends at its backtick)."""
    specs = []
    for m in _INSTALL.finditer(line):
        rest = m.group("rest").split("`", 1)[0]
        lexer = shlex.shlex(rest, posix=True, punctuation_chars=";&|<>()")
        lexer.whitespace_split = True
        try:
            words = list(lexer)
        except ValueError:  # an unbalanced quote: take the words before it
            words = rest.split()
        skip = False
        for word in words:
            if skip:
                skip = False
            elif all(c in ";&|<>()" for c in word) or word.startswith("#"):
                break
            elif word in _OPTIONS_WITH_VALUE:
                skip = True
            elif word.startswith("-") and word not in ("-e", "--editable"):
                continue
            elif word not in ("-e", "--editable"):
                # prose: `pip install "x==1.0".` ends the sentence, not the version
                specs.append(word.rstrip(".,:;") if len(word) > 1 else word)
    return specs


def problem(spec: str, where: str) -> str | None:
    """Why `spec` (one argument of an install line in file `where`) is wrong, or None."""
    if spec.startswith((".", "/")) or spec.startswith("file:"):
        if where in CHECKOUT_FILES:
            return None
        return f"installs {spec!r}, a local checkout: in a manifests repository that is not the tool"
    if spec.startswith(("git+", "http://", "https://")):
        return f"{spec!r}: name the distribution, as '{NAME} @ {spec}'" if "reconciler" in spec else None
    try:
        req = Requirement(spec)
    except InvalidRequirement:
        return None  # not a requirement of ours (a variable, a placeholder)
    name = canonicalize_name(req.name)
    if name == "reconciler":
        return (f"{spec!r} installs `reconciler` from the package index, an unrelated project: "
                f"the distribution is {NAME!r}")
    if name != canonicalize_name(NAME):
        return None  # another tool
    if req.url:
        ref = _REF.search(req.url)
        if not ref:
            return f"{spec!r} is not pinned: add @vX.Y.Z or @<commit> to the URL"
        if not (ref["ref"] == f"v{VERSION}" or _COMMIT.fullmatch(ref["ref"])):
            return f"{spec!r} is pinned to {ref['ref']!r}: a release tag (v{VERSION}) or a commit, not a branch"
        return None
    specifiers = list(req.specifier)
    if len(specifiers) != 1 or specifiers[0].operator not in ("==", "===") or "*" in specifiers[0].version:
        return f"{spec!r} is not pinned: {NAME}=={VERSION}"
    if specifiers[0].version != VERSION:
        return f"{spec!r} pins {specifiers[0].version}, not this release ({VERSION})"
    return None


def scanned_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / ".ci" / "run", ROOT / ".pre-commit-hooks.yaml"]
    files += sorted(p for p in (ROOT / "examples").rglob("*") if p.is_file())
    return files


def installs() -> list[Install]:
    found = []
    for path in scanned_files():
        rel = path.relative_to(ROOT).as_posix()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found += [Install(f"{rel}:{n}", line.strip(), spec) for spec in install_specs(line)]
    return found


INSTALLS = installs()


def test_the_checker_knows_a_bad_install_from_a_good_one() -> None:
    def problems(line: str, where: str = "examples/x.yml") -> list[str]:
        return [p for s in install_specs(line) if (p := problem(s, where))]

    # what the issue found, and its neighbours
    assert problems('pip install "reconciler==0.1.0"')
    assert problems("run: python -m pip install .")
    assert problems("python -m pip install --quiet reconciler")
    assert problems("pip install -e .")
    assert problems(f"pip install {NAME}")
    assert problems(f"pip install '{NAME}>=0.1'")
    assert problems(f'pip install "{NAME} @ git+https://github.com/your-org/reconciler"')
    assert problems(f'pip install "{NAME} @ git+https://github.com/your-org/reconciler@main"')
    assert problems("pip install git+https://github.com/your-org/reconciler@v0.1.0")
    assert problems("`pip install reconciler` is a stranger's package", "README.md")
    assert problems('# From this checkout; or pin a release, e.g. pip install "reconciler==0.1.0".')
    # the right ones
    assert not problems(f'pip install "{NAME}=={VERSION}"')
    assert not problems(f'python -m pip install -q "{NAME} @ git+https://github.com/your-org/reconciler@v{VERSION}"')
    assert not problems(f'pip install "{NAME} @ git+https://gitlab.example.com/g/reconciler@{"a" * 40}"')
    assert not problems("python -m pip install --upgrade pip pre-commit")
    assert not problems("pip install -e '.[test]' && pytest", "README.md")


def test_there_are_install_lines_to_check() -> None:
    files = {i.where.split(":")[0] for i in INSTALLS if i.spec.startswith(NAME)}
    for example in ("examples/github-actions/reconciler.yml", "examples/gitlab/.gitlab-ci.yml",
                    "examples/preview-environments/nightly-prune.yml", "README.md"):
        assert example in files, f"{example} shows no pinned install of {NAME}"


@pytest.mark.parametrize("install", INSTALLS, ids=lambda i: f"{i.where}:{i.spec}")
def test_install_line(install: Install) -> None:
    why = problem(install.spec, install.where.split(":")[0])
    assert why is None, f"{install.where}: {why}\n  {install.line}"


def revs() -> list[tuple[str, str]]:
    """(path:line, rev) of every pre-commit `rev:` (also in comments and README blocks)."""
    found = []
    for path in scanned_files():
        rel = path.relative_to(ROOT).as_posix()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if m := re.match(r"\s*(?:#\s*)?rev:\s*(\S+)", line):
                found.append((f"{rel}:{n}", m.group(1).strip("'\"")))
    return found


def test_pre_commit_revs_are_pinned() -> None:
    found = revs()
    assert any(w.startswith("examples/pre-commit/.pre-commit-config.yaml") for w, _ in found)
    for where, rev in found:
        assert rev == f"v{VERSION}" or _COMMIT.fullmatch(rev), f"{where}: rev {rev!r}: a release tag or a commit"
