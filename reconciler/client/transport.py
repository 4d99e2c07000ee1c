"""Sending one action: addressing, headers and signing, retries, flow control, error
mapping and the debug request log. VectorsClient (api.py) builds bodies and parses results;
everything about getting a request to the service and an answer back lives here.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
from typing import Any

from reconciler import __version__
from reconciler.client import signing
from reconciler.client.addressing import Endpoint
from reconciler.client.clock import Clock, ServiceClock
from reconciler.client.credentials import Credentials
from reconciler.client.limits import AdaptiveRate, AimdLimiter, TokenBucket
from reconciler.client.models import Malformed, loads
from reconciler.client.retry import READS, RetryPolicy, RetryStats, parse_retry_after, retryable_status
from reconciler.client.wire import (
    ConnectFailed,
    ConnectTimedOut,
    Disconnected,
    Reply,
    Sender,
    Stalled,
    TimedOut,
    WireError,
)
from reconciler.errors import ApiError, ServiceError, TransportError, service_error_class
from reconciler.util.secrets import mask
from reconciler.util.text import cut

logger = logging.getLogger("reconciler.client")

USER_AGENT = (
    f"reconciler/{__version__} ({sys.platform}/{os.uname().machine if hasattr(os, 'uname') else 'unknown'}; "
    f"python/{'.'.join(map(str, sys.version_info[:3]))})"
)
# The SDK's (requests') values, sent with every request whichever sender carries it.
BASE_HEADERS = {"Accept-Encoding": "gzip, deflate", "Accept": "*/*", "Connection": "keep-alive"}
MAX_MESSAGE = 300


def encode_body(payload: dict[str, Any]) -> bytes:
    """json.dumps with default separators and ensure_ascii, exactly as the SDK sends it."""
    return json.dumps(payload).encode("ascii")


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """A service's words as one bounded line, masked before they are cut (util.text.cut): an
    endpoint that echoes a key must not show its first part where the cut falls."""
    text = " ".join(text.split())
    return mask(text) if len(text) <= limit else cut(text, limit - 3, tail="...")


def _bounded(text: str) -> str:
    # The first 4 lines' worth, cut as one_line cuts (masked first): a secret of up to 8 KiB
    # that straddles the bound is masked whole, not shown in part.
    return cut(text[: 4 * MAX_MESSAGE + 8192], 4 * MAX_MESSAGE, tail="")


class Transport:
    """Sends `POST /{Action}` with retries; returns the 2xx response or raises ApiError."""

    def __init__(
        self,
        *,
        endpoint: Endpoint,
        region: str,
        credentials: Credentials | None,
        http: Sender,
        retry: RetryPolicy,
        clock: Clock,
        limiter: AimdLimiter,
        pacing: AdaptiveRate,
        rate: TokenBucket | None,
        rng: random.Random,
        timeout: float,
        user_agent: str = USER_AGENT,
    ):
        self.endpoint = endpoint
        self.region = region.strip()
        self.credentials = None if credentials is None or credentials.anonymous else credentials
        self.http = http
        self.retry = retry
        self.clock = clock
        self.limiter = limiter
        self.pacing = pacing
        self.rate = rate
        self.rng = rng
        self.timeout = timeout
        self.user_agent = user_agent
        self._who = self.credentials.masked_access_key if self.credentials else "anonymous"
        self._unresponsive: str | None = None  # why calls are no longer sent (see call)
        self.retry_stats = RetryStats()
        self.service_clock = ServiceClock()  # the Date of the latest answer, error answers included

    def headers(self, action: str, host: str, attempt: int, limit: int) -> dict[str, str]:
        """Headers for one attempt of at most `limit`, signed with a fresh date (SDK order and names)."""
        headers = {"User-Agent": self.user_agent, **BASE_HEADERS}
        headers["x-tos-content-sha256"] = signing.UNSIGNED_PAYLOAD
        headers["Host"] = host
        if attempt > 1:
            headers["x-sdk-retry-count"] = f"attempt={attempt - 1}; max={limit - 1}"
        creds = self.credentials
        if creds is not None:
            signing.sign(
                "POST",
                "/" + action,
                headers,
                access_key=creds.access_key,
                secret_key=creds.secret_key,
                security_token=creds.security_token,
                region=self.region,
                date=signing.format_date(self.clock.now()),
            )
        return headers

    async def call(
        self, action: str, payload: dict[str, Any], *, bucket: str | None = None, account_id: str | None = None
    ) -> Reply:
        # Once a call has used up its retries on timeouts, the endpoint has stopped answering
        # (a hung server, a black-holed network): later calls fail at once instead of each
        # waiting out its own timeouts, which for an apply of many steps would add minutes.
        if self._unresponsive is not None:
            raise TransportError(action, f"not sent: {self._unresponsive}")
        try:
            return await self._call(action, payload, bucket, account_id)
        except TransportError as e:
            if isinstance(e.__cause__, (TimedOut, ConnectTimedOut)) and self._unresponsive is None:
                self._unresponsive = f"an earlier {action} gave up on timeouts ({e.message})"
            raise

    async def _call(self, action: str, payload: dict[str, Any], bucket: str | None, account_id: str | None) -> Reply:
        base_url, host = self.endpoint.target(bucket, account_id)
        # the endpoint as the user gave it, then the virtual host it routes on
        where = host if base_url.endswith("://" + host) else f"{base_url} (Host {host})"
        body = encode_body(payload)
        policy = self.retry
        started: float | None = None  # the budget starts at the first send, not in the queue
        error: ApiError | None = None
        attempt = 0
        limit = policy.max_attempts  # then policy.attempts_after what went wrong last
        # Some attempt may have reached the service and its answer never came: until a later
        # attempt gets a definite answer, a write may or may not have taken effect.
        unanswered = False
        while True:
            attempt += 1
            ticket = await self.limiter.acquire(first=attempt > 1)
            try:
                paced = await self.pacing.acquire()
                if self.rate is not None:
                    await self.rate.acquire()
                now = self.clock.monotonic()
                started = now if started is None else started
                budget = min(self.timeout, policy.total_timeout - (now - started))
                if budget <= 0 and error is not None:
                    raise _final(error)  # waiting for a rate-limit token used up the budget
                headers = self.headers(action, host, attempt, limit)
                outcome = await self._send(action, base_url, headers, body, budget, where, f"{attempt}/{limit}")
            except BaseException:
                self.limiter.release()
                raise
            throttled = isinstance(outcome, ServiceError) and outcome.status == 429
            if throttled:  # cut before the slot is released, so the request it wakes sees the cut
                self.limiter.on_throttled(ticket)
                self.pacing.on_throttled(paced)
            self.limiter.release()

            if isinstance(outcome, Reply):
                self.limiter.on_success()
                self.pacing.on_success()
                return outcome
            error = outcome
            error.attempts = attempt
            if isinstance(error, ServiceError):
                retry, retry_after = retryable_status(error.status, error.ec), error.retry_after
                limit = policy.attempts_after(action, error.status)
            else:
                cause = error.__cause__
                retry, retry_after = isinstance(cause, WireError) and cause.retryable, None
                unanswered = unanswered or (isinstance(cause, WireError) and cause.may_have_arrived)
                limit = policy.attempts_after(action, None)
            if unanswered and action not in READS:
                # no answer, or a retryable one (5xx, 429), says nothing of the attempt that went
                # unanswered; a definite answer (Conflict, NotFound, ...) is the outcome as it is
                error.outcome_unknown = not isinstance(error, ServiceError) or retry
            if not retry or attempt >= limit:
                raise _final(error)
            delay = policy.backoff(attempt, self.rng)
            if retry_after is not None:  # at least what the server asks, plus jitter, so that the
                delay += retry_after     # calls it refused together do not all come back together
            if self.clock.monotonic() - started + delay >= policy.total_timeout:
                logger.debug("giving up %s after %d attempts: %.1fs budget", action, attempt, policy.total_timeout)
                raise _final(error)
            logger.debug("retry %s in %.3fs (attempt %d/%d)", action, delay, attempt + 1, limit)
            self.retry_stats.record(_cause(error), delay)
            await self.clock.sleep(delay)

    async def _send(self, action: str, base_url: str, headers: dict[str, str], body: bytes, timeout: float,
                    where: str, of: str) -> Reply | ApiError:
        """One attempt (`of`: "2/6"): the 2xx response, or the error it amounts to (not raised)."""
        debug = logger.isEnabledFor(logging.DEBUG)
        if debug:
            logger.debug("request %s host=%s attempt=%s ak=%s", action, where, of, self._who)
        start = self.clock.monotonic()
        try:
            response = await self.http.send(base_url, "/" + action, headers, body, timeout)
        except WireError as exc:
            error = transport_error(action, where, exc)
            error.__cause__ = exc
            logger.debug(
                "failed %s host=%s attempt=%s elapsed=%.3fs error=%s",
                action, where, of, self.clock.monotonic() - start, error.message,
            )
            return error
        self.service_clock.observe(response.headers.get("date"), self.clock.monotonic())
        if debug:
            logger.debug(
                "response %s host=%s status=%d request_id=%s attempt=%s elapsed=%.3fs",
                action, where, response.status, response.headers.get("x-tos-request-id", ""), of,
                self.clock.monotonic() - start,
            )
        if response.status < 300:
            return response
        return service_error(action, response, self.clock)


def _final(error: ApiError) -> ApiError:
    """The error as raised to the caller; a transport failure says how often it was tried
    (a ServiceError's one-line str is fixed by reconciler.errors; it has `.attempts`)."""
    if isinstance(error, TransportError) and error.attempts > 1 and "attempts)" not in error.message:
        error.message = f"{error.message} (after {error.attempts} attempts)"
        error.args = (error.message,)
    return error


def _cause(error: ApiError) -> str:
    if isinstance(error, ServiceError):
        return str(error.status)
    return "timeout" if isinstance(error.__cause__, (TimedOut, ConnectTimedOut)) else "network"


def transport_error(action: str, where: str, exc: WireError) -> TransportError:
    detail = one_line(str(exc)) or exc.kind
    if isinstance(exc, ConnectTimedOut):
        message = f"timed out connecting to {where}"
    elif isinstance(exc, TimedOut) and not isinstance(exc, Stalled):
        message = f"timed out waiting for {where} ({exc.kind})"
    elif isinstance(exc, ConnectFailed):
        message = f"cannot connect to {where}: {detail}"
    elif isinstance(exc, Disconnected):
        message = f"connection to {where} closed unexpectedly: {detail}"
    else:
        message = f"request to {where} failed: {detail}"
    if exc.request_id:  # the head came, then the answer broke a limit or stopped
        message += f" (request id {one_line(exc.request_id, 80)})"
    return TransportError(action, message)


def service_error(action: str, response: Reply, clock: Clock) -> ServiceError:
    """Map an error response (status >= 300) to the error tree, like the SDK's TosServerError."""
    status = response.status
    raw = response.content
    body: dict[str, Any] = {}
    try:
        parsed = loads(raw) if raw else None
        if isinstance(parsed, dict):
            body = parsed
    except Malformed:  # the status says what matters; the text shows below
        pass
    headers = response.headers
    code = _text(body.get("Code")) or response.reason.replace(" ", "") or f"HTTP{status}"
    if body:
        message = _text(body.get("Message"))
    else:
        message = _bounded(raw[: 4 * MAX_MESSAGE + 8192].decode("utf-8", errors="replace"))
    message = one_line(message) or response.reason or f"HTTP {status}"
    cls = service_error_class(status, code)
    return cls(
        action,
        status,
        code,
        message,
        request_id=headers.get("x-tos-request-id") or _text(body.get("RequestId")),
        ec=_text(body.get("EC")) or headers.get("x-tos-ec", ""),
        host_id=_text(body.get("HostId")) or headers.get("x-tos-id-2", ""),
        retry_after=parse_retry_after(headers.get("retry-after"), clock.now()),
    )


def _text(value: Any) -> str:
    """An error body's field as one short line (a field of the wrong type is shown, bounded)."""
    if not value:
        return ""
    text = value if isinstance(value, str) else json.dumps(value)
    return one_line(_bounded(text))
