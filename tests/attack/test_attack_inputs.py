"""Hostile inputs found by attacking today's main (see the attack report): each test
drives the real CLI and fails on the code it was written against."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.integration.conftest import Cli

pytestmark = pytest.mark.slow

M = ("version: 1\nbuckets:\n  - name: atk-b\n    indexes:\n      - name: docs-v1\n        dimension: 4\n"
     "        distanceMetric: cosine\n")


def test_show_of_a_forged_plan_writes_no_terminal_control_characters(cli: Cli) -> None:
    """A plan file passes through other hands; `show` (and `apply FILE`, which prints the
    plan first) must not let its text fields drive the reviewer's terminal: clear the
    screen, set the clipboard (OSC 52), or overwrite a line with a carriage return."""
    m = cli.write("m.yaml", M)
    assert cli("plan", "-f", m, "--out", "p.json").returncode == 0
    plan = json.loads((cli.cwd / "p.json").read_text())
    plan["changes"][0]["reason"] = "declared\x1b[2J\x1b]52;c;ZWNobyBwd25lZA==\x07\rall good \u202e"
    (cli.cwd / "p.json").write_text(json.dumps(plan, indent=2))
    for fmt in ("text", "markdown"):
        r = cli("show", "p.json", "--format", fmt)
        assert r.returncode == 0, r.stderr
        bad = sorted({c for c in r.stdout if c in "\x1b\x07\r\u202e"})
        assert not bad, f"show --format {fmt} wrote {bad!r} from the file"


def test_var_file_that_is_a_fifo_is_refused_not_waited_on(cli: Cli) -> None:
    """Manifests and plan files refuse FIFOs and devices ("not a regular file"), but
    --var-file opens its path directly, so a FIFO nobody writes to blocks for ever.
    (`--var-file <(cmd)` is a pipe too and works today: a fix may keep it, e.g. by opening
    without blocking; what must not happen is the wait.)"""
    m = cli.write("m.yaml", M)
    fifo = cli.cwd / "vars.fifo"
    os.mkfifo(fifo)
    try:
        r = subprocess.run([sys.executable, "-m", "reconciler", "validate", "-f", m, "--var-file", str(fifo)],
                           cwd=cli.cwd, env=cli.env(), capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("validate --var-file FIFO hung")
    assert "Traceback" not in r.stderr
    assert r.returncode == 0 or "vars.fifo" in r.stderr


def test_error_line_for_a_huge_value_is_bounded(cli: Cli) -> None:
    """A 1 MB bucket name gives a 1 MB error line: "one clear line" should cut what it echoes."""
    m = cli.write("m.yaml", 'version: 1\nbuckets:\n  - name: "' + "a" * 1_000_000 + '"\n')
    r = cli("validate", "-f", m)
    assert r.returncode == 1
    assert max(len(line) for line in r.stderr.splitlines()) < 2000


@pytest.mark.parametrize("spelling", ["Embedded", "EMBEDDED"])
def test_endpoint_embedded_in_another_case_is_the_embedded_emulator(cli: Cli, spelling: str) -> None:
    """target.resolve compares `embedded` case-insensitively to choose the emulator, but
    rejects any other case first as "no scheme"."""
    m = cli.write("m.yaml", M)
    r = cli("validate", "-f", m)
    assert r.returncode == 0
    env = {**cli.env(), "CI": "true"}
    env.pop("TOS_ENDPOINT")
    r2 = subprocess.run([sys.executable, "-m", "reconciler", "plan", "-f", m, "--endpoint", spelling],
                        cwd=cli.cwd, env=env, capture_output=True, text=True, timeout=60)
    assert r2.returncode == 0, r2.stderr


# --- secrets at the edges of error lines ------------------------------------------------------------

AK = "AKLTq7Wm2ZrVb9KcXe4NdTu8"  # 24 characters, like a real access key
SK = "Zk8Qw3RtYu6PaS1dFg5HjK2lMn9BvC4xEr7Ti0Oq"  # 40
TOKEN = "STSv1Gq2Wm7Lr4Xk9Bz3Nc8Vd5Pf1Hj6Ts0Yu2Ra"
PLAN_KEY = "pk-Jq4Lm9Xr2Bw7Nc5Vd8Kf3Hs6Gt1Yz0Ua"
SECRET_ENV = {"TOS_ACCESS_KEY": AK, "TOS_SECRET_KEY": SK, "TOS_SECURITY_TOKEN": TOKEN, "RECONCILER_PLAN_KEY": PLAN_KEY,
              # copies under names that say nothing, and the secret key in two harmless-looking halves
              "COPY_SK": SK, "COPY_TOKEN": TOKEN, "COPY_PLAN": PLAN_KEY, "HALF_A": SK[:17], "HALF_B": SK[17:]}


def _shown_prefixes(text: str) -> list[str]:
    """Every start (4 characters or more) of a secret that appears in `text`."""
    return [f"{s[:4]}…({n})" for s in (AK, SK, TOKEN, PLAN_KEY) for n in range(len(s), 3, -1) if s[:n] in text][:10]


def _padded(ref: str, width: int) -> list[str]:
    """`ref` after 1..width filler characters: a cut at `width` falls at every offset of its value."""
    return ["a" * n + ref for n in range(1, width)]


def test_no_start_of_a_secret_shows_where_an_error_line_cuts_a_value(cli: Cli) -> None:
    """An error line cuts an echoed value at 64 characters (20 and 60 in the schema's
    messages) and output masking replaced whole values only: a padded ${TOS_ACCESS_KEY} in a
    bucket name showed 23 of its 24 characters, and copies of the secret key under other
    names showed 14-30-character starts. Every cut now comes after masking, and no start of a
    secret of 4 characters or more may appear anywhere in the output."""
    buckets = []
    for i, name in enumerate(_padded("${TOS_ACCESS_KEY}", 64) + _padded("${COPY_SK}", 64)
                             + _padded("${HALF_A}${HALF_B}", 64)):
        buckets.append(f'  - name: "{name}"\n')
        if i % 8 == 0:  # the schema's cuts: 20 characters (a key too long), 60 (a wrong type)
            key = "k" * (i % 20) + "${TOS_ACCESS_KEY}" + "z" * 60
            buckets.append(f'    indexes:\n      - name: "ix{i}-${{TOS_ACCESS_KEY}}"\n'
                           f'        dimension: "{"d" * (i % 60)}${{TOS_ACCESS_KEY}}"\n'
                           f'        distanceMetric: cosine\n        nonFilterableMetadataKeys: ["{key}"]\n')
    m = cli.write("m.yaml", "version: 1\nbuckets:\n" + "".join(buckets))
    bad_var_file = cli.write("vars.env", "".join(f"{'v' * n}{AK}=1\n" for n in (1, 30, 50)))
    env = {**cli.env(), **SECRET_ENV}
    for argv in (["validate", "-f", m], ["plan", "-f", m], ["validate", "-f", m, "--var-file", bad_var_file],
                 ["validate", "-f", m, "--var", "x" * 50 + AK]):
        r = subprocess.run([sys.executable, "-m", "reconciler", *argv], cwd=cli.cwd, env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 1, r.stderr[-2000:]
        assert "Traceback" not in r.stderr
        assert _shown_prefixes(r.stdout + r.stderr) == [], (argv, r.stderr[:3000])


def test_a_copy_of_a_secret_under_another_name_is_refused_and_never_sent(cli: Cli, emulator) -> None:
    """A copy of the secret key under another variable name was masked in the plan but sent
    to the service inside a bucket policy by `apply -f`. A value equal to (or containing) a
    secret is refused whatever its variable is called: one line naming the variable and
    the secret's name, nothing sent."""
    from tests.support.recording_proxy import recording_proxy
    from tests.support.sdk import ACCOUNT

    trn = f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/atk-sec/index/*"
    for ref in ("${COPY_SK}", "${COPY_TOKEN}", "${COPY_PLAN}", "${HALF_A}${HALF_B}", "prefix-${COPY_SK}-suffix",
                "${UNSET:-" + SK + "}", SK):
        m = cli.write("m.yaml", f"""\
version: 1
buckets:
  - name: atk-sec
    policy:
      Version: "2025-12-01"
      Statement:
        - Effect: Allow
          Principal: ["{ACCOUNT}/bot"]
          Action: ["tosvectors:QueryVectors"]
          Resource: ["{trn}"]
          Condition: {{StringEquals: {{"tos:UserAgent": "{ref}"}}}}
""")
        with recording_proxy(emulator.url) as proxy:
            env = {**cli.env(), **SECRET_ENV, "TOS_ENDPOINT": proxy.url}
            r = subprocess.run([sys.executable, "-m", "reconciler", "apply", "-f", m, "--auto-approve"],
                               cwd=cli.cwd, env=env, capture_output=True, text=True, timeout=120)
            assert r.returncode == 1, (ref, r.stdout, r.stderr)
            assert proxy.writes() == [], (ref, proxy.writes())
        assert "m.yaml:11:" in r.stderr and "a secret" in r.stderr, r.stderr
        assert _shown_prefixes(r.stdout + r.stderr) == [], r.stderr
