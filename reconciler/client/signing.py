"""TOS4-HMAC-SHA256 request signing, byte-compatible with the official SDK (tos 2.9.3 auth.py).

Pure functions of their inputs (no clock, no I/O), so the emulator can reuse them to verify.
README "Wire protocol" §2 has the algorithm and worked vectors; in short:

    canonical request = METHOD \\n quote(path) \\n query \\n "k:v\\n"... \\n k;k;k \\n payload-hash
    string to sign    = TOS4-HMAC-SHA256 \\n date \\n day/region/service/request \\n sha256(canonical)
    signing key       = HMAC chain over secret -> day -> region -> service -> "request"
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, MutableMapping, Sequence
from datetime import UTC, datetime
from urllib.parse import quote

ALGORITHM = "TOS4-HMAC-SHA256"
SERVICE = "tosvectors"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# The Go SDK sends no x-tos-content-sha256 and hashes the empty payload instead.
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
DATE_FORMAT = "%Y%m%dT%H%M%SZ"


def format_date(when: datetime) -> str:
    """ISO basic UTC date, e.g. 20250102T030405Z (naive datetimes are taken as UTC)."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime(DATE_FORMAT)


def _is_signed(name: str) -> bool:
    return name == "host" or name == "content-type" or name.startswith("x-tos")


def select_signed_headers(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    """The (lower-cased name, verbatim value) pairs the SDK signs, sorted by name."""
    chosen: dict[str, str] = {}
    for name, value in headers.items():
        low = name.lower()
        if _is_signed(low):
            chosen[low] = value
    return sorted(chosen.items())


def canonical_request(
    method: str,
    path: str,
    headers: Mapping[str, str],
    *,
    signed_names: Sequence[str] | None = None,
    payload_hash: str | None = None,
    query: str = "",
) -> str:
    """The canonical request. `signed_names` defaults to the SDK's selection; a verifier
    passes the list from the Authorization header instead. `payload_hash` defaults to the
    x-tos-content-sha256 header, else UNSIGNED-PAYLOAD (as the SDK does)."""
    if signed_names is None:
        pairs = select_signed_headers(headers)
    else:
        lower = {k.lower(): v for k, v in headers.items()}
        pairs = [(n.lower(), lower.get(n.lower(), "")) for n in signed_names]
    if payload_hash is None:
        payload_hash = _header(headers, "x-tos-content-sha256") or UNSIGNED_PAYLOAD
    block = "".join(f"{name}:{value}\n" for name, value in pairs)
    return "\n".join(
        [method.upper(), quote(path, safe="/~"), query, block, ";".join(n for n, _ in pairs), payload_hash]
    )


def credential_scope(date: str, region: str, service: str = SERVICE) -> str:
    return f"{date[:8]}/{region}/{service}/request"


def string_to_sign(date: str, region: str, canonical: str, service: str = SERVICE) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return "\n".join([ALGORITHM, date, credential_scope(date, region, service), digest])


def signing_key(secret_key: str, day: str, region: str, service: str = SERVICE) -> bytes:
    """kSigning; the secret is used raw (no 'TOS4' prefix)."""
    key = secret_key.encode("utf-8")
    for part in (day, region, service, "request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def signature(secret_key: str, date: str, region: str, canonical: str, service: str = SERVICE) -> str:
    key = signing_key(secret_key, date[:8], region, service)
    sts = string_to_sign(date, region, canonical, service)
    return hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(
    access_key: str, date: str, region: str, signed_names: Sequence[str], sig: str, service: str = SERVICE
) -> str:
    """The Authorization header value, parts joined by ', ' as the Python SDK does."""
    return (
        f"{ALGORITHM} Credential={access_key}/{credential_scope(date, region, service)}, "
        f"SignedHeaders={';'.join(signed_names)}, Signature={sig}"
    )


def sign(
    method: str,
    path: str,
    headers: MutableMapping[str, str],
    *,
    access_key: str,
    secret_key: str,
    region: str,
    date: str,
    security_token: str | None = None,
    service: str = SERVICE,
) -> None:
    """Sign in place like the SDK's AuthBase.sign_request: adds x-tos-security-token (if a
    token is given), Date and x-tos-date (both ISO basic) and Authorization.
    `headers` must already hold Host and x-tos-content-sha256."""
    region = region.strip()
    if security_token:
        headers["x-tos-security-token"] = security_token
    headers["Date"] = date
    headers["x-tos-date"] = date
    pairs = select_signed_headers(headers)
    names = [n for n, _ in pairs]
    canonical = canonical_request(method, path, headers, signed_names=names)
    sig = signature(secret_key, date, region, canonical, service)
    headers["Authorization"] = authorization(access_key, date, region, names, sig, service)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None
