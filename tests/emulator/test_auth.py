"""TOS4-HMAC-SHA256 verification: the WIRE.md §2 vectors, both SDK dialects, every refusal."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timezone
from typing import Any, Iterator

import httpx
import pytest

from reconciler.emulator import EmulatorConfig
from reconciler.emulator.auth import (
    EMPTY_SHA256,
    UNSIGNED_PAYLOAD,
    Verifier,
    canonical_request,
    parse_authorization,
    signature,
    string_to_sign,
)
from reconciler.emulator.errors import AccessDeniedException, RequestTimeTooSkewed
from tests.emulator.helpers import Api, asgi_api
from tests.support.emulator import running_emulator

AK, SK, REGION = "AKLTexampleAccessKey", "exampleSecretKey", "cn-beijing"
WIRE_DATE = "20250102T030405Z"
WIRE_HOST = "my-bucket-2100000001.tosvectors-cn-beijing.volces.com"
WIRE_HEADERS = [("host", WIRE_HOST), ("x-tos-content-sha256", UNSIGNED_PAYLOAD), ("x-tos-date", WIRE_DATE)]


def test_wire_worked_vector_canonical_request_and_string_to_sign() -> None:
    canonical = canonical_request("POST", "/GetIndex", WIRE_HEADERS, UNSIGNED_PAYLOAD)
    assert canonical == (
        "POST\n/GetIndex\n\n"
        f"host:{WIRE_HOST}\nx-tos-content-sha256:UNSIGNED-PAYLOAD\nx-tos-date:{WIRE_DATE}\n\n"
        "host;x-tos-content-sha256;x-tos-date\nUNSIGNED-PAYLOAD")
    assert string_to_sign(WIRE_DATE, "20250102/cn-beijing/tosvectors/request", canonical) == (
        "TOS4-HMAC-SHA256\n20250102T030405Z\n20250102/cn-beijing/tosvectors/request\n"
        "9850cdc7d9191094dcfc6cd368cd62a3dee44485be30c67cf2f2ed3d702be3f2")


@pytest.mark.parametrize("path,headers,payload,expected", [
    ("/GetIndex", WIRE_HEADERS, UNSIGNED_PAYLOAD,
     "453a0bc5c6f2524191cc9ca1b813088d4b4f80ab17fce02638f3ac9ac7550657"),
    ("/CreateVectorBucket", [("host", "tosvectors-cn-beijing.volces.com")] + WIRE_HEADERS[1:], UNSIGNED_PAYLOAD,
     "82bd6a226bc978753a793b0ff21bbe571c228ab0881a7851190ea1c58042e553"),
    ("/GetIndex", WIRE_HEADERS + [("x-tos-security-token", "STS-TOKEN-XYZ")], UNSIGNED_PAYLOAD,
     "33560a012a0fdf902774fa13adb72dfcfcfee3f73df1fa16327af57f98002053"),
    ("/GetIndex", [WIRE_HEADERS[0], WIRE_HEADERS[2]], EMPTY_SHA256,  # Go style
     "c8bb6d1e85e363726ab07d622ea22b1fcc1faedc45e15aac44d32e2b40631a4f"),
], ids=["get-index", "create-bucket", "sts-token", "go-style"])
def test_wire_signatures(path: str, headers: list[tuple[str, str]], payload: str, expected: str) -> None:
    assert signature(SK, WIRE_DATE, REGION, canonical_request("POST", path, headers, payload)) == expected


def test_the_captured_sdk_request_verifies() -> None:
    """The exact request of WIRE.md §2, checked at the moment it was signed."""
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc).timestamp()
    headers = {"host": WIRE_HOST, "x-tos-content-sha256": UNSIGNED_PAYLOAD, "date": WIRE_DATE,
               "x-tos-date": WIRE_DATE, "user-agent": "ve-tos-python-sdk/v2.9.3(linux/x86_64;3.11.7)",
               "authorization": f"TOS4-HMAC-SHA256 Credential={AK}/20250102/cn-beijing/tosvectors/request, "
                                "SignedHeaders=host;x-tos-content-sha256;x-tos-date, "
                                "Signature=453a0bc5c6f2524191cc9ca1b813088d4b4f80ab17fce02638f3ac9ac7550657"}
    body = b'{"indexName": "my-index", "vectorBucketName": "my-bucket"}'
    Verifier(AK, SK, clock=lambda: when).verify("POST", "/GetIndex", headers, body)
    with pytest.raises(AccessDeniedException, match="signature does not match"):
        Verifier(AK, "wrong", clock=lambda: when).verify("POST", "/GetIndex", headers, body)
    with pytest.raises(RequestTimeTooSkewed):
        Verifier(AK, SK, clock=lambda: when + 3600).verify("POST", "/GetIndex", headers, body)


def test_parse_authorization_both_dialects() -> None:
    py = parse_authorization("TOS4-HMAC-SHA256 Credential=AK/20250102/cn-beijing/tosvectors/request, "
                             "SignedHeaders=host;x-tos-date, Signature=abc")
    go = parse_authorization("TOS4-HMAC-SHA256 Credential=AK/20250102/cn-beijing/tosvectors/request,"
                             "SignedHeaders=host;x-tos-date,Signature=abc")
    assert py == go
    assert (py.access_key, py.day, py.region, py.signed_headers) == ("AK", "20250102", "cn-beijing", ("host", "x-tos-date"))
    for bad in ("AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=x",
                "TOS4-HMAC-SHA256 Credential=AK/20250102, SignedHeaders=host, Signature=x",
                "TOS4-HMAC-SHA256 SignedHeaders=host", "", "TOS4-HMAC-SHA256"):
        with pytest.raises(AccessDeniedException):
            parse_authorization(bad)


def signed_headers(host: str, path: str, body: bytes, *, ak: str = AK, sk: str = SK, date: str | None = None,
                   go: bool = False, extra: dict[str, str] | None = None, body_hash: bool = False) -> dict[str, str]:
    """Sign a request the way the Python SDK (or, with go=True, the Go SDK) does."""
    date = date or datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    headers = {"host": host, "x-tos-date": date, **(extra or {})}
    if not go:
        headers["x-tos-content-sha256"] = hashlib.sha256(body).hexdigest() if body_hash else UNSIGNED_PAYLOAD
    payload = headers.get("x-tos-content-sha256", EMPTY_SHA256)
    signed = sorted((k, " ".join(v.split()) if go else v) for k, v in headers.items())
    sig = signature(sk, date, REGION, canonical_request("POST", path, signed, payload))
    sep = "," if go else ", "
    headers["authorization"] = (f"TOS4-HMAC-SHA256 Credential={ak}/{date[:8]}/{REGION}/tosvectors/request{sep}"
                                f"SignedHeaders={';'.join(k for k, _ in signed)}{sep}Signature={sig}")
    return headers


@pytest.fixture
def secured() -> Iterator[Api]:
    api, post = asgi_api(EmulatorConfig(data_dir=":memory:", access_key=AK, secret_key=SK))
    yield api
    post.close()


def _send(api: Api, action: str, body: dict[str, Any], host: str = "127.0.0.1", **sign: Any) -> httpx.Response:
    raw = json.dumps(body).encode()
    return api.post(f"/{action}", raw, signed_headers(host, f"/{action}", raw, **sign))


def test_signed_requests_are_accepted(secured: Api) -> None:
    assert _send(secured, "CreateVectorBucket", {"vectorBucketName": "sig"}).status_code == 200
    host = "sig-2100000000.127.0.0.1"
    assert _send(secured, "GetVectorBucket", {"vectorBucketName": "sig"}, host).status_code == 200
    assert _send(secured, "GetVectorBucket", {"vectorBucketName": "sig"}, host, go=True).status_code == 200
    assert _send(secured, "GetVectorBucket", {"vectorBucketName": "sig"}, host,
                 extra={"x-tos-security-token": "STS-TOKEN"}).status_code == 200
    assert _send(secured, "GetVectorBucket", {"vectorBucketName": "sig"}, host, body_hash=True).status_code == 200
    # Go collapses whitespace inside signed values; the verifier accepts that form too
    r = _send(secured, "GetVectorBucket", {"vectorBucketName": "sig"}, host, go=True,
              extra={"x-tos-meta-note": "a   b  c"})
    assert r.status_code == 200, r.text
    skewed = datetime.fromtimestamp(time.time() - 14 * 60, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    assert _send(secured, "ListVectorBuckets", {}, date=skewed).status_code == 200


@pytest.mark.parametrize("case,code", [
    ("wrong-secret", "AccessDeniedException"),
    ("unknown-key", "AccessDeniedException"),
    ("unsigned", "AccessDeniedException"),
    ("tampered-host", "AccessDeniedException"),
    ("tampered-path", "AccessDeniedException"),
    ("bad-body-hash", "AccessDeniedException"),
    ("garbage-authorization", "AccessDeniedException"),
    ("missing-date", "AccessDeniedException"),
    ("non-ascii-signature", "AccessDeniedException"),
    ("skew-past", "RequestTimeTooSkewed"),
    ("skew-future", "RequestTimeTooSkewed"),
])
def test_bad_signatures_are_refused(secured: Api, case: str, code: str) -> None:
    raw = b'{"maxResults": 1}'
    path = "/ListVectorBuckets"
    headers = signed_headers("127.0.0.1", path, raw)
    if case == "wrong-secret":
        headers = signed_headers("127.0.0.1", path, raw, sk="not-the-secret")
    elif case == "unknown-key":
        headers = signed_headers("127.0.0.1", path, raw, ak="AKLTsomebodyElse")
    elif case == "unsigned":
        headers = {"host": "127.0.0.1"}
    elif case == "tampered-host":
        headers["host"] = "localhost"
    elif case == "tampered-path":
        path = "/CreateVectorBucket"
        raw = b'{"vectorBucketName": "sneaky"}'
    elif case == "bad-body-hash":
        headers = signed_headers("127.0.0.1", path, b"{}", body_hash=True)
    elif case == "garbage-authorization":
        headers["authorization"] = "Bearer abc"
    elif case == "missing-date":
        del headers["x-tos-date"]
    elif case == "non-ascii-signature":
        headers["authorization"] = headers["authorization"][:-3] + "\u00e9\u00e9\u00e9"
    else:
        offset = -20 * 60 if case == "skew-past" else 20 * 60
        date = datetime.fromtimestamp(time.time() + offset, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        headers = signed_headers("127.0.0.1", path, raw, date=date)
    encoded: Any = {k: v.encode("utf-8") for k, v in headers.items()}  # bytes: httpx sends them as is
    r = secured.post(path, raw, encoded)
    assert r.status_code == 403, r.text
    assert r.json()["Code"] == code and r.headers["x-tos-request-id"]
    assert secured.ok("ListVectorBuckets", {}, headers=signed_headers("127.0.0.1", "/ListVectorBuckets", b"{}")) == {
        "vectorBuckets": []}  # nothing was created by the refused requests


def test_signatures_over_http(tmp_path: Any) -> None:
    with running_emulator(tmp_path, "--access-key", AK, "--secret-key", SK) as emu:
        raw = b'{"vectorBucketName": "over-http"}'
        with httpx.Client(base_url=emu.url) as client:
            ok = client.post("/CreateVectorBucket", content=raw,
                             headers=signed_headers("127.0.0.1", "/CreateVectorBucket", raw))
            bad = client.post("/CreateVectorBucket", content=raw,
                              headers=signed_headers("127.0.0.1", "/CreateVectorBucket", raw, sk="nope"))
            anonymous = client.post("/ListVectorBuckets", content=b"{}", headers={"host": "127.0.0.1"})
        assert ok.status_code == 200, ok.text
        assert (bad.status_code, bad.json()["Code"]) == (403, "AccessDeniedException")
        assert (anonymous.status_code, anonymous.json()["Code"]) == (403, "AccessDeniedException")
        assert SK not in emu.stderr_text()
