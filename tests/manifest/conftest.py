"""Helpers for manifest tests: write files into a temporary directory and load them from there."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest
from manifest_helpers import write

from reconciler.errors import Diagnostic, ManifestError
from reconciler.manifest import Manifest, load_manifests


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary working directory, so diagnostics name short relative paths."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def load(workdir: Path) -> Callable[..., Manifest]:
    """load(files, paths=None, variables=None, environ=None) -> Manifest (files written first)."""

    def _load(
        files: Mapping[str, str | bytes],
        paths: Sequence[str] | None = None,
        variables: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Manifest:
        write(workdir, files)
        return load_manifests(
            list(paths) if paths is not None else sorted(n for n in files if n.endswith((".yaml", ".yml"))),
            variables or {},
            environ if environ is not None else {},
        )

    return _load


@pytest.fixture
def load_errors(load: Callable[..., Manifest]) -> Callable[..., list[Diagnostic]]:
    """Like `load`, but expects a ManifestError and returns its errors (the warnings that
    come with them are left out: tests of warnings read `Manifest.warnings`)."""

    def _errors(*args: object, **kwargs: object) -> list[Diagnostic]:
        with pytest.raises(ManifestError) as info:
            load(*args, **kwargs)
        return [d for d in info.value.diagnostics if d.severity == "error"]

    return _errors
