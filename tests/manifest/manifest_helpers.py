"""Shared helpers of the manifest tests (imported by name: tests/manifest is on sys.path)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

from reconciler.errors import Diagnostic

MINIMAL = "version: 1\nbuckets: []\n"


def write(root: Path, files: Mapping[str, str | bytes]) -> None:
    """Write files (text is dedented) under root, creating directories."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")


def where(d: Diagnostic) -> str:
    return f"{d.file}:{d.line}:{d.col}"
