"""The ASGI application: routing on method, path and Host; errors as TOS JSON bodies.

Every request is `POST /{Action}`, served by its Route in routes.py. An absolute-form
target (`POST http://b-2100000000.host/GetIndex`, the SDKs' proxy mode, which is how they
reach the emulator with no name resolution: the emulator is their HTTP proxy) is cut down
to its path: the Host header alone routes (and is signed), whatever host the target
names (reconciler's own client, behind a proxy, names the endpoint there and the bucket
host in Host). The Host header picks the account and bucket, as DNS does for the real
service:

- `{bucket}-{account}.anything` (first label ending in `-digits`) is a bucket endpoint,
  for the 14 bucket-scoped actions; the body's vectorBucketName must name the same bucket;
- anything else (`tosvectors-cn-beijing.volces.com`, `127.0.0.1:8765`, `localhost`) is
  the region endpoint, for CreateVectorBucket and ListVectorBuckets, whose account is the
  emulator's own (--account-id), as the real service takes it from the credentials.
Sending an action to the wrong kind of endpoint is a 400 that says which one to use.

Every answer, success or error, carries x-tos-request-id and x-tos-id-2; errors also
carry x-tos-ec and the JSON body {"Code","Message","RequestId","HostId","EC"}. A request
never gets a traceback: bad input is a 4xx, and an emulator bug is logged and answered
with a 500 InternalServerException.

State is opened lazily on the first request, because in-process callers (the client's
embedded sender, `tests/support/embedded.py`) send no lifespan events; under uvicorn,
lifespan shutdown closes it.

The event loop only moves bytes: parsing, validation, the handler (SQLite, search,
filters) and JSON encoding of each request run in a worker thread, so a heavy query never
delays a GetIndex sent meanwhile. That is safe because store.py serialises every use of
its one connection with a lock held across each whole transaction (one writer at a time,
no read sees half a write), and search.py's cache is keyed by the index version read
under that lock. numpy releases the GIL in its loops, so threads do overlap there.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from reconciler.emulator import errors
from reconciler.emulator.auth import Verifier
from reconciler.emulator.errors import shown
from reconciler.emulator.policy_auth import User, authorize
from reconciler.emulator.responses import Answer, Context, TokenCodec
from reconciler.emulator.routes import ROUTES
from reconciler.emulator.search import VectorSearch
from reconciler.emulator.store import Store
from reconciler.emulator.validation import check_bucket_name
from reconciler.errors import ConfigError
from reconciler.util.text import lone_surrogate_in

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("reconciler.emulator")

HOST_ID = "reconciler-emulator"
MAX_BODY_BYTES = 64 << 20  # 500 vectors x 4096 floats of JSON is about 40 MB

WORKERS = 8  # threads serving requests; SQLite work is serialised anyway, search overlaps
_ABSOLUTE_FORM = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]*")
# RFC 9110 Host: a reg-name or an IP literal, then an optional port of digits
_HOST = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+;=%-]*|\[[0-9A-Fa-f:.]+\])(?::([0-9]*))?")
_BUCKET_LABEL = re.compile(r"(.+)-([0-9]+)")


@dataclass(frozen=True)
class EmulatorConfig:
    """How an emulator instance behaves; `data_dir` may be ":memory:" for tests."""

    data_dir: str | Path = Path(".reconciler") / "serve"
    account_id: str = "2100000000"
    region: str = "cn-beijing"
    access_key: str | None = None
    secret_key: str | None = None
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    seed: int | None = None
    retry_after: str = "0"  # Retry-After of injected 429s, in seconds
    users: tuple[User, ...] = ()  # serve --user: keys held to bucket policies (needs the owner's key)


def route_host(host: str) -> tuple[str, str] | None:
    """(bucket, account) of a bucket endpoint Host, or None for the region endpoint."""
    name = host.strip()
    if name.startswith("["):  # an IPv6 literal is never a bucket endpoint
        return None
    name = name.rpartition(":")[0] if ":" in name else name
    first, _, rest = name.partition(".")
    match = _BUCKET_LABEL.fullmatch(first)
    if match is None or not rest:
        return None
    return match.group(1), match.group(2)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)  # one, not one per request


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a request; an empty body counts as {}."""
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8")
        document = _DECODER.decode(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise errors.ValidationException(f"the request body is not valid JSON: {str(e)[:200]}") from None
    if not isinstance(document, dict):
        raise errors.ValidationException("the request body must be a JSON object")
    if "\\u" in text:  # only an escape can make a lone surrogate, which no store or reply can hold
        problem = lone_surrogate_in(document)
        if problem:
            raise errors.ValidationException(f"the request body is not valid text: {problem}")
    return document


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name == "host" and name in out:  # two Hosts could route one way and sign another
            raise errors.ValidationException("the request has more than one Host header")
        out[name] = f"{out[name]},{value}" if name in out else value
    return out


def check_host(host: str) -> None:
    """One host[:port] (RFC 9110), or a 400: `a, b` or a port that is not 1-65535."""
    match = _HOST.fullmatch(host)
    if match is None:
        raise errors.ValidationException(f"the Host header {shown(host)} is not a host[:port]")
    port = match.group(1)
    if port is not None and not (port.isdigit() and len(port) <= 5 and 1 <= int(port) <= 65535):
        raise errors.ValidationException(f"the Host header {shown(host)} has a bad port: expected 1-65535")


def _path(scope: Scope) -> str:
    path = str(scope.get("path", ""))
    return _ABSOLUTE_FORM.sub("", path) or "/"


class EmulatorApp:
    """The emulator as an ASGI callable. Call `close()` when done with it outside uvicorn."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        # --seed makes every random choice reproducible: the faults, and the request ids
        # (their own stream, so the fault sequence does not depend on how many ids were drawn)
        self._random = random.Random(config.seed)
        self._ids = random.Random(f"{config.seed}/request-ids") if config.seed is not None else None
        self._verifier = (Verifier(config.access_key, config.secret_key or "", clock,
                                   {u.access_key: u.secret_key for u in config.users}, config.region)
                          if config.access_key else None)
        self._users = {u.access_key: u for u in config.users if u.access_key != config.access_key}
        self._tokens = TokenCodec()
        self._state: tuple[Store, VectorSearch] | None = None
        self._state_lock = threading.Lock()
        self._workers: concurrent.futures.ThreadPoolExecutor | None = None

    # --- state --------------------------------------------------------------------------

    def open(self) -> tuple[Store, VectorSearch]:
        """Open the database now (it otherwise opens on the first request); idempotent."""
        with self._state_lock:
            if self._state is None:
                store = Store(self.config.data_dir)
                self._state = (store, VectorSearch(store))
            return self._state

    def open_or_fail(self) -> None:
        """Open the database before serving anything, so that a bad data directory (or a
        file there that is not a database) is one ConfigError, not a 500 per request."""
        try:
            self.open()
        except (OSError, sqlite3.Error) as e:
            raise ConfigError(f"cannot open the emulator database in {self.config.data_dir}: {e}") from None

    @property
    def store(self) -> Store:
        return self.open()[0]

    def close(self) -> None:
        with self._state_lock:
            workers, self._workers = self._workers, None
        if workers is not None:  # requests in flight finish before the database goes (outside
            workers.shutdown(wait=True)  # the lock: a worker may be taking it in open())
        with self._state_lock:
            if self._state is not None:
                self._state[0].close()
                self._state = None

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._state_lock:
            if self._workers is None:
                self._workers = concurrent.futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="emulator")
            return self._workers

    # --- ASGI ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request_id = self._request_id()
        try:
            body = await self._read_body(receive)
            if body is None:  # the client went away
                return
            if self.config.latency_ms > 0:
                await asyncio.sleep(self.config.latency_ms / 1000.0)
            self._maybe_fault()
            data = await asyncio.get_running_loop().run_in_executor(self._pool(), self._answer, scope, body)
            status, headers = 200, dict[str, str]()
        except errors.EmulatorError as e:
            status, data, headers = self._error(e, request_id)
        except Exception as e:  # an emulator bug: answer like the service would; one log line, and
            # the traceback only with --debug (the embedded emulator logs into the CLI's output)
            log.error("emulator error while serving %s %s (request id %s): %s: %s", scope.get("method"),
                      scope.get("path"), request_id, type(e).__name__, e, exc_info=log.isEnabledFor(logging.DEBUG))
            status, data, headers = self._error(
                errors.InternalServerException("internal error in the emulator; see its log"), request_id)
        # every body is JSON, even GetVectorBucketPolicy's (the stored policy document)
        out = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
               (b"x-tos-request-id", request_id.encode()), (b"x-tos-id-2", f"{HOST_ID}-{request_id[:16]}".encode())]
        out += [(k.encode("latin-1"), val.encode("latin-1")) for k, val in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": data})

    def _request_id(self) -> str:
        if self._ids is not None:
            return f"{self._ids.getrandbits(128):032x}"
        return os.urandom(16).hex()  # like uuid4().hex, without building a UUID

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.open()
                except Exception as e:  # e.g. an unwritable data directory
                    await send({"type": "lifespan.startup.failed", "message": f"cannot open the database: {e}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _read_body(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise errors.ValidationException(f"the request body is larger than {MAX_BODY_BYTES >> 20} MiB")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _maybe_fault(self) -> None:
        """--fault-rate: answer this share of requests with a 429, 503 or 500, before anything else."""
        if self.config.fault_rate <= 0 or self._random.random() >= self.config.fault_rate:
            return
        kind = self._random.choice((429, 503, 500))
        if kind == 429:
            raise errors.TooManyRequestsException("injected fault: request rate too high, slow down",
                                                  retry_after=self.config.retry_after)
        if kind == 503:
            raise errors.ServiceUnavailableException("injected fault: service unavailable, retry later")
        raise errors.InternalServerException("injected fault: internal server error")

    @staticmethod
    def _error(e: errors.EmulatorError, request_id: str) -> tuple[int, bytes, dict[str, str]]:
        body = json.dumps({"Code": e.code, "Message": e.message, "RequestId": request_id,
                           "HostId": HOST_ID, "EC": e.ec}).encode()
        return e.status, body, {**e.headers, "x-tos-ec": e.ec}

    # --- one request --------------------------------------------------------------------

    def _answer(self, scope: Scope, body: bytes) -> bytes:
        """The success body of one request (in a worker thread), UTF-8 JSON.

        orjson writes the floats of a vector answer ~10x faster than json (for ten
        768-dimension hits, 0.2 ms instead of 2.5 ms: the largest cost of a QueryVectors
        after the search). It refuses what json accepts: an integer beyond 64 bits (a
        metadata value may be one) or a lone surrogate; those answers take json, whose
        allow_nan=False stays the last word. Every float an answer can hold is finite by
        construction (inputs are checked finite, norms and distances are computed in
        float64 and checked), so orjson's null for NaN is never reached."""
        payload = self._handle(scope, body)
        if isinstance(payload, bytes):
            return payload
        try:
            return orjson.dumps(payload)
        except orjson.JSONEncodeError:
            return json.dumps(payload, ensure_ascii=False, allow_nan=False).encode()

    def _handle(self, scope: Scope, body: bytes) -> Answer:
        try:
            return self._dispatch(scope, body)
        except RecursionError:  # JSON nested deeper than Python's stack: a bad request, not a crash
            raise errors.ValidationException("the request body is nested too deeply") from None

    def _dispatch(self, scope: Scope, body: bytes) -> Answer:
        method, path, headers = str(scope.get("method", "")), _path(scope), _headers(scope)
        if method != "POST":
            raise errors.MethodNotAllowed(f"method {method} is not allowed: every action is POST /{{Action}}")
        action = path[1:]
        route = ROUTES.get(action)
        if route is None:
            raise errors.ValidationException(f"unknown action {shown(action)}: expected POST /{{Action}} "
                                             f"with one of {', '.join(sorted(ROUTES))}")
        signer = self._verifier.verify(method, path, headers, body) if self._verifier is not None else None
        host = headers.get("host", "")
        check_host(host)
        routed = route_host(host)
        if route.region:
            if routed is not None:
                raise errors.ValidationException(
                    f"{action} must be sent to the region endpoint, not to the bucket endpoint {shown(host)}")
            account = self.config.account_id
        else:
            if routed is None:
                raise errors.ValidationException(
                    f"{action} must be sent to the bucket endpoint {{vectorBucketName}}-{{accountId}}.<region "
                    f"endpoint>, but the Host header is {shown(host)}")
            host_bucket, account = routed
        fields = parse_body(body)
        user = self._users.get(signer) if signer is not None else None
        reads_data = True
        if user is not None:  # before the body's details are validated: no 400 hints to the denied
            reads_data = authorize(user, action, region=self.config.region, account=None if route.region else account,
                      bucket=None if route.region else host_bucket, body=fields, store=self.open()[0])
        request = route.parse(fields)
        if not route.region:
            bucket = getattr(request, "bucket", None)
            if bucket != host_bucket:
                check_bucket_name(host_bucket, "the Host header's bucket")
                raise errors.ValidationException(
                    f"vectorBucketName {shown(bucket)} does not match the bucket {shown(host_bucket)} "
                    "of the Host header")
        store, search = self.open()
        context = Context(store, search, account, self.config.region, self._clock, self._tokens, reads_data)
        return route.handle(context, request)


def create_app(config: EmulatorConfig | None = None) -> EmulatorApp:
    """A new emulator ASGI app (its database opens on the first request)."""
    return EmulatorApp(config or EmulatorConfig())
