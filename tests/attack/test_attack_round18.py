"""Round 18: the day's changes attacked as an adversary and a careless user would.

Each test names what an attacker (a hostile endpoint, a forged plan file, a hostile webhook
receiver or metrics client) or a careless user could do, and asserts what they see instead.
The CLI ones drive the real CLI as a subprocess against tests/support/hostile_server.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reconciler.client.models import Index, VectorBucket
from reconciler.errors import ReconcilerError
from reconciler.manifest import load_manifests
from reconciler.render.output import output_json, output_text
from reconciler.state.outputs import read_outputs
from reconciler.util.text import printable
from tests.support import hostile_server
from tests.support.hostile_server import ACCOUNT, BUCKET, MANIFEST, bucket_summary, hostile_endpoint

TIMEOUT = 60.0  # a hang guard, not a speed check


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOS_", "RECONCILER_")) and k.lower() not in (
        "http_proxy", "https_proxy", "all_proxy", "ci")}
    env.update({"TOS_ACCESS_KEY": "AKLTdummyaccesskey", "TOS_SECRET_KEY": "ZHVtbXlzZWNyZXQ=",
                "TOS_ACCOUNT_ID": ACCOUNT, "NO_COLOR": "1", **extra})
    return env


def run_cli(url: str, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "--endpoint", url], cwd=cwd, env=_env(**env),
                          capture_output=True, text=True, timeout=TIMEOUT)


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 1, (proc.stdout[-1000:], proc.stderr[-2000:])
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-2000:]
    return lines[0]


# --- `output`: what a hostile endpoint's identifiers can do to $GITHUB_OUTPUT ---------------------
# (`reconciler output` is in DESIGN.md's verb table but not wired into the CLI: the data and
# the renderers are tested here as the CLI would call them, and the CLI case is xfail.)

class _Hostile:
    """GetVectorBucket / GetIndex answers the way a hostile endpoint chooses them."""

    def __init__(self, trn: str = f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/{BUCKET}", created: int = 1_765_000_000,
                 metric: str = "cosine", keys: tuple[str, ...] = ("body",)):
        self.trn, self.created, self.metric, self.keys = trn, created, metric, keys

    async def get_vector_bucket(self, bucket: str, /) -> VectorBucket:
        return VectorBucket(bucket, self.trn, self.created)

    async def get_index(self, bucket: str, index: str, /) -> Index:
        return Index(bucket, index, self.trn + "/index/" + index, self.created, "float32", 4, self.metric, self.keys)


def _outputs(tmp_path: Path, live: _Hostile):  # type: ignore[no-untyped-def]
    (tmp_path / "m.yaml").write_text(MANIFEST)
    manifest = load_manifests([str(tmp_path / "m.yaml")], {})
    return asyncio.run(read_outputs(live, manifest, {"region": "cn-beijing"}, lambda b: None))


INJECTED = "\nDEPLOY_TARGET=attacker.example"
BREAKS = ["\n", "\r", "\u2028", "\x85", "\x1b]52;c;ZWNobw==\x07", "\x00"]


@pytest.mark.parametrize("brk", BREAKS)
@pytest.mark.parametrize("field", ["trn", "metric", "keys"])
def test_output_text_never_lets_a_service_value_add_a_variable(field: str, brk: str, tmp_path: Path) -> None:
    """A TRN (or distance metric, or metadata key) with a line break, appended to
    $GITHUB_OUTPUT or a dotenv report, would set a variable of the endpoint's choosing for
    every later step (DEPLOY_TARGET=...). Such a value is refused as KEY=VALUE: one error
    naming the variable, and pointing to --format json, which escapes it."""
    value = f"x{brk}DEPLOY_TARGET=attacker.example"
    live = _Hostile(**({"trn": value} if field == "trn" else {"metric": value} if field == "metric"
                       else {"keys": ("body", value)}))
    outputs = _outputs(tmp_path, live)
    with pytest.raises(ReconcilerError) as e:
        output_text(outputs)
    line = str(e.value)
    assert "--format json" in line and "\n" not in line and printable(line) == line, line
    assert json.loads(output_json(outputs))  # JSON escapes it: that form still works


def test_output_text_keeps_ordinary_values(tmp_path: Path) -> None:
    """The control: an ordinary estate gives its KEY=VALUE lines (`=` and spaces in a value are fine)."""
    text = output_text(_outputs(tmp_path, _Hostile(keys=("a=b", "c d"))))
    assert "INDEX_HOSTILE__DOCS_NON_FILTERABLE_METADATA_KEYS=a=b,c d\n" in text


@pytest.mark.parametrize("when", [10**17, -10**17, 253402300800, -62135596801])
def test_output_a_creation_time_past_any_date_is_one_clear_error(when: int, tmp_path: Path) -> None:
    """creationTime 1e17 is an int64 the client accepts, but no date: it was an OSError
    ("Value too large for defined data type"), a traceback out of `output`."""
    with pytest.raises(ReconcilerError) as e:
        _outputs(tmp_path, _Hostile(created=when))
    assert "creationTime" in str(e.value) and str(when) in str(e.value), str(e.value)


@pytest.mark.xfail(strict=True, reason="`reconciler output` (DESIGN.md) is not wired into reconciler/cli; "
                   "when it is, this passes: remove the mark")
def test_output_cli_refuses_an_injected_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m.yaml").write_text(MANIFEST)
    answer = {"vectorBucket": {**bucket_summary(), "vectorBucketTrn": "trn:x" + INJECTED}}
    monkeypatch.setitem(hostile_server.NORMAL, "GetVectorBucket", (200, answer))
    with hostile_endpoint(None) as server:
        proc = run_cli(server.url, tmp_path, "output", "-f", "m.yaml")
    line = _one_error_line(proc)
    assert proc.stdout == "" and "BUCKET_HOSTILE_TRN" in line, (proc.stdout, line)
