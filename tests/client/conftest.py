"""Fixtures for the client tests. Helpers live in client_fakes.py (a unique module name,
importable from every test here whatever pytest's import mode)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from client_fakes import ACCOUNT, AK, SK, FakeClock, FakeServer  # noqa: E402

from reconciler.client import Credentials, RetryPolicy, VectorsClient  # noqa: E402


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def make_client(server: FakeServer, clock: FakeClock):
    """make_client(**overrides) -> VectorsClient wired to `server` and `clock`."""

    def make(**kw: Any) -> VectorsClient:
        kw.setdefault("account_id", ACCOUNT)
        kw.setdefault("credentials", Credentials(AK, SK))
        kw.setdefault("transport", httpx.MockTransport(server.handler))
        kw.setdefault("clock", clock)
        kw.setdefault("retry", RetryPolicy())
        return VectorsClient(**kw)

    return make


@pytest.fixture
def client(make_client) -> VectorsClient:
    return make_client()
