"""TOS4-HMAC-SHA256 request verification (README "Wire protocol" §2), on when the emulator has keys.

The signature math is in three pure functions (canonical_request, string_to_sign,
signing_key) checked against the SDK's own worked vectors in the tests. Verification
accepts both client dialects:

- Python SDK: `x-tos-content-sha256: UNSIGNED-PAYLOAD` is signed and is the payload hash;
  Authorization parts are separated by ", ".
- Go SDK: no sha header, so the payload hash is SHA-256 of the empty string; parts are
  separated by a bare ","; header values are signed with runs of whitespace collapsed.
  The verifier tries the verbatim values first, then the collapsed ones.

Failures: no Authorization, a malformed one, an unknown access key or a wrong signature
is 403 AccessDeniedException; an x-tos-date more than 15 minutes from the server clock is
403 RequestTimeTooSkewed. The region is taken from the credential scope, and must be the
region the server serves (`serve --region`), as a real region endpoint checks.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from reconciler.emulator.errors import AccessDeniedException, RequestTimeTooSkewed

ALGORITHM = "TOS4-HMAC-SHA256"
SERVICE = "tosvectors"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_SKEW_SECONDS = 15 * 60
DATE_FORMAT = "%Y%m%dT%H%M%SZ"

_WHITESPACE = re.compile(r"\s+")


def _same(a: str, b: str) -> bool:
    """Constant-time comparison that also takes non-ASCII text (compare_digest on str does not)."""
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def canonical_request(method: str, path: str, signed_headers: Sequence[tuple[str, str]],
                      payload_hash: str, query: str = "") -> str:
    """The canonical request; `signed_headers` are (lower-case name, value) sorted by name."""
    header_block = "".join(f"{name}:{value}\n" for name, value in signed_headers)
    names = ";".join(name for name, _ in signed_headers)
    return "\n".join([method.upper(), quote(path, safe="/~"), query, header_block, names, payload_hash])


def string_to_sign(date: str, scope: str, canonical: str) -> str:
    """TOS4-HMAC-SHA256, the x-tos-date, the scope, and the hex SHA-256 of the canonical request."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return "\n".join([ALGORITHM, date, scope, digest])


def signing_key(secret_key: str, day: str, region: str, service: str = SERVICE) -> bytes:
    """HMAC chain over day, region, service and "request"; the secret is used raw (no prefix)."""
    key = secret_key.encode("utf-8")
    for part in (day, region, service, "request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def signature(secret_key: str, date: str, region: str, canonical: str) -> str:
    """The hex signature of a canonical request signed at `date` (YYYYMMDDTHHMMSSZ)."""
    day = date[:8]
    scope = f"{day}/{region}/{SERVICE}/request"
    key = signing_key(secret_key, day, region)
    return hmac.new(key, string_to_sign(date, scope, canonical).encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Authorization:
    """The parts of an Authorization header."""

    access_key: str
    day: str
    region: str
    service: str
    terminal: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str) -> Authorization:
    """Parse `TOS4-HMAC-SHA256 Credential=.../SignedHeaders=.../Signature=...` (", " or ",")."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AccessDeniedException(f"Authorization must use {ALGORITHM}")
    parts: dict[str, str] = {}
    for item in rest.split(","):
        name, eq, text = item.strip().partition("=")
        if eq:
            parts[name.strip()] = text.strip()
    credential = parts.get("Credential", "").split("/")
    if len(credential) != 5 or not all(credential) or "SignedHeaders" not in parts or "Signature" not in parts:
        raise AccessDeniedException("Authorization is malformed: expected Credential=AK/DAY/REGION/"
                                    "tosvectors/request, SignedHeaders=... and Signature=...")
    names = tuple(n for n in parts["SignedHeaders"].lower().split(";") if n)
    return Authorization(credential[0], credential[1], credential[2], credential[3], credential[4],
                         names, parts["Signature"])


class Verifier:
    """Checks requests against the owner's access key / secret key pair and any others
    (`serve --user`); `verify` says which access key signed."""

    def __init__(self, access_key: str, secret_key: str,
                 clock: Callable[[], float] = time.time, others: Mapping[str, str] | None = None,
                 region: str | None = None) -> None:
        self._secrets = {**(others or {}), access_key: secret_key}  # the owner's key wins a clash
        self._clock = clock
        self._region = region  # the region this server serves: a scope naming another is refused

    def verify(self, method: str, path: str, headers: Mapping[str, str], body: bytes = b"") -> str:
        """The access key of a correctly signed request; else raise AccessDeniedException /
        RequestTimeTooSkewed.

        `headers` maps lower-case names to values (repeated headers joined with ",").
        A payload hash other than UNSIGNED-PAYLOAD must be the SHA-256 of `body`.
        """
        value = headers.get("authorization")
        if not value:
            raise AccessDeniedException("the request is not signed: Authorization header is missing")
        auth = parse_authorization(value)
        secret_key = self._secrets.get(auth.access_key)
        if secret_key is None:
            raise AccessDeniedException("the access key in the request is not known to this service")
        if auth.service != SERVICE or auth.terminal != "request":
            raise AccessDeniedException(f"the credential scope must end in /{SERVICE}/request")
        if self._region is not None and auth.region != self._region:
            raise AccessDeniedException(f"the credential scope's region {auth.region!r} is not this "
                                        f"service's region {self._region!r}")
        date = headers.get("x-tos-date", "")
        try:
            when = datetime.strptime(date, DATE_FORMAT).replace(tzinfo=UTC).timestamp()
        except ValueError:
            raise AccessDeniedException("x-tos-date is missing or not in the form YYYYMMDDTHHMMSSZ") from None
        skew = abs(self._clock() - when)
        if skew > MAX_SKEW_SECONDS:
            raise RequestTimeTooSkewed(
                f"the request time {date} differs from the server time by {int(skew)} s "
                f"(more than {MAX_SKEW_SECONDS // 60} minutes)")
        if auth.day != date[:8]:
            raise AccessDeniedException("the credential scope's date does not match x-tos-date")
        if "host" not in auth.signed_headers:
            raise AccessDeniedException("SignedHeaders must include host")
        missing = [n for n in auth.signed_headers if n not in headers]
        if missing:
            raise AccessDeniedException(f"signed header {missing[0]!r} is not in the request")
        payload = headers.get("x-tos-content-sha256") or EMPTY_SHA256
        if "x-tos-content-sha256" in headers and payload != UNSIGNED_PAYLOAD:
            if not _same(payload.lower(), hashlib.sha256(body).hexdigest()):
                raise AccessDeniedException("x-tos-content-sha256 is not the SHA-256 of the request body")
        verbatim = [(n, headers[n]) for n in sorted(auth.signed_headers)]
        collapsed = [(n, _WHITESPACE.sub(" ", v).strip()) for n, v in verbatim]
        for signed in (verbatim, collapsed) if collapsed != verbatim else (verbatim,):
            expected = signature(secret_key, date, auth.region, canonical_request(method, path, signed, payload))
            if _same(expected, auth.signature):
                return auth.access_key
        raise AccessDeniedException("the request signature does not match: check the secret key and signing method")
