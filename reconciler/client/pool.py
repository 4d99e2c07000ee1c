"""Several httpx clients used in turn, instead of one large connection pool.

httpcore's pool does bookkeeping over every pooled connection on each request, work
that grows with the square of the pool's size (encode/httpcore#1035). Four pools of 8
connections cost about a third of the client CPU per request of one pool of 32, which
is what bounds a refresh of thousands of objects.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx

SHARD_SIZE = 8


class HttpPool:
    def __init__(self, *, transport: httpx.AsyncBaseTransport | None, max_connections: int, tls: bool,
                 **client_kw: Any):
        # an injected transport (the embedded emulator, a mock) has no socket pool to split
        sizes = [max_connections] if transport is not None else _split(max_connections)
        # Loading the CA bundle costs ~50 ms: once, shared, and only for an https endpoint.
        verify: Any = httpx.create_ssl_context() if tls and transport is None else False
        self.clients = [
            httpx.AsyncClient(
                transport=transport,
                verify=verify,
                limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
                **client_kw,
            )
            for n in sizes
        ]
        self._turn = itertools.cycle(self.clients)

    def build_request(self, *args: Any, **kw: Any) -> httpx.Request:
        return self.clients[0].build_request(*args, **kw)

    async def send(self, request: httpx.Request) -> httpx.Response:
        return await next(self._turn).send(request)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


def _split(total: int) -> list[int]:
    shards = max(1, -(-total // SHARD_SIZE))
    return [total // shards + (1 if i < total % shards else 0) for i in range(shards)]
