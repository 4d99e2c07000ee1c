"""A read that fails ends the refresh (and the export) with that error, and leaves no read
running behind it: a read still in flight when the CLI shuts its event loop down can end
in its own error there, which asyncio prints as a traceback (seen in CI with a wrong
secret key, where every read is refused)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from reconciler.errors import AccessDeniedError
from reconciler.manifest import load_manifests
from reconciler.state.export import export_manifest
from reconciler.state.refresh import refresh


def _denied(action: str, n: int) -> AccessDeniedError:
    return AccessDeniedError(action, 403, "AccessDeniedException", "signature does not match", f"req-{n}")


class RefusingClient:
    """Every call is refused with a 403; the first one at once, the others later, so that
    when the first fails the others are still in flight."""

    def __init__(self) -> None:
        self.calls = 0
        self.finished: list[str] = []

    async def _refuse(self, action: str) -> None:
        self.calls += 1
        n = self.calls
        await asyncio.sleep(0 if n == 1 else 0.05)
        self.finished.append(action)
        raise _denied(action, n)

    async def all_indexes(self, bucket: str) -> list[object]:
        await self._refuse("ListIndexes")
        return []

    async def get_vector_bucket_policy(self, bucket: str) -> str:
        await self._refuse("GetVectorBucketPolicy")
        return ""

    async def all_vector_buckets(self, prefix: str | None = None) -> list[object]:
        return [SimpleNamespace(name=f"b-{i}", creation_time=1) for i in range(1, 4)]


def _manifest(tmp_path: Path) -> object:
    path = tmp_path / "m.yaml"
    path.write_text("version: 1\nbuckets:\n"
                    + "".join(f"  - name: b-{i}\n    indexes:\n      - name: idx\n        dimension: 4\n"
                              f"        distanceMetric: cosine\n" for i in range(1, 4)))
    return load_manifests([str(path)])


def _left_running() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


def test_a_refused_refresh_raises_the_first_error_and_leaves_no_read_running(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    client = RefusingClient()

    async def go() -> list[asyncio.Task[object]]:
        with pytest.raises(AccessDeniedError) as raised:
            await refresh(client, manifest, parallelism=8)  # type: ignore[arg-type]
        assert raised.value.request_id == "req-1"
        return _left_running()

    assert asyncio.run(go()) == []
    assert client.calls == 6  # a list and a policy read per bucket were started...
    assert client.finished == ["ListIndexes"]  # ...and the five behind the failure were cancelled


def test_a_refused_export_raises_the_first_error_and_leaves_no_read_running() -> None:
    client = RefusingClient()

    async def go() -> list[asyncio.Task[object]]:
        with pytest.raises(AccessDeniedError) as raised:
            await export_manifest(client, region="cn-beijing", account_id="2100000000")  # type: ignore[arg-type]
        assert raised.value.request_id == "req-1"
        return _left_running()

    assert asyncio.run(go()) == []
    assert client.finished == ["ListIndexes"]
