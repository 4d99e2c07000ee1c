"""`reconciler validate` runs the manifest's access tests through the real CLI: no API
call (no endpoint, no credentials, CI set), exit 0 when they pass, 1 with every failure at
its file:line:col when they do not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MANIFEST = """\
# yaml-language-server: $schema=../schemas/manifest.schema.json
version: 1
account: "2100000000"
buckets:
  - name: rag-prod
    policy:
      Version: "2025-12-01"
      Statement:
        - Sid: CiRead
          Effect: Allow
          Principal: ["2100000001/ci-bot"]
          Action: ["tosvectors:QueryVectors", "tosvectors:GetVectors"]
          Resource: ["trn:tosvectors:cn-beijing:2100000000:bucket/rag-prod/index/*"]
    accessTests:
      - principal: "2100000001/ci-bot"
        action: tosvectors:QueryVectors
        index: docs-v1
        expect: allow
      - principal: "2100000001/ci-bot"
        action: tosvectors:PutVectors
        index: docs-v1
        expect: deny
      - principal: "*"
        action: tosvectors:GetVectors
        index: docs-v1
        expect: deny
    indexes:
      - name: docs-v1
        dimension: 8
        distanceMetric: cosine
"""


def validate(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOS_")}
    env.update({"CI": "true", "NO_COLOR": "1"})  # nothing to call: CI's missing-target rule must not matter
    return subprocess.run([sys.executable, "-m", "reconciler", "validate", "-f", "m.yaml"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_validate_passes_when_the_access_tests_do(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(MANIFEST)
    r = validate(tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "Valid: 1 file, 1 bucket, 1 index, 3 access tests passed.\n", "")
    assert not (tmp_path / ".reconciler").exists()  # no emulator was started: nothing was called


def test_validate_fails_at_each_failing_test(tmp_path: Path) -> None:
    widened = MANIFEST.replace('["tosvectors:QueryVectors", "tosvectors:GetVectors"]',
                               '["tosvectors:QueryVectors", "tosvectors:GetVectors", "tosvectors:Put*"]')
    widened = widened.replace('Principal: ["2100000001/ci-bot"]', 'Principal: ["2100000001/ci-bot", "*"]')
    (tmp_path / "m.yaml").write_text(widened)
    r = validate(tmp_path)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "m.yaml:11:44: warning: Principal '*' allows anyone: apply refuses this unless allowPublicAccess: true "
        "or --allow-public-access",
        "m.yaml:19:9: access test failed: 2100000001/ci-bot tosvectors:PutVectors on index/docs-v1: expected deny, "
        "but the policy allows it (Statement[0] at line 9, Sid CiRead)",
        "m.yaml:23:9: access test failed: * tosvectors:GetVectors on index/docs-v1: expected deny, "
        "but the policy allows it (Statement[0] at line 9, Sid CiRead)",
        "2 errors in the manifest",
    ]
