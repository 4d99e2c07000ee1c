"""TOS4-HMAC-SHA256 verification: the README "Wire protocol" §2 vectors, both SDK dialects, every refusal."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

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
    """The exact request of README "Wire protocol" §2, checked at the moment it was signed."""
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
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
                   go: bool = False, extra: dict[str, str] | None = None, body_hash: bool = False,
                   region: str = REGION) -> dict[str, str]:
    """Sign a request the way the Python SDK (or, with go=True, the Go SDK) does."""
    date = date or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {"host": host, "x-tos-date": date, **(extra or {})}
    if not go:
        headers["x-tos-content-sha256"] = hashlib.sha256(body).hexdigest() if body_hash else UNSIGNED_PAYLOAD
    payload = headers.get("x-tos-content-sha256", EMPTY_SHA256)
    signed = sorted((k, " ".join(v.split()) if go else v) for k, v in headers.items())
    sig = signature(sk, date, region, canonical_request("POST", path, signed, payload))
    sep = "," if go else ", "
    headers["authorization"] = (f"TOS4-HMAC-SHA256 Credential={ak}/{date[:8]}/{region}/tosvectors/request{sep}"
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
    skewed = datetime.fromtimestamp(time.time() - 14 * 60, UTC).strftime("%Y%m%dT%H%M%SZ")
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
        date = datetime.fromtimestamp(time.time() + offset, UTC).strftime("%Y%m%dT%H%M%SZ")
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


# --- serve --user: identities held to the bucket policy ----------------------------------------

CI_AK, CI_SK, CI = "AKCIbot", "ci:secret:with:colons", "2100000001/ci-bot"
OTHER_AK, OTHER_SK, OTHER = "AKother", "other-secret", "2100000001/intern"
BUCKET_HOST = "team-2100000000.127.0.0.1"
READ_POLICY = {"Version": "2025-12-01", "Statement": [
    {"Sid": "CiRead", "Effect": "Allow", "Principal": [CI],
     "Action": ["tosvectors:QueryVectors", "tosvectors:GetVectors", "tosvectors:GetIndex"],
     "Resource": "trn:tosvectors:cn-beijing:2100000000:bucket/team/index/docs"},
    {"Sid": "NoSecrets", "Effect": "Deny", "Principal": "2100000001",
     "Action": "tosvectors:*", "Resource": "trn:tosvectors:cn-beijing:2100000000:bucket/team/index/secret*"},
    {"Sid": "CiListIfTagged", "Effect": "Allow", "Principal": [CI], "Action": "tosvectors:ListIndexes",
     "Resource": "trn:tosvectors:cn-beijing:2100000000:bucket/team", "Condition": {"StringEquals": {"k": "v"}}},
]}


@pytest.fixture
def with_users() -> Iterator[Api]:
    from reconciler.emulator.policy_auth import parse_user

    users = (parse_user(f"{CI_AK}:{CI_SK}:{CI}"), parse_user(f"{OTHER_AK}:{OTHER_SK}:{OTHER}"))
    api, post = asgi_api(EmulatorConfig(data_dir=":memory:", access_key=AK, secret_key=SK, users=users))
    assert _send(api, "CreateVectorBucket", {"vectorBucketName": "team"}).status_code == 200
    for index in ("docs", "secret-1"):
        assert _send(api, "CreateIndex", {"vectorBucketName": "team", "indexName": index, "dataType": "float32",
                                          "dimension": 2, "distanceMetric": "cosine"}, BUCKET_HOST).status_code == 200
    assert _send(api, "PutVectorBucketPolicy", {"vectorBucketName": "team", "policy": json.dumps(READ_POLICY)},
                 BUCKET_HOST).status_code == 200
    yield api
    post.close()


QUERY = {"vectorBucketName": "team", "queryVector": {"float32": [1.0, 0.0]}, "topK": 1}


@pytest.mark.parametrize("who,action,body,host,status,message", [
    ("ci", "QueryVectors", {**QUERY, "indexName": "docs"}, BUCKET_HOST, 200, None),
    ("ci", "GetIndex", {"vectorBucketName": "team", "indexName": "docs"}, BUCKET_HOST, 200, None),
    ("ci", "PutVectors", {"vectorBucketName": "team", "indexName": "docs", "vectors": []}, BUCKET_HOST, 403,
     "2100000001/ci-bot is not allowed to perform tosvectors:PutVectors on "
     "trn:tosvectors:cn-beijing:2100000000:bucket/team/index/docs: not granted by any statement"),
    ("ci", "GetIndex", {"vectorBucketName": "team", "indexName": "secret-1"}, BUCKET_HOST, 403,
     "denied by Statement[1] (Sid NoSecrets)"),
    ("ci", "ListIndexes", {"vectorBucketName": "team"}, BUCKET_HOST, 403,
     "conditional on the Condition of Statement[2] (Sid CiListIfTagged), and the emulator evaluates no conditions"),
    ("ci", "GetVectorBucketPolicy", {"vectorBucketName": "team"}, BUCKET_HOST, 403, "tosvectors:GetVectorBucketPolicy"),
    ("ci", "ListVectorBuckets", {}, "127.0.0.1", 403,
     "2100000001/ci-bot is not allowed to perform tosvectors:ListVectorBuckets: region actions are for the "
     "account owner only"),
    ("ci", "CreateVectorBucket", {"vectorBucketName": "mine"}, "127.0.0.1", 403, "tosvectors:CreateVectorBucket"),
    ("other", "QueryVectors", {**QUERY, "indexName": "docs"}, BUCKET_HOST, 403,
     "2100000001/intern is not allowed to perform tosvectors:QueryVectors"),
    # a bucket that does not exist has no policy: 403, not a 404 that would confirm the name
    ("ci", "GetIndex", {"vectorBucketName": "nobody", "indexName": "docs"}, "nobody-2100000000.127.0.0.1", 403,
     "no bucket policy grants it"),
    # the check comes before validation: a denied caller learns nothing from a 400
    ("other", "PutVectors", {"vectorBucketName": "team", "indexName": "docs", "vectors": "junk"}, BUCKET_HOST,
     403, "not allowed"),
    ("owner", "PutVectors", {"vectorBucketName": "team", "indexName": "docs",
                             "vectors": [{"key": "k", "data": {"float32": [1.0, 0.0]}}]}, BUCKET_HOST, 200, None),
    ("owner", "ListVectorBuckets", {}, "127.0.0.1", 200, None),
], ids=["ci-query", "ci-get-index", "ci-put-denied", "ci-deny-wins", "ci-conditional", "ci-policy-read",
        "ci-region-list", "ci-region-create", "other-principal", "missing-bucket", "denied-before-validation",
        "owner-writes", "owner-lists"])
def test_users_are_held_to_the_bucket_policy(with_users: Api, who: str, action: str, body: dict[str, Any],
                                             host: str, status: int, message: str | None) -> None:
    keys = {"ci": (CI_AK, CI_SK), "other": (OTHER_AK, OTHER_SK), "owner": (AK, SK)}[who]
    r = _send(with_users, action, body, host, ak=keys[0], sk=keys[1])
    assert r.status_code == status, r.text
    if message is not None:
        assert r.json()["Code"] == "AccessDeniedException"
        assert message in r.json()["Message"]
        assert CI_SK not in r.text and OTHER_SK not in r.text


def test_a_user_with_a_wrong_secret_is_refused_before_the_policy(with_users: Api) -> None:
    r = _send(with_users, "QueryVectors", {**QUERY, "indexName": "docs"}, BUCKET_HOST, ak=CI_AK, sk="guess")
    assert r.status_code == 403 and "signature does not match" in r.json()["Message"]


def test_removing_the_grant_denies_the_same_call(with_users: Api) -> None:
    request = {**QUERY, "indexName": "docs"}
    assert _send(with_users, "QueryVectors", request, BUCKET_HOST, ak=CI_AK, sk=CI_SK).status_code == 200
    assert _send(with_users, "DeleteVectorBucketPolicy", {"vectorBucketName": "team"}, BUCKET_HOST).status_code == 200
    r = _send(with_users, "QueryVectors", request, BUCKET_HOST, ak=CI_AK, sk=CI_SK)
    assert r.status_code == 403 and "no bucket policy grants it" in r.json()["Message"]


def test_a_signature_scoped_to_another_region_is_refused(secured: Api) -> None:
    """A region endpoint serves one region: a request signed (correctly) for another, or
    for the same one in another case, is refused, as `export --region xx-nowhere` must be."""
    for region in ("xx-nowhere", "CN-BEIJING"):
        r = _send(secured, "ListVectorBuckets", {}, region=region)
        assert (r.status_code, r.json()["Code"]) == (403, "AccessDeniedException"), region
        assert f"region {region!r} is not this service's region 'cn-beijing'" in r.json()["Message"]
    assert _send(secured, "ListVectorBuckets", {}).status_code == 200


def test_a_query_that_reads_metadata_needs_get_vectors_too(with_users: Api) -> None:
    """As in AWS S3 Vectors (and as the policy linter warns): QueryVectors alone answers a
    plain query; one that returns metadata or filters on it needs tosvectors:GetVectors."""
    only_query = {"Version": "2025-12-01", "Statement": [
        {"Effect": "Allow", "Principal": [OTHER], "Action": "tosvectors:QueryVectors",
         "Resource": "trn:tosvectors:cn-beijing:2100000000:bucket/team/index/docs"}]}
    assert _send(with_users, "PutVectorBucketPolicy", {"vectorBucketName": "team", "policy": json.dumps(only_query)},
                 BUCKET_HOST).status_code == 200
    plain = {**QUERY, "indexName": "docs"}
    assert _send(with_users, "QueryVectors", plain, BUCKET_HOST, ak=OTHER_AK, sk=OTHER_SK).status_code == 200
    for extra in ({"returnMetadata": True}, {"filter": {"genre": "news"}}):
        r = _send(with_users, "QueryVectors", {**plain, **extra}, BUCKET_HOST, ak=OTHER_AK, sk=OTHER_SK)
        assert r.status_code == 403, extra
        assert "not allowed to perform tosvectors:GetVectors" in r.json()["Message"]


@pytest.mark.parametrize("text,fragment", [
    ("AK:Zq9secret", "expected AK:SK:PRINCIPAL"),
    ("AK::2100000001", "expected AK:SK:PRINCIPAL"),
    (":Zq9secret:2100000001", "expected AK:SK:PRINCIPAL"),
    ("AK:Zq9secret:ci-bot", "ACCOUNT digits"),
    ("AK:Zq9secret:*", "ACCOUNT digits"),
    ("AK:Zq9secret:2100000001/", "NAME must be a non-empty name"),
    ("AK:Zq9secret:2100000001/*", "NAME must be a non-empty name"),
    ("AK:Zq9secret:2100000001/a/b", "NAME must be a non-empty name"),
])
def test_parse_user_refuses_bad_values_without_echoing_the_secret(text: str, fragment: str) -> None:
    from reconciler.emulator.policy_auth import parse_user

    with pytest.raises(ValueError) as info:
        parse_user(text)
    assert fragment in str(info.value)
    assert "Zq9secret" not in str(info.value)


def test_parse_user_keeps_colons_in_the_secret() -> None:
    from reconciler.emulator.policy_auth import parse_user

    user = parse_user("AKCI:a:b:c:2100000001/ci-bot")
    assert (user.access_key, user.secret_key, user.principal) == ("AKCI", "a:b:c", "2100000001/ci-bot")
    assert "a:b:c" not in repr(user)


@pytest.mark.parametrize("args,fragment", [
    (["--user", "AKCI:s3cr3t-value:2100000001/ci"], "--user needs --access-key and --secret-key for the owner"),
    (["--access-key", AK, "--secret-key", SK, "--user", "AKCI:s3cr3t-value:ci-bot"], "--user #1: the principal"),
    (["--access-key", AK, "--secret-key", SK, "--user", f"{AK}:s3cr3t-value:2100000001"],
     "--user #1: access key 'AKLTexampleAccessKey' is already used by the owner"),
    (["--access-key", AK, "--secret-key", SK, "--user", "A:s3cr3t-value:2100000001",
      "--user", "A:s3cr3t-value:2100000002"], "--user #2: access key 'A' is already used by another --user"),
])
def test_serve_refuses_bad_user_flags_in_one_line(tmp_path: Any, args: list[str], fragment: str) -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "reconciler", "serve", "--port", "0", "--data-dir", str(tmp_path),
                        *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert fragment in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "s3cr3t-value" not in r.stderr + r.stdout


def test_a_huge_index_name_is_denied_without_matching_it(with_users: Api) -> None:
    """The policy's globs run over at most 64 characters of a name the caller chose."""
    r = _send(with_users, "GetIndex", {"vectorBucketName": "team", "indexName": "-" * 2_000_000}, BUCKET_HOST,
              ak=OTHER_AK, sk=OTHER_SK)
    assert r.status_code == 403 and f"index/{'-' * 64}: " in r.json()["Message"]


def test_a_stored_policy_too_wild_to_evaluate_denies_without_evaluating(with_users: Api) -> None:
    hostile = {"Version": "1", "Statement": [{"Effect": "Allow", "Principal": CI, "Action": "*?" * 14 + "Z",
                                              "Resource": "*"}]}
    r = _send(with_users, "PutVectorBucketPolicy", {"vectorBucketName": "team", "policy": json.dumps(hostile)},
              BUCKET_HOST)
    assert r.status_code == 400 and "has 28 wildcards" in r.json()["Message"]  # refused as the manifest refuses it
    # ... but a database written before that rule may hold one
    with_users.post.app.store.put_policy("2100000000", "team", json.dumps(hostile))  # type: ignore[attr-defined]
    r = _send(with_users, "GetIndex", {"vectorBucketName": "team", "indexName": "docs"}, BUCKET_HOST,
              ak=CI_AK, sk=CI_SK)
    assert r.status_code == 403
    assert "the bucket policy is not evaluated (Statement[0].Action: " in r.json()["Message"]


ONLY_LIST_AND_QUERY = {"Version": "2025-12-01", "Statement": [
    {"Effect": "Allow", "Principal": [OTHER], "Action": ["tosvectors:ListVectors", "tosvectors:QueryVectors"],
     "Resource": "trn:tosvectors:cn-beijing:2100000000:bucket/team/index/docs"}]}


def test_reading_vector_data_or_metadata_needs_get_vectors_whatever_the_action(with_users: Api) -> None:
    """A principal granted ListVectors and QueryVectors, not GetVectors, read every vector's
    data and metadata through ListVectors returnData/returnMetadata, and QueryVectors hits
    carried their data: now only keys (and distances) come back, and asking for more is 403."""
    assert _send(with_users, "PutVectorBucketPolicy", {"vectorBucketName": "team",
                                                       "policy": json.dumps(ONLY_LIST_AND_QUERY)},
                 BUCKET_HOST).status_code == 200
    vectors = [{"key": "a", "data": {"float32": [1.0, 0.0]}, "metadata": {"pin": "pin-qz-1234"}},
               {"key": "b", "data": {"float32": [0.0, 1.0]}, "metadata": {"pin": "pin-qz-9876"}}]
    assert _send(with_users, "PutVectors", {"vectorBucketName": "team", "indexName": "docs", "vectors": vectors},
                 BUCKET_HOST).status_code == 200
    listing = {"vectorBucketName": "team", "indexName": "docs"}
    as_other = {"ak": OTHER_AK, "sk": OTHER_SK}

    plain = _send(with_users, "ListVectors", listing, BUCKET_HOST, **as_other)
    assert plain.status_code == 200 and plain.json()["vectors"] == [{"key": "a"}, {"key": "b"}]
    for extra in ({"returnData": True}, {"returnMetadata": True}, {"returnData": True, "returnMetadata": True},
                  {"returnData": 1}, {"returnMetadata": "yes"}):  # a non-boolean is denied before its 400
        r = _send(with_users, "ListVectors", {**listing, **extra}, BUCKET_HOST, **as_other)
        assert (r.status_code, r.json()["Code"]) == (403, "AccessDeniedException"), (extra, r.text)
        assert "not allowed to perform tosvectors:GetVectors" in r.json()["Message"]
        assert "pin-qz-1234" not in r.text and "pin-qz-9876" not in r.text
    for extra in ({"returnData": False}, {"returnMetadata": False}):  # asking for nothing is not reading
        assert _send(with_users, "ListVectors", {**listing, **extra}, BUCKET_HOST, **as_other).status_code == 200

    query = {**QUERY, "indexName": "docs", "topK": 2, "returnDistance": True}
    hits = _send(with_users, "QueryVectors", query, BUCKET_HOST, **as_other)
    assert hits.status_code == 200
    assert hits.json()["vectors"] == [{"key": "a", "distance": 0.0}, {"key": "b", "distance": 1.0}]
    for extra in ({"returnMetadata": True}, {"filter": {"pin": "pin-qz-1234"}},
                  {"filter": {"pin": {"$exists": True}}}):
        r = _send(with_users, "QueryVectors", {**query, **extra}, BUCKET_HOST, **as_other)
        assert r.status_code == 403 and "tosvectors:GetVectors" in r.json()["Message"], extra
    r = _send(with_users, "GetVectors", {**listing, "keys": ["a"], "returnData": True}, BUCKET_HOST, **as_other)
    assert r.status_code == 403 and "tosvectors:GetVectors" in r.json()["Message"]

    # with GetVectors granted too, the same calls read everything; the owner always does
    granted = json.loads(json.dumps(ONLY_LIST_AND_QUERY))
    granted["Statement"][0]["Action"].append("tosvectors:GetVectors")
    assert _send(with_users, "PutVectorBucketPolicy", {"vectorBucketName": "team", "policy": json.dumps(granted)},
                 BUCKET_HOST).status_code == 200
    full = _send(with_users, "ListVectors", {**listing, "returnData": True, "returnMetadata": True}, BUCKET_HOST,
                 **as_other)
    assert full.status_code == 200 and full.json()["vectors"] == vectors
    assert _send(with_users, "QueryVectors", query, BUCKET_HOST, **as_other).json()["vectors"][0]["data"] == \
        {"float32": [1.0, 0.0]}
    assert _send(with_users, "QueryVectors", query, BUCKET_HOST).json()["vectors"][0]["data"] == {"float32": [1.0, 0.0]}
