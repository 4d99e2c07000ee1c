"""A live policy the plan cannot read as a policy (a broken endpoint's text that is not a
JSON object, or a document nested past any real policy) is shown as text. Its access
delta is computed as if it granted nothing, so what it lists as gained may already be
held: the plan says so in text, Markdown and JSON, and apply still asks for consent before
anything public (the guard counts those grants as new)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.hostile_server import BUCKET, MANIFEST, hostile_endpoint

PUBLIC = MANIFEST.replace("    indexes:", """    policy:
      Version: "2012-10-17"
      Statement:
        - {Effect: Allow, Principal: "*", Action: "tosvectors:GetVectorBucket", Resource: "*"}
    indexes:""", 1)
SAYS = "computed as if the live policy granted nothing"


def cli(url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOS_")}
    env.update({"TOS_ACCESS_KEY": "AKLTdummyaccesskey", "TOS_SECRET_KEY": "ZHVtbXlzZWNyZXQ=",
                "TOS_ACCOUNT_ID": "2100000000", "NO_COLOR": "1"})
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "-f", "m.yaml", "--endpoint", url], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("scenario", ["policy_not_json", "deep_policy_statement"])
def test_the_plan_says_its_access_delta_assumes_an_unread_policy_granted_nothing(scenario: str,
                                                                              tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(PUBLIC)
    with hostile_endpoint(scenario) as server:
        text = cli(server.url, tmp_path, "plan")
        as_json = cli(server.url, tmp_path, "plan", "--format", "json")
        markdown = cli(server.url, tmp_path, "plan", "--format", "markdown")
        applied = cli(server.url, tmp_path, "apply", "--auto-approve")
    assert text.returncode == 0, text.stderr
    access = [line.strip() for line in text.stdout.splitlines() if line.strip().startswith("access:")]
    assert len(access) == 1 and SAYS in access[0], text.stdout[-2000:]
    assert f"* (anyone) gains tosvectors:GetVectorBucket on bucket/{BUCKET}" in text.stdout
    change = next(c for c in json.loads(as_json.stdout)["changes"] if c["kind"] == "policy")
    assert SAYS in change["access_not_computed"] and change["public"] is True
    assert change["before"]["document"].keys() == {"raw"}
    assert SAYS in markdown.stdout
    assert applied.returncode == 1 and "--allow-public-access" in applied.stderr, applied.stderr


def test_a_policy_that_was_read_has_no_such_line(tmp_path: Path) -> None:
    """The control: no live policy at all (404) is known to grant nothing, and says nothing more."""
    (tmp_path / "m.yaml").write_text(PUBLIC)
    with hostile_endpoint(None) as server:
        done = cli(server.url, tmp_path, "plan", "--format", "json")
    change = next(c for c in json.loads(done.stdout)["changes"] if c["kind"] == "policy")
    assert "access_not_computed" not in change and change["public"] is True
