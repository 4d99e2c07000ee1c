"""Terraform's review flow and habits, through the real CLI (issue 12).

Commands that call the API run against `reconciler serve` over HTTP; commands that make
no call (validate, show, completion) run with an endpoint on a closed port, so that any
call would fail loudly.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def offline(cwd: Path, *args: str, input: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI with no service behind its endpoint."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TOS_")}
    base.update({"TOS_ENDPOINT": closed_port_url(), "TOS_ACCOUNT_ID": "2100000000", "NO_COLOR": "1"})
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, env=base, input=input,
                          capture_output=True, text=True, timeout=120)


# --- alias bombs, and large estates that are not ---------------------------------------------


def test_a_large_manifest_without_aliases_is_not_an_alias_bomb(tmp_path: Path) -> None:
    # 36,000 indexes: about 250,000 YAML values, more than the alias-expansion limit
    rows = [f"      - {{name: ix-{i:05d}, dimension: 8, distanceMetric: cosine, nonFilterableMetadataKeys: [a, b]}}"
            for i in range(36_000)]
    (tmp_path / "big.yaml").write_text("version: 1\nbuckets:\n  - name: tenants\n    indexes:\n" + "\n".join(rows) + "\n")
    r = offline(tmp_path, "validate", "-f", "big.yaml")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Valid: 1 file, 1 bucket, 36000 indexes.\n"


def test_an_alias_bomb_is_refused_in_one_line(tmp_path: Path) -> None:
    levels = ["version: 1", "l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    (tmp_path / "bomb.yaml").write_text("\n".join(levels) + "\nbuckets: []\n")
    r = offline(tmp_path, "validate", "-f", "bomb.yaml")
    assert r.returncode == 1
    assert "bomb.yaml:6:5: aliases of the YAML anchor here expand to more than 200000 values (an alias bomb?)" in r.stderr
    assert "Traceback" not in r.stderr
