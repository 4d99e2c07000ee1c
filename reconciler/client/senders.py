"""Which sender carries a client's requests (wire.py says what each one is). It sits above
the senders, which import only `wire`, so no module of the client imports in a circle."""

from __future__ import annotations

import os
from typing import Any

from reconciler.client.wire import Sender

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")


def proxy_configured(environ: Any = os.environ) -> bool:
    """A proxy is set in the environment (either case), so requests must go through httpx,
    which applies the proxy rules (NO_PROXY included) as other tools do."""
    return any(environ.get(name) or environ.get(name.upper()) for name in PROXY_VARS)


def open_sender(*, transport: Any, max_connections: int, tls: bool) -> Sender:
    """The direct sender, unless a transport is injected or a proxy is configured. (Headers
    and the timeout come with each request, so the senders have no defaults of their own.)
    Each is imported when chosen: httpx costs ~100 ms to import, httptools little."""
    if transport is None and not proxy_configured():
        from reconciler.client.direct import DirectSender

        return DirectSender(max_connections=max_connections)
    from reconciler.client.pool import HttpxSender

    return HttpxSender(transport=transport, max_connections=max_connections, tls=tls)
