"""Which sender carries a client's requests (wire.py says what each one is). It sits above
the senders, which import only `wire`, so no module of the client imports in a circle."""

from __future__ import annotations

import os
from typing import Any

from reconciler.client.wire import Sender
from reconciler.errors import ConfigError
from reconciler.util.secrets import shown_url

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
    import httpx

    from reconciler.client.pool import HttpxSender

    try:  # httpx reads the proxy variables here; its words may quote a pasted password
        return HttpxSender(transport=transport, max_connections=max_connections, tls=tls)
    except (httpx.InvalidURL, ValueError):
        raise ConfigError(f"invalid proxy setting: {proxy_settings()} (expected http://host:port or "
                          "https://host:port, with user:password@ if the proxy needs one)") from None


def proxy_settings(environ: Any = os.environ) -> str:
    """The proxy variables that are set, each as output may show its value."""
    return ", ".join(f"{name}={shown_url(environ[name])!r}" for name in sorted(environ)
                     if name.lower() in PROXY_VARS and environ[name])
