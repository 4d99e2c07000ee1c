"""--latency-ms and --fault-rate: slow and failing answers for clients' retry tests."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import httpx

from reconciler.emulator import EmulatorConfig
from tests.emulator.helpers import asgi_api
from tests.support.emulator import running_emulator

FAULTS = {429: "TooManyRequestsException", 503: "ServiceUnavailableException", 500: "InternalServerException"}


def test_latency_delays_every_answer() -> None:
    api, post = asgi_api(EmulatorConfig(data_dir=":memory:", latency_ms=120))
    try:
        for action, body in [("ListVectorBuckets", {}), ("GetVectorBucket", {"vectorBucketName": "nope"})]:
            start = time.monotonic()
            api.call(action, body)
            assert time.monotonic() - start >= 0.12
    finally:
        post.close()


def test_full_fault_rate_fails_everything_with_a_mix_and_changes_nothing() -> None:
    api, post = asgi_api(EmulatorConfig(data_dir=":memory:", fault_rate=1.0, seed=3))
    try:
        seen: Counter[int] = Counter()
        for i in range(60):
            r = api.call("CreateVectorBucket", {"vectorBucketName": f"fault-{i}"})
            seen[r.status_code] += 1
            doc = r.json()
            assert doc["Code"] == FAULTS[r.status_code] and doc["RequestId"] == r.headers["x-tos-request-id"]
            assert r.headers["x-tos-ec"] == doc["EC"]
            if r.status_code == 429:
                assert float(r.headers["retry-after"]) <= 1
        assert set(seen) == set(FAULTS)
        assert post.app.store.list_buckets("2100000000", None, None, 500) == []
    finally:
        post.close()


def _answers(seed: int | None, rate: float, n: int) -> list[tuple[int, str]]:
    api, post = asgi_api(EmulatorConfig(data_dir=":memory:", fault_rate=rate, seed=seed))
    try:
        return [(r.status_code, r.headers["x-tos-request-id"])
                for r in (api.call("ListVectorBuckets", {}) for _ in range(n))]
    finally:
        post.close()


def _statuses(seed: int, rate: float, n: int) -> list[int]:
    return [status for status, _ in _answers(seed, rate, n)]


def test_a_seed_also_fixes_the_request_ids() -> None:
    first = _answers(7, 0.5, 40)
    assert first == _answers(7, 0.5, 40)
    assert len({rid for _, rid in first}) == 40 and all(len(rid) == 32 for _, rid in first)
    assert [rid for _, rid in _answers(8, 0.5, 40)] != [rid for _, rid in first]
    assert [rid for _, rid in _answers(None, 0.5, 40)] != [rid for _, rid in _answers(None, 0.5, 40)]


def test_fault_rate_is_a_share_and_seedable() -> None:
    first = _statuses(42, 0.3, 300)
    assert first == _statuses(42, 0.3, 300)  # the same seed gives the same sequence
    failed = sum(1 for s in first if s != 200)
    assert 60 <= failed <= 120
    assert {s for s in first if s != 200} <= set(FAULTS)
    assert _statuses(1, 0.0, 50) == [200] * 50


def test_flags_over_http(tmp_path: Any) -> None:
    with running_emulator(tmp_path, "--latency-ms", "150", "--fault-rate", "1") as emu:
        with httpx.Client(base_url=emu.url) as client:
            for _ in range(5):
                start = time.monotonic()
                r = client.post("/ListVectorBuckets", content=b"{}", headers={"host": "127.0.0.1"})
                assert time.monotonic() - start >= 0.15
                assert r.status_code in FAULTS and r.json()["Code"] == FAULTS[r.status_code]
