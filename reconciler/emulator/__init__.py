"""A faithful local TOS Vectors service (DESIGN.md §5), split like moto's services.

    app.py          ASGI app: routing on method, path and Host; JSON errors; faults, latency
    routes.py       the one table of actions: each one's parser, handler and endpoint kind
    auth.py         TOS4-HMAC-SHA256 verification (on when given an access/secret key)
    validation.py   per-action request parsing and every limit of the API reference
    filters.py      the QueryVectors metadata filter language
    responses.py    one handler per action: state checks, actions, response shapes
    store.py        SQLite state and the service's invariants
    search.py       exact float32 top-K over cached per-index matrices
    errors.py       one exception per service error code
    server.py       `reconciler serve`: flags and the uvicorn runner

The emulator imports nothing from the client: the CLI's in-process sender over this app
is `reconciler.cli.inprocess.embedded_sender`. `embedded_transport()` serves the same
app behind httpx, for tests that wrap or inspect httpx transports.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

__all__ = ["EmulatorApp", "EmulatorConfig", "create_app", "embedded_app", "embedded_transport"]

if TYPE_CHECKING:
    import httpx

    from reconciler.emulator.app import EmulatorApp, EmulatorConfig, create_app


def __getattr__(name: str) -> Any:
    """Load the app (numpy, SQLite) on first use, so `reconciler validate` stays fast."""
    if name in ("EmulatorApp", "EmulatorConfig", "create_app"):
        from reconciler.emulator import app

        return getattr(app, name)
    raise AttributeError(f"module 'reconciler.emulator' has no attribute {name!r}")


def embedded_app(data_dir: str | Path, account_id: str = "2100000000", region: str = "cn-beijing") -> EmulatorApp:
    """An emulator app over `data_dir`, for in-process use (no server, no socket)."""
    from reconciler.emulator.app import EmulatorConfig, create_app

    return create_app(EmulatorConfig(data_dir=data_dir, account_id=account_id, region=region))


def embedded_transport(data_dir: str | Path, account_id: str = "2100000000",
                       region: str = "cn-beijing") -> httpx.AsyncBaseTransport:
    """An httpx transport that serves requests from an in-process emulator over `data_dir`.

    Point the client at any base URL (e.g. http://127.0.0.1): the Host header still routes.
    The database opens on the first request and closes when the transport is closed.
    """
    import httpx

    class _EmbeddedTransport(httpx.ASGITransport):
        """ASGITransport that also closes the emulator's database with the client."""

        def __init__(self, app: EmulatorApp) -> None:
            super().__init__(app=app)
            self._emulator = app

        async def aclose(self) -> None:
            self._emulator.close()
            await super().aclose()

    return _EmbeddedTransport(embedded_app(data_dir, account_id, region))
