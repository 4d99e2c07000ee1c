"""The real CLI against a hostile or broken endpoint (tests/support/hostile_server.py).

A misconfigured `TOS_ENDPOINT`, a corporate proxy or a hijacked name can answer anything,
and the CLI runs in CI next to the secrets. Whatever it answers, `plan`, `drift` and
`export` end within seconds with one `error:` line that names the action and what was
wrong (never an internal error or a traceback), in bounded memory: each run here has an
address-space limit of LIMIT and a hang guard of TIMEOUT seconds. A live policy that cannot
be read as a policy (nested past any real policy) is shown as text, not an error.

Each run's time and peak resident size are printed (`pytest -s`) for the record.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.hostile_server import BUCKET, MANIFEST, SCENARIOS, hostile_endpoint

pytestmark = pytest.mark.slow  # 59 CLI processes, about a minute

LIMIT = 1536 << 20  # bytes of address space for the CLI process
TIMEOUT = 90.0  # a hang guard, not a speed check: a run that hits it has hung

VERBS = {
    "plan": ["plan", "-f", "m.yaml"],
    "drift": ["drift", "-f", "m.yaml"],
    "export": ["export"],
}
# what the error line says, by scenario (besides the action's name)
SAYS = {
    "endless_chunked": "larger than",
    "gzip_bomb": "larger than",
    "deep_get_index": "nested deeper than",
    "deep_error_body": "403",
    "policy_not_utf8": "not UTF-8",
    "endless_buckets": "nextToken",
    "endless_indexes": "nextToken",
    "huge_dimension": "out of range",
    "huge_creation_time": "out of range",
    "huge_bucket_time": "out of range",
    "endless_headers": "headers",
    "endless_header_value": "headers",
    "keys_as_string": "nonFilterableMetadataKeys",
    "dimension_as_string": "dimension",
    "indexes_as_object": "indexes",
    "slowloris": "slow",
}
# shown as text, not an error
TEXT_POLICIES = {"deep_policy_statement", "deep_policy_principal", "deep_policy_condition", "policy_not_json"}


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def run_cli(url: str, cwd: Path, args: list[str]) -> tuple[int, str, str, float, float]:
    """The CLI in a memory-limited process: exit code, stdout, stderr, seconds, peak RSS in MB."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOS_") and k.lower() not in (
        "http_proxy", "https_proxy", "all_proxy")}
    env.update({"TOS_ACCESS_KEY": "AKLTdummyaccesskey", "TOS_SECRET_KEY": "ZHVtbXlzZWNyZXQ=",
                "TOS_ACCOUNT_ID": "2100000000", "NO_COLOR": "1"})
    out, err = cwd / "stdout.txt", cwd / "stderr.txt"
    start = time.monotonic()
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen([sys.executable, "-m", "reconciler", *args, "--endpoint", url], cwd=cwd, env=env,
                                stdout=o, stderr=e, preexec_fn=_limit)
        deadline = start + TIMEOUT
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                pytest.fail(f"{args[0]} still running after {TIMEOUT:.0f} s")
            time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    seconds = time.monotonic() - start
    return (proc.returncode, out.read_text(errors="replace"), err.read_text(errors="replace"), seconds,
            usage.ru_maxrss / 1024)


def _cases() -> list[tuple[str, str]]:
    cases = []
    for name, scenario in SCENARIOS.items():
        verbs = ["export"] if scenario.action == "ListVectorBuckets" else list(VERBS)
        cases += [(name, verb) for verb in verbs]
    return cases


@pytest.mark.parametrize(("scenario", "verb"), _cases())
def test_a_hostile_endpoint_gets_one_clear_error(scenario: str, verb: str, tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(MANIFEST)
    with hostile_endpoint(scenario) as server:
        code, out, err, seconds, rss = run_cli(server.url, tmp_path, VERBS[verb])
    print(f"\n{scenario} {verb}: exit {code} in {seconds:.1f} s, peak RSS {rss:.0f} MB: {err.strip()[:200]}")
    assert "internal error" not in err and "Traceback" not in err, err[-2000:]
    action = SCENARIOS[scenario].action
    if scenario in TEXT_POLICIES:
        assert code == 0, err[-2000:]
        assert BUCKET in out
        return
    assert code == 1, (out[-1000:], err[-2000:])
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err[-2000:]
    assert action in lines[0] and SAYS[scenario] in lines[0], lines[0]


@pytest.mark.parametrize("verb", list(VERBS))
def test_the_estate_itself_is_read_under_the_same_limits(verb: str, tmp_path: Path) -> None:
    """The control: the fixture's normal answers plan clean in the same memory limit."""
    (tmp_path / "m.yaml").write_text(MANIFEST)
    with hostile_endpoint(None) as server:
        code, out, err, _, _ = run_cli(server.url, tmp_path, VERBS[verb])
    assert code == 0, err
    assert "error" not in err
