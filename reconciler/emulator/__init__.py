"""A faithful local TOS Vectors service (README.md, "The emulator"), split like moto.

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

Owns: the local service, its state and its answers: the request and response shapes of
README "Wire protocol" §3, its error bodies and codes (§4), its limits (§5), the decisions of §0
where the reference is silent, signature checks (§2), and bucket policies enforced for
`--user` identities (README.md, "Emulator enforcement"). May import: rules (the service's
names, limits and policy evaluation, shared with the client and the manifest), util,
errors. Nothing from the client: the CLI's in-process sender over this app is
`reconciler.cli.inprocess.embedded_sender`, and tests that want the app behind httpx use
`tests/support/embedded.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

__all__ = ["EmulatorApp", "EmulatorConfig", "create_app", "embedded_app"]

if TYPE_CHECKING:
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
