"""The HTTP guard of `reconciler serve`: uvicorn's httptools protocol with the limits it lacks.

uvicorn (0.54) starts no timer before a request's head is complete, puts no bound on the
head's size (llhttp keeps every byte of a never-ending header), answers broken framing
with plain text and refuses nothing by connection count. `guarded_protocol(limits)` is a
subclass of its HttpToolsProtocol that adds, per connection:

- **read timeout**: a whole request, head and body, must have arrived `read_timeout`
  seconds after its first byte (or after the connection opened): one deadline per
  request, not per byte, so a body sent a byte every few seconds cannot hold a connection
  (70 such bodies used to keep a `--max-connections 64` server full for as long as they
  trickled). Otherwise 408 `RequestTimeout` and close (a connection that never sent a
  byte is just closed). Time during which the server itself stopped reading (the app has
  not taken the body yet) does not count. Idle keep-alive connections stay uvicorn's
  (`timeout_keep_alive`, 5 s).
- **write timeout**: a client that stops reading its answer (the transport's buffer stays
  above its high-water mark for `read_timeout` seconds) is cut off, so that a slow or
  stuck reader cannot hold a connection, an app task and the buffered answer forever. It
  uses asyncio's own flow-control callbacks (`pause_writing` / `resume_writing`).
- **head cap**: a head over `MAX_HEAD_BYTES` gets 431 `RequestHeaderSectionTooLarge` and
  close; the parser is fed in slices, so it never holds more than the cap plus one slice.
- **connection cap**: at `max_connections` open connections, the one idle the longest
  (keep-alive between requests, or silent since it opened) is closed to make room; when
  none is idle, the new connection is answered 503 `ServiceUnavailableException` with
  `Retry-After: 1` at once.
- **closing after an error answer** half-closes first and drains what the client still
  sends for a moment (`_linger`), so that the client reads the answer instead of a reset;
  at most `max_lingering` at once, the one draining the longest closed first.
- **JSON errors**: every answer the guard writes has the service's error shape (Code,
  Message, RequestId, HostId, EC; app.py `EmulatorApp._error`) and the request id headers,
  including 400 `ValidationException` for malformed HTTP, where uvicorn wrote plain text.
"""

from __future__ import annotations

import asyncio
import http
import logging
import os
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from reconciler.emulator import errors
from reconciler.emulator.app import HOST_ID, EmulatorApp

log = logging.getLogger("reconciler.emulator")

MAX_HEAD_BYTES = 64 << 10  # a signed SDK request's head is about 1 KiB; nginx allows 32 KiB
FEED_SLICE = 16 << 10  # the parser is fed this much at a time, so the head cap is checked often
LINGER_SECONDS = 2.0  # after an error answer, how long the rest of the request is drained
LINGER_BYTES = 1 << 20  # ... and how much of it, at most
MAX_LINGERING = 256  # connections draining at once (at most); beyond, they are closed at once


class RequestTimeout(errors.EmulatorError):
    code, status, ec = "RequestTimeout", 408, "9999-00000408"


class RequestHeaderSectionTooLarge(errors.EmulatorError):
    code, status, ec = "RequestHeaderSectionTooLarge", 431, "9999-00000431"


@dataclass(frozen=True)
class Limits:
    """What one server allows each client; see the module docstring."""

    read_timeout: float = 10.0
    max_connections: int = 1024
    max_lingering: int = MAX_LINGERING


def error_response(error: errors.EmulatorError) -> bytes:
    """A whole HTTP/1.1 answer carrying `error` in the service's shape; the connection closes."""
    request_id = os.urandom(16).hex()
    status, body, extra = EmulatorApp._error(error, request_id)
    headers = {"content-type": "application/json", "content-length": str(len(body)),
               "x-tos-request-id": request_id, "x-tos-id-2": f"{HOST_ID}-{request_id[:16]}", **extra,
               "connection": "close"}
    head = f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items())
    return head.encode("latin-1") + b"\r\n" + body


class _Shared:
    """What the connections of one server share."""

    def __init__(self) -> None:
        self.lingering: dict[HttpToolsProtocol, None] = {}  # answered and closing (`_linger`), oldest first
        # connections with no request under way, the one idle the longest first (a dict keeps
        # insertion order, and a connection is re-inserted each time it becomes idle)
        self.idle: dict[HttpToolsProtocol, None] = {}
        self.warned_at = float("-inf")


def guarded_protocol(limits: Limits) -> type[HttpToolsProtocol]:
    """A protocol class for `uvicorn.Config(http=...)`: one per server, sharing its counters."""
    shared = _Shared()

    class GuardedProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._lingering = False  # answered with an error: draining what the client still sends
            self._drained = 0
            self._pending_error: errors.EmulatorError | None = None  # answered once earlier answers are out
            self._running: Any = None  # the request the app is answering (uvicorn's self.cycle is the latest)
            self._idle = False  # no byte of a request since the connection opened or the last answer
            self._in_head = False  # between on_message_begin and on_headers_complete
            self._head_bytes = 0
            self._reading_body = False  # between on_headers_complete and on_message_complete
            # the read deadline of the request under way (head and body), or the linger's end
            self._read_timer: asyncio.TimerHandle | None = None
            self._write_timer: asyncio.TimerHandle | None = None

        # --- connections ------------------------------------------------------------

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            if len(self.connections) >= limits.max_connections and not self._make_room():
                self._refuse(transport)
                return
            super().connection_made(transport)
            self._become_idle()
            self._arm_read_timer()

        def _become_idle(self) -> None:
            self._idle = True
            shared.idle[self] = None

        def _stop_being_idle(self) -> None:
            self._idle = False
            shared.idle.pop(self, None)

        def _make_room(self) -> bool:
            """Close the connection idle the longest; False when none is idle."""
            if not shared.idle:
                return False
            victim = next(iter(shared.idle))
            shared.idle.pop(victim)
            self.connections.discard(victim)
            victim.transport.close()
            return True

        def _refuse(self, transport: asyncio.Transport) -> None:
            """Answer 503 at once, before the request: waiting for it would hold the file longer."""
            self.transport = transport
            now = self.loop.time()
            if now - shared.warned_at >= 60:  # one line a minute, not one per refused client
                shared.warned_at = now
                log.warning("connection limit reached (%d open): new connections are answered 503",
                            limits.max_connections)
            transport.write(error_response(errors.ServiceUnavailableException(
                f"the emulator has {limits.max_connections} connections open, its limit "
                f"(reconciler serve --max-connections); retry later", headers={"retry-after": "1"})))
            self._linger()

        def _linger(self) -> None:
            """Close after an error answer without resetting the connection: closing with the
            client's bytes unread sends a RST, and the client may lose the answer. So: FIN after
            the answer, then drain what still comes until the client closes (or LINGER_BYTES,
            or LINGER_SECONDS)."""
            self.connections.discard(self)
            self._stop_being_idle()
            self._cancel_timers()
            if not self.transport.can_write_eof():
                self.transport.close()
                return
            if len(shared.lingering) >= limits.max_lingering:
                # a flood of refused connections must not cost later clients their clean close:
                # the one draining the longest (it has had its answer for a while) goes first
                oldest = next(iter(shared.lingering))
                shared.lingering.pop(oldest)
                oldest.transport.close()
            shared.lingering[self] = None
            self._lingering = True
            self.transport.write_eof()
            self.transport.resume_reading()
            self._read_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_timers()
            shared.idle.pop(self, None)
            if self._lingering:
                shared.lingering.pop(self, None)
                self._lingering = False
            super().connection_lost(exc)

        # --- bytes in ---------------------------------------------------------------

        def data_received(self, data: bytes) -> None:
            if self._lingering:
                self._drained += len(data)
                if self._drained > LINGER_BYTES:
                    self.transport.close()
                return
            if self._pending_error is not None:
                return  # the parser stopped at the error: nothing after it is read
            self._unset_keepalive_if_required()
            if self._idle:
                self._stop_being_idle()
            try:
                if len(data) <= FEED_SLICE:  # the usual case: a whole small request
                    self.parser.feed_data(data)
                    if self._in_head and self._head_too_large(len(data)):
                        return
                else:
                    view = memoryview(data)
                    for start in range(0, len(view), FEED_SLICE):
                        piece = view[start:start + FEED_SLICE]
                        self.parser.feed_data(piece)
                        if self._in_head and self._head_too_large(len(piece)):
                            return
                        if self.transport.is_closing():
                            return
            except httptools.HttpParserUpgrade:
                self._reject(errors.ValidationException(
                    "protocol upgrades (Upgrade, CONNECT) are not supported: every action is POST /{Action}"))
                return
            except httptools.HttpParserError as e:
                # a callback's own error (an unparsable URL, say) says more than "User callback error"
                cause = e.__cause__ if isinstance(e, httptools.HttpParserCallbackError) and e.__cause__ else e
                self._reject(errors.ValidationException(f"malformed HTTP request: {str(cause)[:200]}"))
                return
            self._update_timers()

        def _head_too_large(self, fed: int) -> bool:
            """Count `fed` bytes into a head still incomplete (at most one slice too many, never
            too few); past the cap, answer 431 and say so."""
            self._head_bytes += fed
            if self._head_bytes <= MAX_HEAD_BYTES:
                return False
            self._reject(RequestHeaderSectionTooLarge(
                f"the request's head (request line and headers) is larger than {MAX_HEAD_BYTES >> 10} KiB"))
            return True

        # --- parser callbacks -------------------------------------------------------

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_head, self._head_bytes = True, 0

        def on_headers_complete(self) -> None:
            self._in_head, self._reading_body = False, True
            super().on_headers_complete()
            if not self.pipeline or self.pipeline[0][0] is not self.cycle:  # uvicorn queues with appendleft
                self._running = self.cycle  # not queued behind another: the app runs it now

        def on_message_complete(self) -> None:
            self._reading_body = False
            super().on_message_complete()

        def on_response_complete(self) -> None:
            self._running = self.pipeline[-1][0] if self.pipeline else None  # uvicorn starts it next
            super().on_response_complete()
            if self._pending_error is not None and not self.transport.is_closing() and not self._answer_due():
                self._unset_keepalive_if_required()
                self.transport.write(error_response(self._pending_error))
                self._linger()
                return
            if not (self.pipeline or self._in_head or self._reading_body or self.transport.is_closing()):
                self._become_idle()

        # --- timers -----------------------------------------------------------------

        def _update_timers(self) -> None:
            """After a chunk is parsed: one clock runs from a request's first byte until its
            last (head and body: a new byte does not restart it); set here rather than per
            callback, so that a request arriving whole costs no timer at all."""
            if self._in_head or self._reading_body or not self._answer_due():
                if self._read_timer is None:
                    self._arm_read_timer()  # a partial request, or stray bytes between requests
            else:
                self._cancel_read_timer()

        def _answer_due(self) -> bool:
            """Whether an answer to a request already read is still to be written."""
            return bool(self.pipeline) or (self._running is not None and not self._running.response_complete)

        def _arm_read_timer(self) -> None:
            self._read_timer = self.loop.call_later(limits.read_timeout, self._read_expired)

        def _cancel_read_timer(self) -> None:
            if self._read_timer is not None:
                self._read_timer.cancel()
                self._read_timer = None

        def _cancel_timers(self) -> None:
            self._cancel_read_timer()
            self._cancel_write_timer()

        # --- bytes out: a reader that stopped reading ----------------------------------

        def pause_writing(self) -> None:
            super().pause_writing()
            if self._write_timer is None:
                self._write_timer = self.loop.call_later(limits.read_timeout, self._write_stalled)

        def resume_writing(self) -> None:
            self._cancel_write_timer()
            super().resume_writing()

        def _cancel_write_timer(self) -> None:
            if self._write_timer is not None:
                self._write_timer.cancel()
                self._write_timer = None

        def _write_stalled(self) -> None:
            self._write_timer = None
            if not self.transport.is_closing():
                # no answer can reach a client that does not read: drop the connection (and the
                # buffered bytes); connection_lost wakes the app task waiting to write more
                log.debug("HTTP client %s stopped reading its answer for %g s: closed", self.client,
                          limits.read_timeout)
                self.transport.abort()

        def _read_expired(self) -> None:
            self._read_timer = None
            if self.transport.is_closing():
                return
            if self._reading_body:
                if self.flow.read_paused:  # the server stopped reading, not the client: not its time
                    self._arm_read_timer()
                    return
                self._reject(RequestTimeout(f"the request's body did not arrive within {limits.read_timeout:g} s "
                                            f"of the request's start"))
                return
            if self._answer_due():
                self._arm_read_timer()  # an answer is still due: the next head's clock starts after it
            elif self._idle:
                self.transport.close()  # not a byte sent: nothing to answer
            else:
                self._reject(RequestTimeout(f"the request's head did not arrive within {limits.read_timeout:g} s"))

        # --- answers ----------------------------------------------------------------

        def _reject(self, error: errors.EmulatorError) -> None:
            """Answer `error` and close, in order: after the answers still due to earlier requests."""
            cycle = self.cycle
            in_body = self._reading_body  # the error is in `cycle`'s own body, not in a new head
            self._in_head = self._reading_body = False
            self._cancel_timers()
            log.debug("HTTP request from %s refused: %s %s", self.client, error.code, error.message)
            if in_body and cycle is not None and cycle is self._running:  # the request being answered now
                if cycle.response_started:
                    cycle.keep_alive = False  # it has its answer already: close after it
                    return
                cycle.disconnected = True  # the app, waiting for this body, stops without answering
                cycle.message_event.set()
            else:
                if in_body:  # a request queued behind another, whose body broke: it never runs
                    for entry in [entry for entry in self.pipeline if entry[0] is cycle]:
                        self.pipeline.remove(entry)
                if self._answer_due():
                    self._pending_error = error
                    self.flow.pause_reading()
                    return
            self.transport.write(error_response(error))
            self._linger()

    return GuardedProtocol
