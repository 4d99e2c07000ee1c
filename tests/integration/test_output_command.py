"""`reconciler output` end to end: what a pipeline's next job reads (README.md, "output").

The estate is applied with the real CLI against `reconciler serve`; the official SDK reads
the same resources, and the identifiers `output` prints must be the ones it reads: TRNs,
creation times, index attributes, and the bucket endpoint host the SDK itself addresses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema

from tests.integration.conftest import Cli, one_emulator_per_module
from tests.support.sdk import ACCOUNT, REGION, EmulatorVectorClient, RedirectAdapter

emulator, _empty_service = one_emulator_per_module()

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "output.schema.json").read_text())

MANIFEST = """version: 1
buckets:
  - name: out-app
    indexes:
      - name: docs-v1
        dimension: 8
        distanceMetric: cosine
        nonFilterableMetadataKeys: [body, url]
      - name: codes.int8
        dimension: 16
        distanceMetric: euclidean
        dataType: int8
  - name: out-empty
"""


def applied(cli: Cli, text: str = MANIFEST) -> str:
    path = cli.write("env.yaml", text)
    r = cli("apply", "-f", path, "--auto-approve")
    assert r.returncode == 0, r.stdout + r.stderr
    return path


def output_json(cli: Cli, path: str, *extra: str) -> dict[str, Any]:
    r = cli("output", "-f", path, *extra)
    assert r.returncode == 0, r.stdout + r.stderr
    doc: dict[str, Any] = json.loads(r.stdout)
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(doc)
    return doc


def rfc3339(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Recording(RedirectAdapter):
    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.hosts: list[str] = []

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        self.hosts.append(request.headers["Host"])
        return super().send(request, *args, **kwargs)


def sdk_for(url: str) -> tuple[EmulatorVectorClient, _Recording]:
    """The official SDK configured with the same endpoint as the CLI: the host it addresses
    for a bucket is the endpoint a deploy job's client would use."""
    client = EmulatorVectorClient("", "", url, REGION)
    adapter = _Recording(url)
    client.session.mount("https://", adapter)
    client.session.mount("http://", adapter)
    return client, adapter


def test_json_validates_and_every_identifier_is_what_the_sdk_reads(cli: Cli) -> None:
    path = applied(cli)
    doc = output_json(cli, path)
    assert doc["format_version"] == "1.0"
    assert doc["target"] == {"endpoint": cli.url, "region": REGION, "account_id": ACCOUNT, "embedded": False}
    assert sorted(doc["buckets"]) == ["out-app", "out-empty"]
    sdk, adapter = sdk_for(cli.url)
    try:
        for name, bucket in doc["buckets"].items():
            adapter.hosts.clear()
            live = sdk.get_vector_bucket(name, ACCOUNT).vector_bucket
            assert bucket["trn"] == live.vector_bucket_trn
            assert bucket["creation_time"] == rfc3339(live.creation_time)
            assert bucket["endpoint"] == adapter.hosts[0] == f"{name}-{ACCOUNT}.{cli.url.split('://')[1]}"
        app = doc["buckets"]["out-app"]["indexes"]
        assert sorted(app) == ["codes.int8", "docs-v1"] and doc["buckets"]["out-empty"]["indexes"] == {}
        for name, index in app.items():
            live = sdk.get_index("out-app", ACCOUNT, name).index
            keys = live.metadata_configuration.non_filterable_metadata_keys if live.metadata_configuration else []
            assert index == {"trn": live.index_trn, "creation_time": rfc3339(live.creation_time),
                             "dimension": live.dimension, "distance_metric": live.distance_metric.value,
                             "data_type": live.data_type.value, "non_filterable_metadata_keys": sorted(keys or [])}
    finally:
        sdk.close()
    assert app["docs-v1"]["non_filterable_metadata_keys"] == ["body", "url"]
    assert app["codes.int8"]["data_type"] == "int8"


def test_text_appended_to_github_output_parses_as_dotenv_and_in_a_shell(cli: Cli) -> None:
    path = applied(cli)
    doc = output_json(cli, path)
    out = cli.cwd / "github_output"
    out.write_text("earlier=step\n")  # $GITHUB_OUTPUT already holds other steps' lines
    # as a pipeline writes it: `reconciler output ... --format text >> "$GITHUB_OUTPUT"`
    done = subprocess.run(["bash", "-c", '"$0" -m reconciler output -f "$1" --format text >> "$2"',
                           sys.executable, path, str(out)], cwd=cli.cwd, env=cli.env(), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "earlier=step"
    pairs = dict(line.split("=", 1) for line in lines[1:])
    assert all(re.fullmatch(r"[A-Z_][A-Z0-9_]*", k) for k in pairs), pairs  # GitLab's dotenv key rule
    assert all(re.fullmatch(r"[^\s'\"$`\\]*", v) for v in pairs.values()), pairs  # nothing to quote
    app = doc["buckets"]["out-app"]
    assert pairs["BUCKET_OUT_APP_TRN"] == app["trn"]
    assert pairs["BUCKET_OUT_APP_ENDPOINT"] == app["endpoint"]
    assert pairs["BUCKET_OUT_APP_CREATION_TIME"] == app["creation_time"]
    assert pairs["INDEX_OUT_APP__DOCS_V1_TRN"] == app["indexes"]["docs-v1"]["trn"]
    assert pairs["INDEX_OUT_APP__CODES_INT8_DATA_TYPE"] == "int8"
    assert pairs["INDEX_OUT_APP__DOCS_V1_NON_FILTERABLE_METADATA_KEYS"] == "body,url"
    assert pairs["BUCKET_OUT_EMPTY_TRN"] == doc["buckets"]["out-empty"]["trn"]
    # a dotenv file is also a shell file: the next job may `source` it
    sourced = subprocess.run(["bash", "-c", 'set -a; . "$0"; printf %s "$INDEX_OUT_APP__DOCS_V1_TRN"', str(out)],
                             capture_output=True, text=True, timeout=30)
    assert sourced.stdout == app["indexes"]["docs-v1"]["trn"], sourced.stderr


def test_a_declared_bucket_or_index_that_does_not_exist_is_exit_1_naming_each(cli: Cli, sdk: Any) -> None:
    sdk.create_vector_bucket("out-app")
    sdk.create_index("out-app", ACCOUNT, "docs-v1", "float32", 8, "cosine")
    path = cli.write("env.yaml", MANIFEST)
    r = cli("output", "-f", path)
    assert r.returncode == 1
    assert r.stdout == ""  # nothing a next job could half-use
    lines = r.stderr.strip().splitlines()
    assert lines == ["error: 2 declared resources not found: bucket.out-empty, index.out-app/codes.int8; "
                     "run `reconciler apply` first"]
    r = cli("output", "-f", path, "--format", "text")
    assert (r.returncode, r.stdout) == (1, "")
    assert "bucket.out-empty" in r.stderr and "Traceback" not in r.stderr


def test_on_the_embedded_emulator_there_is_no_endpoint(cli: Cli) -> None:
    path = cli.write("env.yaml", MANIFEST)
    r = cli("apply", "-f", path, "--auto-approve", "--endpoint", "embedded")
    assert r.returncode == 0, r.stderr
    doc = output_json(cli, path, "--endpoint", "embedded")
    assert doc["target"]["embedded"] is True
    assert {b["endpoint"] for b in doc["buckets"].values()} == {None}
    assert doc["buckets"]["out-app"]["trn"] == f"trn:tosvectors:{REGION}:{ACCOUNT}:bucket/out-app"
    assert sorted(doc["buckets"]["out-app"]["indexes"]) == ["codes.int8", "docs-v1"]
    r = cli("output", "-f", path, "--endpoint", "embedded", "--format", "text")
    assert "BUCKET_OUT_APP_ENDPOINT=\n" in r.stdout
    assert "using the embedded emulator" in r.stderr


def test_help_shows_the_pipeline_use_and_the_exit_codes(cli: Cli) -> None:
    r = cli("output", "--help")
    assert r.returncode == 0
    assert 'reconciler output -f env.yaml --format text >> "$GITHUB_OUTPUT"' in r.stdout
    assert "exit codes: 0, 1" in r.stdout
