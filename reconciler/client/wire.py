"""What one HTTP exchange gives the transport, whichever sender carried it: a Reply, or a
WireError saying how the exchange failed, and the limits every sender holds an answer to.
Three senders speak this (`senders.open_sender` picks one; they import this module, never
the reverse):

- `direct.DirectSender`: HTTP/1.1 over asyncio with the httptools parser, for the normal
  case of connecting straight to the endpoint. It costs a fraction of httpx's CPU per
  request, which is what bounds a refresh of thousands of objects.
- `pool.HttpxSender`: httpx, for what the direct sender does not do: an injected httpx
  transport (test doubles, `tests/support/embedded.py`) and proxies from the environment.
- `cli.inprocess.AsgiSender`: the embedded emulator, called in this process (no socket, no
  httpx); cli/target.py opens it with `cli.inprocess.embedded_sender`.

An endpoint can be anything (a misconfigured `TOS_ENDPOINT`, a proxy, a hijacked name), so
a network sender holds every answer to these limits, each a WireError that is not retried
(the same answer would come again) unless said otherwise:

- the head: at most MAX_HEAD bytes and MAX_HEADERS header lines (`HeadTooLarge`);
- the body: at most MAX_BODY bytes once decoded, decoded as it arrives, so a gzip bomb
  stops at the limit instead of expanding in memory (`BodyDecoder`, `TooLarge`);
- the time: the whole exchange within the call's timeout (`TimedOut`, retried), and once
  the answer has started, no slower than MIN_RATE after a grace of BODY_GRACE seconds
  (`Stalled`): a trickle of bytes is reported in seconds, not waited out for the timeout
  once per attempt.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

# The largest real answers are a page of vectors with their data and metadata (ListVectors
# stops a page at 1 MB; GetVectors and QueryVectors return at most a few MB): 64 MiB is far
# above any of them and small enough that a run holding it stays light.
MAX_BODY = 64 << 20
MAX_HEAD = 64 << 10  # the service sends about 15 header lines, under 1 KiB
MAX_HEADERS = 100
BODY_GRACE = 5.0  # seconds from the first byte of an answer before MIN_RATE applies
MIN_RATE = 8 << 10  # bytes per second: a modem's pace; a real answer comes thousands of times faster


@dataclass(slots=True)
class Reply:
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    content: bytes


class WireError(Exception):
    """An exchange that produced no (usable) HTTP response. `kind` names the failure for
    messages; `request_id` is the answer's x-tos-request-id when its head had come.

    `may_have_arrived`: the request may have reached the server (it was written, or partly,
    and no answer came), so a write may have taken effect. False only when it certainly
    did not leave: no connection, or refused before sending."""

    retryable = True
    kind = "NetworkError"
    may_have_arrived = True

    def __init__(self, detail: str = "", kind: str | None = None, *, retryable: bool | None = None,
                 may_have_arrived: bool | None = None, request_id: str = ""):
        super().__init__(detail)
        self.detail = detail
        self.request_id = request_id
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


class Stalled(TimedOut):
    """The answer started and then came slower than MIN_RATE: not retried (see the module
    docstring), and, as any timeout, it marks the endpoint unresponsive."""

    kind = "SlowResponse"
    retryable = False


class Disconnected(WireError):
    """The peer closed the connection or broke the protocol mid-response."""

    kind = "RemoteProtocolError"


class Unusable(WireError):
    """A request that cannot succeed however often it is sent (bad scheme, bad encoding)."""

    retryable = False
    kind = "UnsupportedProtocol"
    may_have_arrived = False


class TooLarge(WireError):
    """An answer past MAX_BODY (decoded): read no further."""

    retryable = False
    kind = "ResponseTooLarge"


class HeadTooLarge(TooLarge):
    kind = "HeadersTooLarge"


def head_too_large(size: int, count: int) -> HeadTooLarge | None:
    """The head rule, for senders that count as they parse: `size` bytes and `count`
    header lines so far."""
    if size > MAX_HEAD:
        return HeadTooLarge(f"the response headers are larger than {MAX_HEAD >> 10} KiB")
    if count > MAX_HEADERS:
        return HeadTooLarge(f"the response has more than {MAX_HEADERS} headers")
    return None


def stalled(received: int, elapsed: float) -> float:
    """Seconds the answer may still take to deliver its next byte under the pace rule
    (`received` bytes in `elapsed` seconds since its first byte); <= 0: it has stalled."""
    return BODY_GRACE + received / MIN_RATE - elapsed


def stall_error(received: int, elapsed: float, request_id: str = "") -> Stalled:
    return Stalled(f"the response came too slow: {received} bytes in {elapsed:.1f} s", request_id=request_id)


class BodyDecoder:
    """A response body as it arrives, Content-Encoding (gzip, deflate) undone chunk by
    chunk and the decoded size held to MAX_BODY. The plain case only collects the chunks."""

    __slots__ = ("encoding", "size", "request_id", "_parts", "_z", "_raw_deflate", "_fed", "_unsupported", "_first")

    def __init__(self, encoding: str = "", request_id: str = ""):
        self.encoding = encoding.strip().lower()
        self.request_id = request_id
        self.size = 0
        self._parts: list[bytes] = []
        self._z: zlib._Decompress | None = None
        self._raw_deflate = False
        self._fed = False
        self._first = b""  # deflate's first two bytes (its zlib header, or not)
        if self.encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding == "deflate":
            self._z = zlib.decompressobj()
        # refused at the first byte: an empty body needs no decoding
        self._unsupported = self._z is None and self.encoding not in ("", "identity")

    def feed(self, data: bytes) -> None:
        if not data:
            return
        if self._z is None:
            if self._unsupported:
                raise self._bad(f"unsupported content encoding {self.encoding!r}")
            self.size += len(data)
            if self.size > MAX_BODY:
                raise self._too_large()
            self._parts.append(data)
            return
        self._fed = True
        first = self._first
        if len(first) < 2:
            self._first = (first + data)[:2]
        try:
            # max_length one past what is left: output cut at the limit means over it
            out = self._z.decompress(data, MAX_BODY - self.size + 1)
        except zlib.error as exc:
            if self.encoding != "deflate" or len(first) >= 2 or self._raw_deflate:
                raise self._bad(str(exc)) from None
            # some servers send raw deflate without the zlib header: start again as that
            self._z, self._raw_deflate = zlib.decompressobj(-zlib.MAX_WBITS), True
            self.feed(first + data)
            return
        self.size += len(out)
        if self.size > MAX_BODY:
            raise self._too_large()
        self._parts.append(out)

    def finish(self) -> bytes:
        """The whole decoded body; a compressed stream must have ended (an empty body is empty)."""
        if self._z is not None and self._fed:
            try:
                tail = self._z.flush()
            except zlib.error as exc:
                raise self._bad(str(exc)) from None
            if not self._z.eof:
                raise self._bad("incomplete or truncated stream")
            if tail:
                self.size += len(tail)
                if self.size > MAX_BODY:
                    raise self._too_large()
                self._parts.append(tail)
        return self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)

    def _too_large(self) -> TooLarge:
        what = "decoded " if self._z is not None else ""
        return TooLarge(f"the {what}response body is larger than {MAX_BODY >> 20} MiB", request_id=self.request_id)

    def _bad(self, why: str) -> Unusable:
        return Unusable(f"cannot decode the {self.encoding} response body: {why}", kind="DecodingError",
                        may_have_arrived=True, request_id=self.request_id)


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
