"""`reconciler export` end to end: an estate built with the official SDK (policies written
with odd spacing, key order and string-vs-list values) exports to a manifest that
validates and plans to no changes; --bucket and --prefix select; errors are one line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

import yaml

from reconciler.cli.parser import main
from tests.integration.conftest import Cli, one_emulator_per_module
from tests.support.recording_proxy import recording_proxy
from tests.support.sdk import ACCOUNT
from tests.support.serving import ProxyHandler, serving

emulator, _empty_service = one_emulator_per_module()


def trn(bucket: str, index: str | None = "*") -> str:
    base = f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/{bucket}"
    return base if index is None else f"{base}/index/{index}"


# a bare string where a list is usual, keys in no usual order, tabs and stray spaces
ODD_POLICY = ('  {\n\t"Statement" :[{ "Resource":"%s","Action" : "tosvectors:QueryVectors",'
              '  "Principal":"%s/bot", "Effect":"Allow"}],"Version":"2025-12-01"}\n') % (trn("ex-alpha"), ACCOUNT)
TWO_STATEMENTS = json.dumps({"Version": "2025-12-01", "Statement": [
    {"Sid": "no-deletes", "Effect": "Deny", "Principal": ["*"],
     "Action": ["tosvectors:DeleteIndex", "tosvectors:DeleteIndex"],  # a duplicate entry
     "Resource": [trn("ex-gamma"), trn("ex-gamma", None)]},
    {"Resource": trn("ex-gamma"), "Action": ["tosvectors:GetVectors", "tosvectors:QueryVectors"],
     "Principal": [f"{ACCOUNT}/ops", f"{ACCOUNT}/ci"], "Effect": "Allow"},
]}, separators=(",", ":"))


def build_estate(sdk) -> None:
    sdk.create_vector_bucket("ex-alpha")
    sdk.create_index("ex-alpha", ACCOUNT, "alpha-docs", "float32", 4, "cosine",
                     {"nonFilterableMetadataKeys": ["url", "body"]})
    sdk.create_index("ex-alpha", ACCOUNT, "alpha-wide", "float32", 4096, "euclidean")
    sdk.put_vector_bucket_policy("ex-alpha", ACCOUNT, ODD_POLICY)
    sdk.create_vector_bucket("ex-beta")
    sdk.create_index("ex-beta", ACCOUNT, "beta-tiny", "float32", 1, "euclidean",
                     {"nonFilterableMetadataKeys": ["z", "a", "m"]})
    for tricky in ("007", "1.5", "yes", "null"):  # names YAML would read as numbers, booleans, null
        sdk.create_index("ex-beta", ACCOUNT, tricky, "float32", 2, "cosine")
    sdk.create_vector_bucket("ex-gamma")  # no index, a two-statement policy
    sdk.put_vector_bucket_policy("ex-gamma", ACCOUNT, TWO_STATEMENTS)
    sdk.create_vector_bucket("zz-other")
    sdk.create_index("zz-other", ACCOUNT, "theirs", "float32", 8, "cosine")


def export(cli: Cli, *args: str) -> tuple[str, dict]:
    r = cli("export", *args)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout, yaml.safe_load(r.stdout)


def test_round_trip_validates_and_plans_to_no_changes(cli: Cli, sdk, emulator) -> None:
    build_estate(sdk)
    text, doc = export(cli)
    path = cli.write("exported.yaml", text)
    assert doc["version"] == 1 and doc["account"] == ACCOUNT and doc["region"] == "cn-beijing"
    buckets = {b["name"]: b for b in doc["buckets"]}
    assert list(buckets) == ["ex-alpha", "ex-beta", "ex-gamma", "zz-other"]
    # indexes with every attribute
    assert buckets["ex-alpha"]["indexes"] == [
        {"name": "alpha-docs", "dimension": 4, "distanceMetric": "cosine", "dataType": "float32",
         "nonFilterableMetadataKeys": ["body", "url"]},
        {"name": "alpha-wide", "dimension": 4096, "distanceMetric": "euclidean", "dataType": "float32",
         "nonFilterableMetadataKeys": []},
    ]
    assert [i["name"] for i in buckets["ex-beta"]["indexes"]] == ["007", "1.5", "beta-tiny", "null", "yes"]
    assert buckets["ex-beta"]["indexes"][2]["nonFilterableMetadataKeys"] == ["a", "m", "z"]
    assert buckets["ex-gamma"]["indexes"] == [] and "policy" not in buckets["ex-beta"]
    # policies as readable mappings, keys in the usual order, values as they were
    alpha = buckets["ex-alpha"]["policy"]
    assert isinstance(alpha, dict) and list(alpha) == ["Version", "Statement"]
    assert list(alpha["Statement"][0]) == ["Effect", "Principal", "Action", "Resource"]
    assert alpha["Statement"][0]["Principal"] == f"{ACCOUNT}/bot"
    gamma = buckets["ex-gamma"]["policy"]
    assert gamma == json.loads(TWO_STATEMENTS)  # duplicates and order of entries kept
    assert [list(s) for s in gamma["Statement"]] == [["Sid", "Effect", "Principal", "Action", "Resource"],
                                                      ["Effect", "Principal", "Action", "Resource"]]
    assert "  policy:\n    Version: '2025-12-01'\n    Statement:\n" in text  # YAML, not a JSON string

    r = cli("validate", "-f", path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "4 buckets, 8 indexes" in r.stdout

    with recording_proxy(emulator.url) as proxy:
        pcli = Cli(proxy.url, cli.cwd, {})
        r = pcli("plan", "-f", path, "--detailed-exitcode")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "No changes." in r.stdout and "unmanaged" not in r.stdout.lower()
        assert proxy.writes() == []


def test_bucket_and_prefix_select(cli: Cli, sdk) -> None:
    build_estate(sdk)
    _, doc = export(cli, "--bucket", "zz-other", "--bucket", "ex-beta")
    assert [b["name"] for b in doc["buckets"]] == ["ex-beta", "zz-other"]
    assert doc["buckets"][1]["indexes"][0] == {"name": "theirs", "dimension": 8, "distanceMetric": "cosine",
                                               "dataType": "float32", "nonFilterableMetadataKeys": []}
    _, doc = export(cli, "--prefix", "ex-")
    assert [b["name"] for b in doc["buckets"]] == ["ex-alpha", "ex-beta", "ex-gamma"]
    # both: the named buckets and the ones with the prefix, nothing silently dropped
    _, doc = export(cli, "--prefix", "ex-g", "--bucket", "zz-other")
    assert [b["name"] for b in doc["buckets"]] == ["ex-gamma", "zz-other"]
    # a prefix that matches nothing: an empty manifest, still a valid one
    text, doc = export(cli, "--prefix", "nothing-")
    assert doc["buckets"] == []
    assert main(["validate", "-f", cli.write("empty.yaml", text)]) == 0


def test_missing_bucket_is_one_line(cli: Cli, sdk) -> None:
    sdk.create_vector_bucket("ex-alpha")
    r = cli("export", "--bucket", "ex-alpha", "--bucket", "no-such-bucket")
    assert r.returncode == 1
    assert r.stdout == ""  # no half manifest
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "no-such-bucket" in lines[0] and "Traceback" not in r.stderr, r.stderr



# the whole output for build_estate, byte for byte: export's reads go through live.py, and
# what it prints must not move with them
EXPECTED_ESTATE = """\
# Exported by `reconciler export` from the live state: `reconciler plan -f` on this file shows no changes.
version: 1
account: '2100000000'
region: cn-beijing
# Ownership scope, off: uncommented, apply deletes any of these buckets whose block is removed
# (with its indexes and policy). A prune scope grants deletion; turn it on deliberately.
# prune:
#   buckets:
#   - ex-alpha
#   - ex-beta
#   - ex-gamma
#   - zz-other
buckets:
- name: ex-alpha
  policy:
    Version: '2025-12-01'
    Statement:
    - Effect: Allow
      Principal: 2100000000/bot
      Action: tosvectors:QueryVectors
      Resource: trn:tosvectors:cn-beijing:2100000000:bucket/ex-alpha/index/*
  indexes:
  - name: alpha-docs
    dimension: 4
    distanceMetric: cosine
    dataType: float32
    nonFilterableMetadataKeys:
    - body
    - url
  - name: alpha-wide
    dimension: 4096
    distanceMetric: euclidean
    dataType: float32
    nonFilterableMetadataKeys: []
- name: ex-beta
  indexes:
  - name: '007'
    dimension: 2
    distanceMetric: cosine
    dataType: float32
    nonFilterableMetadataKeys: []
  - name: '1.5'
    dimension: 2
    distanceMetric: cosine
    dataType: float32
    nonFilterableMetadataKeys: []
  - name: beta-tiny
    dimension: 1
    distanceMetric: euclidean
    dataType: float32
    nonFilterableMetadataKeys:
    - a
    - m
    - z
  - name: 'null'
    dimension: 2
    distanceMetric: cosine
    dataType: float32
    nonFilterableMetadataKeys: []
  - name: 'yes'
    dimension: 2
    distanceMetric: cosine
    dataType: float32
    nonFilterableMetadataKeys: []
- name: ex-gamma
  policy:
    Version: '2025-12-01'
    Statement:
    - Sid: no-deletes
      Effect: Deny
      Principal:
      - '*'
      Action:
      - tosvectors:DeleteIndex
      - tosvectors:DeleteIndex
      Resource:
      - trn:tosvectors:cn-beijing:2100000000:bucket/ex-gamma/index/*
      - trn:tosvectors:cn-beijing:2100000000:bucket/ex-gamma
    - Effect: Allow
      Principal:
      - 2100000000/ops
      - 2100000000/ci
      Action:
      - tosvectors:GetVectors
      - tosvectors:QueryVectors
      Resource: trn:tosvectors:cn-beijing:2100000000:bucket/ex-gamma/index/*
  indexes: []
- name: zz-other
  indexes:
  - name: theirs
    dimension: 8
    distanceMetric: cosine
    dataType: float32
    nonFilterableMetadataKeys: []
"""


def test_export_prints_the_estate_exactly(cli: Cli, sdk) -> None:
    build_estate(sdk)
    text, _ = export(cli)
    assert text == EXPECTED_ESTATE


def test_the_file_names_no_schema_path_that_cannot_resolve(cli: Cli, sdk) -> None:
    """The modeline `$schema=../schemas/...` resolved only inside this repository: export
    cannot know where its output will live, so it writes none (README.md, "Manifest reference", Editors)."""
    build_estate(sdk)
    text, _ = export(cli)
    assert "$schema" not in text and "../" not in text


def test_the_commented_ownership_scope_works_once_uncommented(cli: Cli, sdk, emulator) -> None:
    """The scope is written but off: the file as exported deletes nothing when a bucket block
    goes, and with the scope uncommented it plans clean and then owns exactly what it exported."""
    build_estate(sdk)
    text, doc = export(cli, "--prefix", "ex-")
    assert "prune" not in doc  # commented out: no deletion granted by default
    owned = text.replace("# prune:", "prune:").replace("#   buckets:", "  buckets:")
    owned = "\n".join(line[2:] if line.startswith("#   - ") else line for line in owned.splitlines()) + "\n"
    assert yaml.safe_load(owned)["prune"] == {"buckets": ["ex-alpha", "ex-beta", "ex-gamma"]}
    path = cli.write("owned.yaml", owned)
    r = cli("plan", "-f", path, "--detailed-exitcode")
    assert r.returncode == 0 and "No changes." in r.stdout, r.stdout + r.stderr
    # drop ex-gamma's block: with the scope on, the plan deletes it (and only it)
    kept = yaml.safe_load(owned)
    kept["buckets"] = [b for b in kept["buckets"] if b["name"] != "ex-gamma"]
    r = cli("plan", "-f", cli.write("kept.yaml", yaml.safe_dump(kept)), "--format", "json")
    assert r.returncode == 0, r.stderr
    deleted = {c["address"] for c in json.loads(r.stdout)["changes"] if c["action"] == "delete"}
    assert deleted == {"bucket.ex-gamma", "policy.ex-gamma"}, deleted


@contextmanager
def lower_case_effects(upstream: str) -> Iterator[str]:
    """A proxy in front of the emulator whose GetVectorBucketPolicy answers spell Effect as
    some services (and hand-written policies) do: "deny", " ALLOW". The emulator may refuse
    such a policy on Put; what a live service returns is not ours to assume."""
    up = urlsplit(upstream)

    class Handler(ProxyHandler):
        upstream_host, upstream_port = up.hostname or "127.0.0.1", up.port or 80

        def _forward(self) -> None:
            body = self.read_body()
            if body is None:
                return
            status, reason, headers, data = self.forward(body)
            if self.path.startswith("/GetVectorBucketPolicy") and status == 200:
                data = data.replace(b'"Effect":"Deny"', b'"Effect":"deny"').replace(b'"Effect":"Allow"',
                                                                                     b'"Effect":" ALLOW"')
            self.relay((status, reason, headers, data))

        do_POST = do_GET = do_PUT = do_DELETE = do_HEAD = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with serving(server, "lower-case-effects"):
        yield f"http://127.0.0.1:{server.server_address[1]}"


def test_a_lower_case_effect_exports_to_a_manifest_that_validates_and_plans_clean(cli: Cli, sdk, emulator) -> None:
    """`"Effect": "deny"` was exported as is and the exported file failed validation. The
    plan compares Effect case-insensitively, so export writes the manifest's spelling."""
    build_estate(sdk)
    with lower_case_effects(emulator.url) as url:
        lcli = Cli(url, cli.cwd, {})
        text, doc = export(lcli, "--bucket", "ex-gamma")
        effects = [s["Effect"] for s in doc["buckets"][0]["policy"]["Statement"]]
        assert effects == ["Deny", "Allow"], effects
        path = cli.write("gamma.yaml", text)
        r = lcli("validate", "-f", path)
        assert r.returncode == 0, r.stdout + r.stderr
        r = lcli("plan", "-f", path, "--detailed-exitcode")
        assert r.returncode == 0 and "No changes." in r.stdout, r.stdout + r.stderr
