"""`reconciler access` through the real CLI: the matrix of who may do what, from the
declared policies alone (no API call, no credentials, CI set)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.recording_proxy import recording_proxy

MANIFEST = """\
version: 1
account: "2100000000"
buckets:
  - name: rag-prod
    indexes:
      - {name: docs-v1, dimension: 4, distanceMetric: cosine}
    policy:
      Version: "2025-12-01"
      Statement:
        - Sid: CiRead
          Effect: Allow
          Principal: ["2100000001/ci-bot"]
          Action: ["tosvectors:QueryVectors", "tosvectors:GetVectors"]
          Resource: ["trn:tosvectors:cn-beijing:2100000000:bucket/rag-prod/index/*"]
        - Sid: NoWrites
          Effect: Deny
          Principal: ["2100000001"]
          Action: ["tosvectors:PutVectors"]
          Resource: ["trn:tosvectors:cn-beijing:2100000000:bucket/rag-prod/index/docs-v1"]
  - name: rag-dev
"""


def _run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TOS_")}
    base.update({"CI": "true", "NO_COLOR": "1", **(env or {})})
    (tmp_path / "m.yaml").write_text(MANIFEST)
    return subprocess.run([sys.executable, "-m", "reconciler", "access", *args], check=False, cwd=tmp_path, env=base,
                          capture_output=True, text=True, timeout=60)


def _row(out: str, resource: str, action: str) -> list[str]:
    block = out.split(f"  {resource} ", 1)[1]
    line = next(line for line in block.splitlines() if line.strip().split(" ")[0] == action)
    return line.split()[1:]


def test_the_matrix_shows_each_resource_with_every_principal_the_policy_names(tmp_path: Path) -> None:
    r = _run(tmp_path, "-f", "m.yaml")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("reconciler access for account 2100000000 in cn-beijing, from the declared policies")
    assert "bucket rag-dev: no policy declared; the bucket policy grants nothing" in out
    head = next(line for line in out.splitlines() if line.startswith("  bucket/rag-prod"))
    assert head.split()[1:] == ["*", "(anyone)", "2100000001", "2100000001/ci-bot"]
    assert _row(out, "index/docs-v1", "QueryVectors") == ["-", "-", "allow"]
    assert _row(out, "index/docs-v1", "PutVectors") == ["-", "deny", "deny"]
    assert _row(out, "any other index", "PutVectors") == ["-", "-", "-"]
    assert _row(out, "any other index", "GetVectors") == ["-", "-", "allow"]
    assert _row(out, "bucket/rag-prod", "GetVectorBucket") == ["-", "-", "-"]
    assert "  index/docs-v1 " in out and out.index("bucket/rag-prod") < out.index("index/docs-v1") < out.index(
        "any other index")


def test_json_names_the_deciding_statement_and_principal_narrows_the_matrix(tmp_path: Path) -> None:
    r = _run(tmp_path, "-f", "m.yaml", "--principal", "2100000001/ci-bot", "--principal", "*", "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [b["name"] for b in data["buckets"]] == ["rag-dev", "rag-prod"]
    prod = data["buckets"][1]
    docs = next(x for x in prod["resources"] if x["label"] == "index/docs-v1")
    cells = {(a["principal"], a["action"]): a for a in docs["access"]}
    assert {p for p, _ in cells} == {"2100000001/ci-bot", "*"}
    assert cells[("2100000001/ci-bot", "tosvectors:PutVectors")] == {
        "principal": "2100000001/ci-bot", "action": "tosvectors:PutVectors", "verdict": "deny",
        "statement": 1, "sid": "NoWrites"}
    assert cells[("2100000001/ci-bot", "tosvectors:QueryVectors")]["sid"] == "CiRead"
    assert cells[("*", "tosvectors:QueryVectors")]["verdict"] == "not-granted"
    assert len(docs["access"]) == 2 * 8  # the index actions, for each principal asked for


def test_access_calls_no_api_and_needs_no_credentials(tmp_path: Path, emulator: object) -> None:
    with recording_proxy(emulator.url) as proxy:  # type: ignore[attr-defined]
        r = _run(tmp_path, "-f", "m.yaml", env={"TOS_ENDPOINT": proxy.url})
        assert r.returncode == 0, r.stderr
        assert proxy.requests == []
    r = _run(tmp_path, "-f", "m.yaml")  # CI set, no endpoint, no credentials
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / ".reconciler").exists()


def test_without_an_account_or_with_a_broken_manifest_it_is_one_line(tmp_path: Path) -> None:
    inferred = MANIFEST.replace('account: "2100000000"\n', "")
    (tmp_path / "n.yaml").write_text(inferred)
    r = _run(tmp_path, "-f", "n.yaml", "--format", "json")  # the one account the resources name
    assert r.returncode == 0 and json.loads(r.stdout)["account"] == "2100000000", r.stderr
    (tmp_path / "n.yaml").write_text(inferred.replace(":2100000000:bucket/rag-prod/index/docs-v1",
                                                      ":2100000009:bucket/rag-prod/index/docs-v1"))
    r = _run(tmp_path, "-f", "n.yaml")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr.strip().splitlines()[-1].startswith("error: no account id: declare account in the manifest")
    assert _run(tmp_path, "-f", "n.yaml", env={"TOS_ACCOUNT_ID": "2100000000"}).returncode == 0
    (tmp_path / "bad.yaml").write_text("version: 1\nbuckets:\n  - name: Bad_Name\n")
    r = _run(tmp_path, "-f", "bad.yaml")
    assert r.returncode == 1 and "bad.yaml:3:" in r.stderr and "Traceback" not in r.stderr


def test_access_reads_manifests_as_every_command_does(tmp_path: Path) -> None:
    """A directory for -f, and ${VAR} from --var."""
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a.yaml").write_text(MANIFEST.replace('"2100000000"', '"${ACCT}"', 1))
    r = _run(tmp_path, "-f", "dir", "--var", "ACCT=2100000000", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["account"] == "2100000000"
