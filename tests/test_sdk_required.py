"""The official SDK is a test dependency: without it the conformance suite fails, loudly,
instead of skipping and leaving a green run that never compared anything with the SDK."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]

# pytest in a child where `import tos` fails, as if the SDK were not installed
_WITHOUT_TOS = "import sys; sys.modules['tos'] = None; import pytest; sys.exit(pytest.main(sys.argv[1:]))"


def test_the_conformance_suite_fails_without_the_sdk() -> None:
    done = subprocess.run([sys.executable, "-c", _WITHOUT_TOS, "tests/conformance", "-q", "-p", "no:cacheprovider",
                           "--collect-only"], cwd=CHECKOUT, capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode not in (0, 5), out  # 5: nothing collected, which would also look fine
    assert "the conformance tests need the official SDK: pip install 'tos==2.9.3'" in out, out
    assert "skipped" not in out, out
