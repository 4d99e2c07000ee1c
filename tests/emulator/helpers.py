"""The emulator tests' client facade: one small API, two ways to reach the app.

`Api.call(action, body)` posts a JSON body to `/{action}` with the Host header the real
service expects (the bucket endpoint taken from the body's vectorBucketName, or the
region endpoint for CreateVectorBucket / ListVectorBuckets). Behind it is either the ASGI
app in-process through httpx.ASGITransport, or `reconciler serve` over HTTP.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

from reconciler.emulator import EmulatorConfig, create_app
from reconciler.emulator.app import EmulatorApp
from tests.support.emulator import ACCOUNT, bucket_host

REGION_ACTIONS = {"CreateVectorBucket", "ListVectorBuckets"}
Post = Callable[[str, bytes, dict[str, str]], httpx.Response]


class AsgiPost:
    """Synchronous POSTs into an ASGI app, through httpx.ASGITransport (no socket)."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app
        self._loop = asyncio.new_event_loop()
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")

    def __call__(self, path: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
        return self._loop.run_until_complete(self._client.post(path, content=content, headers=headers))

    def request(self, method: str, path: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
        return self._loop.run_until_complete(self._client.request(method, path, content=content, headers=headers))

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()
        self.app.close()


class Api:
    """Calls actions the way a client would; asserts on success or on an expected error."""

    def __init__(self, post: Post, account: str = ACCOUNT) -> None:
        self.post = post
        self.account = account

    def call(self, action: str, body: Any = None, *, host: str | None = None,
             headers: dict[str, str] | None = None, raw: bytes | None = None) -> httpx.Response:
        body = {} if body is None else body
        if host is None:
            bucket = body.get("vectorBucketName") if isinstance(body, dict) else None
            # a name that cannot travel in a Host header goes to the region endpoint (a 400 there)
            use_region = action in REGION_ACTIONS or not (isinstance(bucket, str) and bucket.isascii()
                                                          and bucket.isprintable())
            host = "127.0.0.1" if use_region else bucket_host(str(bucket), self.account)
        content = raw if raw is not None else json.dumps(body).encode()
        return self.post(f"/{action}", content, {"host": host, **(headers or {})})

    def ok(self, action: str, body: Any = None, **kw: Any) -> Any:
        r = self.call(action, body, **kw)
        assert r.status_code == 200, f"{action}: {r.status_code} {r.text}"
        assert r.headers.get("x-tos-request-id")
        return r.json()

    def err(self, action: str, body: Any, status: int, code: str, *fragments: str, **kw: Any) -> dict[str, Any]:
        r = self.call(action, body, **kw)
        assert r.status_code == status, f"{action}: expected {status} {code}, got {r.status_code} {r.text}"
        doc: dict[str, Any] = r.json()
        assert doc["Code"] == code, doc
        assert doc["RequestId"] == r.headers["x-tos-request-id"]
        assert r.headers["x-tos-ec"] == doc["EC"]
        for fragment in fragments:
            assert fragment in doc["Message"], (fragment, doc["Message"])
        return doc

    # shortcuts for setting up state
    def bucket(self, name: str) -> str:
        self.ok("CreateVectorBucket", {"vectorBucketName": name})
        return name

    def index(self, bucket: str, name: str, dimension: int = 3, metric: str = "euclidean",
              non_filterable: list[str] | None = None, data_type: str = "float32") -> str:
        body: dict[str, Any] = {"vectorBucketName": bucket, "indexName": name, "dataType": data_type,
                                "dimension": dimension, "distanceMetric": metric}
        if non_filterable is not None:
            body["metadataConfiguration"] = {"nonFilterableMetadataKeys": non_filterable}
        self.ok("CreateIndex", body)
        return name

    def put(self, bucket: str, index: str, vectors: list[dict[str, Any]]) -> None:
        for start in range(0, len(vectors), 500):
            self.ok("PutVectors", {"vectorBucketName": bucket, "indexName": index,
                                   "vectors": vectors[start:start + 500]})

    def query(self, bucket: str, index: str, vector: list[float] | list[int], top_k: int = 10, *, data_type: str = "float32",
              with_data: bool = False, **extra: Any) -> list[dict[str, Any]]:
        """The hits of a QueryVectors. Checked here for every query: each hit carries its
        data, of the query's type and length, and no match means no `vectors` key at all
        (README "Wire protocol" §0), never an empty list. The data is dropped unless `with_data`."""
        body = {"vectorBucketName": bucket, "indexName": index, "topK": top_k,
                "queryVector": {data_type: vector}, **extra}
        reply = self.ok("QueryVectors", body)
        assert reply.get("vectors", None) != [], reply
        result: list[dict[str, Any]] = reply.get("vectors", [])
        for hit in result:
            assert set(hit["data"]) == {data_type} and len(hit["data"][data_type]) == len(vector), hit
        return result if with_data else [{k: v for k, v in hit.items() if k != "data"} for hit in result]


def asgi_api(config: EmulatorConfig | None = None) -> tuple[Api, AsgiPost]:
    post = AsgiPost(create_app(config or EmulatorConfig(data_dir=":memory:")))
    return Api(post), post
