"""Whether the process runs in a CI job: the rules that make a pipeline fail rather than fall
back ask this (the implicit embedded target, README.md, "Pointing it at TOS Vectors"; an
unsigned plan file, "apply")."""

from __future__ import annotations

import os
from collections.abc import Mapping


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """CI systems set CI=true; an empty value, 0 or false means not in CI."""
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() not in ("", "0", "false")
