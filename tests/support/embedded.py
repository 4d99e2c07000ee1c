"""The in-process emulator behind httpx, for tests that wrap or inspect httpx transports
(the CLI itself uses `reconciler.cli.inprocess.embedded_sender`, which needs no httpx).

    async with VectorsClient(..., transport=embedded_transport(tmp_path / "data")) as c: ...

Point the client at any base URL (e.g. http://127.0.0.1): the Host header still routes.
The database opens on the first request and closes when the transport is closed.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from reconciler.emulator import EmulatorApp, embedded_app


class _EmbeddedTransport(httpx.ASGITransport):
    """ASGITransport that also closes the emulator's database with the client."""

    def __init__(self, app: EmulatorApp) -> None:
        super().__init__(app=app)
        self._emulator = app

    async def aclose(self) -> None:
        self._emulator.close()
        await super().aclose()


def embedded_transport(data_dir: str | Path, account_id: str = "2100000000",
                       region: str = "cn-beijing") -> httpx.AsyncBaseTransport:
    return _EmbeddedTransport(embedded_app(data_dir, account_id, region))
