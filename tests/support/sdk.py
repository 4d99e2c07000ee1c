"""The official SDK (`tos.vector_client.VectorClient`, tos==2.9.3) pointed at a local emulator.

    from tests.support.sdk import ACCOUNT, sdk_client

    sdk = sdk_client(emu.url)                       # anonymous; or sdk_client(url, ak, sk)
    sdk.create_vector_bucket("app")
    sdk.create_index("app", ACCOUNT, "docs", "float32", 4, "cosine")

The SDK builds production URLs (`https://app-2100000000.tosvectors-cn-beijing.volces.com
/GetIndex`) and signs that Host. A requests adapter mounted on its session (README "Wire protocol" §6 C)
sends each request to the emulator's address instead, keeping the SDK's Host header, its
signature and its retry behaviour (max_retries=0 at the adapter level) unchanged.
`create_index` also takes plain strings for the data type and metric.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from tos.enum import DataType, DistanceMetricType
from tos.exceptions import TosServerError
from tos.vector_client import VectorClient

ACCOUNT = "2100000000"
REGION = "cn-beijing"


class RedirectAdapter(HTTPAdapter):
    """Sends every request to `base_url`, whatever host the SDK put in the URL."""

    def __init__(self, base_url: str) -> None:
        super().__init__(max_retries=0)
        self._base = base_url.rstrip("/")

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url)
        request.url = self._base + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return super().send(request, *args, **kwargs)


class EmulatorVectorClient(VectorClient):  # type: ignore[misc]
    """VectorClient whose create_index also accepts "float32" / "cosine" strings."""

    def create_index(self, vector_bucket_name: str, account_id: str, index_name: str,
                     data_type: Any = None, dimension: Any = None, distance_metric: Any = None,
                     metadata_configuration: Any = None, generic_input: Any = None) -> Any:
        if isinstance(data_type, str):
            data_type = DataType(data_type)
        if isinstance(distance_metric, str):
            distance_metric = DistanceMetricType(distance_metric)
        return super().create_index(vector_bucket_name, account_id, index_name, data_type, dimension,
                                    distance_metric, metadata_configuration, generic_input)

    def policy_or_none(self, vector_bucket_name: str, account_id: str) -> str | None:
        """GetVectorBucketPolicy's text, or None when the bucket has no policy (404)."""
        try:
            return str(self.get_vector_bucket_policy(vector_bucket_name, account_id).policy)
        except TosServerError as e:
            if e.status_code != 404:
                raise
            return None

    def close(self) -> None:
        self.session.close()


def sdk_client(url: str, ak: str = "", sk: str = "", *, region: str = REGION,
               security_token: str | None = None, max_retry_count: int = 3) -> EmulatorVectorClient:
    """An SDK client for the emulator at `url` (http://127.0.0.1:PORT); anonymous by default."""
    client = EmulatorVectorClient(ak, sk, f"https://tosvectors-{region}.volces.com", region,
                                  security_token=security_token, max_retry_count=max_retry_count)
    adapter = RedirectAdapter(url)
    client.session.mount("https://", adapter)
    client.session.mount("http://", adapter)
    return client


def wipe(client: VectorClient, account: str = ACCOUNT) -> None:
    """Delete every bucket, index and policy the account holds (a shared emulator between tests)."""
    for bucket in client.list_vector_buckets().vector_buckets:
        name = bucket.vector_bucket_name
        for index in client.list_indexes(name, account).indexes:
            client.delete_index(name, account, index.index_name)
        try:
            client.delete_vector_bucket_policy(name, account)
        except TosServerError:  # it had none
            pass
        client.delete_vector_bucket(name, account)
