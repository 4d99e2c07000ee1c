"""Fixtures for the emulator's tests: the app in-process, `reconciler serve` over HTTP, or both.

The `api` fixture runs a test twice: through httpx.ASGITransport with a fresh in-memory
database, and against one `reconciler serve` shared by the session (tests there use names
from `unique` so they do not see each other's buckets).
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests.support` under plain `pytest`

from tests.emulator.helpers import Api, asgi_api  # noqa: E402
from tests.support.emulator import running_emulator  # noqa: E402

_names = itertools.count()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Names no other test uses, so tests can share one HTTP server."""
    tag = next(_names)
    return lambda stem: f"{stem}-t{tag}"


@pytest.fixture
def asgi() -> Iterator[Api]:
    """The app in-process with a fresh in-memory database."""
    api, post = asgi_api()
    yield api
    post.close()


@pytest.fixture(scope="session")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_emulator(tmp_path_factory.mktemp("serve")) as emu:
        yield emu


@pytest.fixture(scope="session")
def http_api(http_server: Any) -> Iterator[Api]:
    with httpx.Client(base_url=http_server.url, timeout=30) as client:
        yield Api(lambda path, content, headers: client.post(path, content=content, headers=headers))


@pytest.fixture(params=["asgi", "http"])
def api(request: pytest.FixtureRequest) -> Api:
    """The same test in-process and against `reconciler serve` over HTTP."""
    fixture: Api = request.getfixturevalue("asgi" if request.param == "asgi" else "http_api")
    return fixture
