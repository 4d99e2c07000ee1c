"""Every CLI and `serve` process a test starts runs this checkout's code, not whatever
`reconciler` an editable install elsewhere (or a stale one on PATH) would import: the
subprocesses inherit os.environ, so the checkout goes first on their PYTHONPATH."""

from __future__ import annotations

import os
from pathlib import Path

_CHECKOUT = str(Path(__file__).resolve().parents[1])
os.environ["PYTHONPATH"] = os.pathsep.join(
    [_CHECKOUT, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != _CHECKOUT)])
