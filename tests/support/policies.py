"""Policy documents for tests."""

from __future__ import annotations

from tests.support.emulator import ACCOUNT


def policy(bucket: str, *actions: str) -> dict:
    """Allow ci-bot `actions` on every index of `bucket`."""
    return {"Version": "2025-12-01", "Statement": [{
        "Effect": "Allow", "Principal": [f"{ACCOUNT}/ci-bot"], "Action": list(actions),
        "Resource": [f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/{bucket}/index/*"]}]}
