"""What one HTTP exchange gives the transport, whichever sender carried it: a Reply, or a
WireError saying how the exchange failed. Three senders speak this:

- `direct.DirectSender`: HTTP/1.1 over asyncio with the httptools parser, for the normal
  case of connecting straight to the endpoint. It costs a fraction of httpx's CPU per
  request, which is what bounds a refresh of thousands of objects.
- `pool.HttpxSender`: httpx, for what the direct sender does not do: an injected httpx
  transport (test doubles, `tests/support/embedded.py`) and proxies from the environment.
- `cli.inprocess.AsgiSender`: the embedded emulator, called in this process (no socket, no
  httpx); cli/target.py opens it with `cli.inprocess.embedded_sender`."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")


@dataclass(slots=True)
class Reply:
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    content: bytes


class WireError(Exception):
    """An exchange that produced no HTTP response. `kind` names the failure for messages.

    `may_have_arrived`: the request may have reached the server (it was written, or partly,
    and no answer came), so a write may have taken effect. False only when it certainly
    did not leave: no connection, or refused before sending."""

    retryable = True
    kind = "NetworkError"
    may_have_arrived = True

    def __init__(self, detail: str = "", kind: str | None = None, *, retryable: bool | None = None,
                 may_have_arrived: bool | None = None):
        super().__init__(detail)
        self.detail = detail
        if kind is not None:
            self.kind = kind
        if retryable is not None:
            self.retryable = retryable
        if may_have_arrived is not None:
            self.may_have_arrived = may_have_arrived


class ConnectFailed(WireError):
    kind = "ConnectError"
    may_have_arrived = False


class ConnectTimedOut(WireError):
    kind = "ConnectTimeout"
    may_have_arrived = False


class TimedOut(WireError):
    """No (complete) response within the timeout, after the connection was made."""

    kind = "ReadTimeout"


class Disconnected(WireError):
    """The peer closed the connection or broke the protocol mid-response."""

    kind = "RemoteProtocolError"


class Unusable(WireError):
    """A request that cannot succeed however often it is sent (bad scheme, bad encoding)."""

    retryable = False
    kind = "UnsupportedProtocol"
    may_have_arrived = False


def header_dict(pairs: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Raw response headers as Reply.headers: lower-case names, repeats joined with ", "."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in pairs:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1").strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


class Sender(Protocol):
    async def send(self, base_url: str, path: str, headers: dict[str, str], body: bytes, timeout: float) -> Reply:
        """POST `body` to `base_url` (scheme://host[:port]) + `path`, with `headers` (Host included)."""

    async def aclose(self) -> None: ...


def proxy_configured(environ: Any = os.environ) -> bool:
    """A proxy is set in the environment (either case), so requests must go through httpx,
    which applies the proxy rules (NO_PROXY included) as other tools do."""
    return any(environ.get(name) or environ.get(name.upper()) for name in PROXY_VARS)


def open_sender(*, transport: Any, max_connections: int, tls: bool) -> Sender:
    """The direct sender, unless a transport is injected or a proxy is configured. (Headers
    and the timeout come with each request, so the senders have no defaults of their own.)"""
    if transport is None and not proxy_configured():
        from reconciler.client.direct import DirectSender

        return DirectSender(max_connections=max_connections)
    from reconciler.client.pool import HttpxSender

    return HttpxSender(transport=transport, max_connections=max_connections, tls=tls)
