"""The official SDK is a test dependency (pyproject.toml `test` extra), not an optional one:
without it the conformance suite must fail, not skip and look green."""

from __future__ import annotations

try:
    import tos  # noqa: F401
except ImportError as missing:
    raise ImportError("the conformance tests need the official SDK: pip install 'tos==2.9.3' "
                      "(or pip install -e '.[test]')") from missing
