"""A `kill -9` in the middle of a stream of writes loses no acknowledged write."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from typing import Any

import httpx

from tests.support.emulator import bucket_host, running_emulator, start_emulator, stop_emulator


def test_kill_minus_nine_loses_no_acknowledged_vector(tmp_path: Any) -> None:
    data = tmp_path / "data"
    host = bucket_host("durable")
    ref = {"vectorBucketName": "durable", "indexName": "idx"}
    acknowledged: list[str] = []
    with running_emulator(data) as emu:
        with httpx.Client(base_url=emu.url, timeout=10) as client:
            client.post("/CreateVectorBucket", json={"vectorBucketName": "durable"}, headers={"host": "127.0.0.1"})
            client.post("/CreateIndex", json={**ref, "dataType": "float32", "dimension": 8, "distanceMetric": "cosine"},
                        headers={"host": host})

        def stream() -> None:
            with httpx.Client(base_url=emu.url, timeout=10) as writer:
                for batch in range(10_000):
                    keys = [f"b{batch:05d}-{i:02d}" for i in range(20)]
                    body = {**ref, "vectors": [{"key": k, "data": {"float32": [1.0 + batch, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, i]},
                                                "metadata": {"batch": batch}} for i, k in enumerate(keys)]}
                    try:
                        r = writer.post("/PutVectors", content=json.dumps(body), headers={"host": host})
                    except httpx.HTTPError:
                        return  # the server died under us: this batch was never acknowledged
                    if r.status_code != 200:
                        return
                    acknowledged.extend(keys)

        writer = threading.Thread(target=stream)
        writer.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 600 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(emu.process.pid, signal.SIGKILL)  # no shutdown, no checkpoint, no flush
        emu.process.wait()
        writer.join(timeout=20)
    assert len(acknowledged) >= 600

    restarted = start_emulator(data)
    try:
        with httpx.Client(base_url=restarted.url, timeout=10) as client:
            found: set[str] = set()
            for start in range(0, len(acknowledged), 100):
                r = client.post("/GetVectors", json={**ref, "keys": acknowledged[start:start + 100], "returnData": True,
                                                     "returnMetadata": True}, headers={"host": host})
                assert r.status_code == 200, r.text
                for v in r.json()["vectors"]:
                    batch = int(v["key"][1:6])
                    assert v["metadata"] == {"batch": batch} and v["data"]["float32"][0] == 1.0 + batch
                    found.add(v["key"])
        missing = [k for k in acknowledged if k not in found]
        assert not missing, f"{len(missing)} acknowledged vectors lost, e.g. {missing[:3]}"
    finally:
        stop_emulator(restarted)
